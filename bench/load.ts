/**
 * The load generator process: autocannon, driven over IPC by the harness so that one pinned process
 * serves the whole run. Each `run` message is one closed-loop load of `connections` keep-alive
 * connections for `seconds`; the answer carries the throughput and latency percentiles measured here
 * (from each response's own timer, in fractional ms: autocannon's histogram rounds to whole ms).
 */
import { createRequire } from 'node:module'
import { percentile } from './stats.ts'

const require = createRequire(import.meta.url)

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
  on(event: 'done', listener: (result: { errors: number; timeouts: number }) => void): void
  stop(): void
}

type Autocannon = (options: Record<string, unknown>) => AutocannonInstance

const autocannon = require('autocannon') as Autocannon

export interface LoadRequest {
  type: 'run'
  id: number
  url: string
  /** Sent in rotation, one per request (`name=value`); none for an anonymous load. */
  cookies: string[]
  connections: number
  seconds: number
}

export interface LoadResult {
  type: 'result'
  id: number
  responses: number
  /** Responses outside 2xx, connection errors and timeouts. */
  failed: number
  seconds: number
  requestsPerSecond: number
  p50: number
  p99: number
  mean: number
}

/** At most this many latencies are kept (about 10 min at 30 000 req/s would be more: the tail is then sampled by reservoir). */
const MAX_SAMPLES = 2_000_000

/** Requests pre-built once each, the cookies rotated to start at `offset`, so connections carry different sessions. */
function requestsFrom(cookies: string[], offset: number): Array<{ headers?: Record<string, string> }> {
  if (cookies.length === 0) return [{}]
  return cookies.map((_, i) => ({ headers: { cookie: cookies[(i + offset) % cookies.length] as string } }))
}

/**
 * One autocannon instance per connection: each walks its own rotation of the cookies. (One instance
 * with a `setupRequest` that picks the next cookie rebuilds every request and halves what this
 * process can send: measured 50,000 against 95,000 req/s on a bare node:http server.)
 */
function run(request: LoadRequest): Promise<LoadResult> {
  const latencies = new Float64Array(MAX_SAMPLES)
  let responses = 0
  let failed = 0
  const onResponse = (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status > 299) failed++
    if (responses < MAX_SAMPLES) latencies[responses] = ms
    else {
      const slot = Math.floor(Math.random() * (responses + 1))
      if (slot < MAX_SAMPLES) latencies[slot] = ms
    }
    responses++
  }
  const started = performance.now()
  const step = Math.floor(request.cookies.length / request.connections)
  const instances = Array.from({ length: request.connections }, (_, k) => {
    // autocannon checks its deadline on each sample tick: 100 ms ticks instead of 1 s keep short loads short
    const instance = autocannon({ url: request.url, connections: 1, duration: request.seconds, sampleInt: 100, requests: requestsFrom(request.cookies, k * step) })
    instance.on('response', onResponse)
    return new Promise<number>((resolve) => instance.on('done', (result) => resolve(result.errors + result.timeouts)))
  })
  return Promise.all(instances).then((errors) => {
    const seconds = (performance.now() - started) / 1000
    const kept = latencies.subarray(0, Math.min(responses, MAX_SAMPLES)).sort()
    let sum = 0
    for (const value of kept) sum += value
    return {
      type: 'result',
      id: request.id,
      responses,
      failed: failed + errors.reduce((a, b) => a + b, 0),
      seconds,
      requestsPerSecond: responses / seconds,
      p50: percentile(kept, 0.5),
      p99: percentile(kept, 0.99),
      mean: kept.length === 0 ? Number.NaN : sum / kept.length,
    }
  })
}

if (process.send !== undefined) {
  const maxLifetime = Number(process.env.BENCH_MAX_LIFETIME ?? 900_000)
  setTimeout(() => process.exit(3), maxLifetime).unref()
  process.on('disconnect', () => process.exit(0))
  process.on('message', (message: LoadRequest | { type: 'stop' }) => {
    if (message.type === 'stop') process.exit(0)
    else void run(message).then((result) => process.send?.(result))
  })
  process.send({ type: 'ready' })
}
