/**
 * One contender's server process: Express 5 on 127.0.0.1, port 0, with the routes of every scenario.
 * Started by the harness with an IPC channel; takes `BENCH_CONTENDER` and the store location as JSON
 * in `BENCH_LOCATION`, and for a `--baseline` twin the library's sources in `BENCH_SOURCES` (a file
 * URL). Sends `{ type: 'ready', port }`; answers `flush-pg`, `failures`, `gc` (the garbage collector's pauses so far) and `stop`. It exits when
 * the harness goes away, and after `BENCH_MAX_LIFETIME` ms whatever happens. `--profile --heap`
 * brackets its measured load with `heap-start` and `heap-stop` (sampled allocations, kept or collected).
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { Session } from 'node:inspector/promises'
import { PerformanceObserver } from 'node:perf_hooks'
import type { AddressInfo } from 'node:net'
import { contenderByRunId } from './contenders.ts'
import { CURRENT_SOURCES, flushPostgresStats, openSessionLayer, type StoreLocation } from './session-layer.ts'

const contender = contenderByRunId(process.env.BENCH_CONTENDER ?? '')
// a twin without its sources would measure the current ones under the baseline's name
if (contender.baseline !== undefined && !process.env.BENCH_SOURCES) throw new Error(`${contender.id}: BENCH_SOURCES is not set`)
const sources = process.env.BENCH_SOURCES || CURRENT_SOURCES
const location = JSON.parse(process.env.BENCH_LOCATION ?? '{}') as StoreLocation
const maxLifetime = Number(process.env.BENCH_MAX_LIFETIME ?? 900_000)

setTimeout(() => process.exit(3), maxLifetime).unref()
process.on('disconnect', () => process.exit(0))

// the API is a devDependency, so it is always in this tree: hidden, the main entry runs as in an app without it
if (contender.openTelemetryApi !== true) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@opentelemetry/api') throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' })
      return nextResolve(specifier, context)
    },
  })
}

const layer = await openSessionLayer(contender, location, sources)
const app = express()
if (layer.middleware !== undefined) app.use(layer.middleware)

let created = 0
let failures = 0
/** Milliseconds the garbage collector has paused this process so far: a session layer's allocations and how long they live show up here. */
let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
}).observe({ entryTypes: ['gc'] })
const hasSession = contender.middleware !== 'bare' && contender.middleware !== 'round-trip'

app.get('/anonymous', (_req, res) => {
  res.send('ok')
})
app.get('/read', (req: Request, res: Response) => {
  if (!hasSession) return void res.send('ok')
  const user = (req.session as { user?: string } | undefined)?.user
  // a missing session is a 404, so a broken cookie shows up as errors in the report instead of as speed
  if (user === undefined) return void res.status(404).send('no session')
  res.send(user)
})
app.get('/write', (req: Request, res: Response) => {
  if (!hasSession) return void res.send('ok')
  const session = req.session as unknown as { user?: string; counter?: number }
  if (session.user === undefined) return void res.status(404).send('no session')
  session.counter = (session.counter ?? 0) + 1
  res.send(String(session.counter))
})
app.get('/login', (req: Request, res: Response) => {
  if (hasSession) (req.session as unknown as { user: string }).user = `user-${process.pid}-${++created}`
  res.send('ok')
})
app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  // a store failure: counted, answered without the stack trace Express would print
  failures++
  res.status(500).send('error')
})

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port })
})

async function stop(): Promise<void> {
  server.closeAllConnections()
  server.close()
  await layer.close().catch(() => {})
  // process.exit, not a signal: --cpu-prof writes its profile on a normal exit
  process.exit(0)
}

let inspector: Session | undefined

/** Samples every allocation from now on, including objects the garbage collector has since freed: the churn that costs GC time. */
async function startHeapSampling(): Promise<void> {
  inspector = new Session()
  inspector.connect()
  await inspector.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}

async function stopHeapSampling(path: string): Promise<void> {
  if (inspector === undefined) throw new Error('heap sampling was not started')
  const { profile } = await inspector.post('HeapProfiler.stopSampling')
  inspector.disconnect()
  inspector = undefined
  writeFileSync(path, JSON.stringify(profile))
}

process.on('message', (message: { type: string; path?: string }) => {
  if (message.type === 'flush-pg') {
    const flushed = layer.pool === undefined ? Promise.resolve(0) : flushPostgresStats(layer.pool)
    flushed.then(
      (transactions) => process.send?.({ type: 'flushed-pg', transactions, failures }),
      (err: unknown) => process.send?.({ type: 'flushed-pg', transactions: 0, failures, error: String(err) }),
    )
  } else if (message.type === 'failures') {
    process.send?.({ type: 'failures', failures })
  } else if (message.type === 'gc') {
    // observers are told after the event loop turns: answered on the next turn, the last collections are counted
    setImmediate(() => process.send?.({ type: 'gc', ms: gcMs }))
  } else if (message.type === 'heap-start') {
    startHeapSampling().then(
      () => process.send?.({ type: 'heap-started' }),
      (err: unknown) => process.send?.({ type: 'heap-started', error: String(err) }),
    )
  } else if (message.type === 'heap-stop') {
    stopHeapSampling(message.path as string).then(
      () => process.send?.({ type: 'heap-stopped' }),
      (err: unknown) => process.send?.({ type: 'heap-stopped', error: String(err) }),
    )
  } else if (message.type === 'stop') {
    void stop()
  }
})
