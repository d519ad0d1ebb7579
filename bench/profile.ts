/**
 * `--profile contender:scenario`: the contender's server under `node --cpu-prof` (seeded, warmed up,
 * then loaded for `--profile-seconds`), its .cpuprofile kept under bench/results/ (gitignored; `--out` elsewhere) and
 * the functions with the most self time printed. The profile covers the process's whole life;
 * start-up and seeding are a small part of it. With `--heap`, the server samples allocations over
 * the measured load only (freed objects included: garbage is what costs collector time), and the
 * report divides them by the requests served.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Contender, Scenario } from './contenders.ts'
import type { RunOptions } from './options.ts'
import { cookiesFor } from './seed.ts'
import { load, locationOf, startGenerator, startServer, type Environment } from './throughput.ts'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

interface HeapNode {
  callFrame: CallFrame
  selfSize: number
  children: HeapNode[]
}

/** One function's part of a profile: `amount` is µs of self time, or bytes allocated. */
export interface Ranked {
  name: string
  where: string
  amount: number
  /** Of the profile's total (for CPU: of the busy, non-idle, samples). */
  share: number
}

const root = join(import.meta.dirname, '..')

function shortUrl(url: string): string {
  if (url === '') return '(native)'
  const path = url.startsWith('file://') ? new URL(url).pathname : url
  return path.startsWith('/') ? relative(root, path) : path
}

/** Amounts summed by function (name, file and line). */
class ByFunction {
  readonly #entries = new Map<string, { name: string; where: string; amount: number }>()
  total = 0

  add(frame: CallFrame, amount: number): void {
    const where = frame.url === '' ? '(native)' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    const key = `${frame.functionName}@${where}`
    const entry = this.#entries.get(key) ?? { name: frame.functionName || '(anonymous)', where, amount: 0 }
    entry.amount += amount
    this.#entries.set(key, entry)
    this.total += amount
  }

  /** The `count` largest, largest first. */
  top(count: number): Ranked[] {
    return [...this.#entries.values()]
      .sort((a, b) => b.amount - a.amount)
      .slice(0, count)
      .map((e) => ({ ...e, share: e.amount / this.total }))
  }
}

/** Self time by function, largest first, leaving out idle time (waiting on I/O), which it reports apart. */
export function topSelfTime(profile: CpuProfile, count: number): { top: Ranked[]; idleShare: number; busyMs: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const busy = new ByFunction()
  let idle = 0
  profile.samples.forEach((id, i) => {
    // a sample's delta is the time until the next one: pair sample i with delta i + 1
    const delta = profile.timeDeltas[i + 1] ?? 0
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) return
    if (frame.functionName === '(idle)') idle += delta
    else busy.add(frame, delta)
  })
  return { top: busy.top(count), idleShare: idle / (idle + busy.total), busyMs: busy.total / 1000 }
}

/** Bytes allocated (sampled, whether still live at the end or not) by function, largest first. */
export function topAllocations(profile: { head: HeapNode }, count: number): { top: Ranked[]; totalBytes: number } {
  const allocated = new ByFunction()
  const visit = (node: HeapNode): void => {
    allocated.add(node.callFrame, node.selfSize)
    for (const child of node.children) visit(child)
  }
  visit(profile.head)
  return { top: allocated.top(count), totalBytes: allocated.total }
}

async function profileCell(env: Environment, options: RunOptions, dir: string, contender: Contender, scenario: Scenario): Promise<void> {
  const kind = options.heap ? 'heap' : 'cpu'
  const name = `${contender.id}-${scenario}.${kind}profile`
  const at = locationOf(env, contender, 0)
  const generator = await startGenerator()
  const { server, port } = await startServer(env, contender, at, options.heap ? [] : ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name])
  let requests = 0
  try {
    const cookies = await cookiesFor(contender, port, [scenario], options.sessions)
    await load(generator, port, scenario, cookies, 1, options.connections)
    if (options.heap) expectNoError(await server.ask({ type: 'heap-start' }, 'heap-started', 10_000))
    const result = await load(generator, port, scenario, cookies, options.profileSeconds, options.connections)
    if (options.heap) expectNoError(await server.ask({ type: 'heap-stop', path: join(dir, name) }, 'heap-stopped', 60_000))
    requests = result.responses
    env.log(`${contender.id} ${scenario}: ${Math.round(result.requestsPerSecond)} req/s under the profiler, ${result.failed} failed`)
  } finally {
    await server.stop(20_000)
    await generator.stop()
    if (contender.store === 'redis') await env.redis?.deletePrefix(at.prefix)
    if (contender.store === 'postgres') await env.pg?.dropTables([at.table, `${at.table}_tombstones`])
  }
  if (options.heap) {
    const { top, totalBytes } = topAllocations(JSON.parse(readFileSync(join(dir, name), 'utf8')) as { head: HeapNode }, 15)
    const perRequest = (bytes: number): string => `${Math.round(bytes / Math.max(requests, 1))} B/req`
    process.stdout.write(
      `\n${join(relative(root, dir), name)}: ${(totalBytes / 1e6).toFixed(0)} MB allocated over ${requests} requests (${perRequest(totalBytes)}, sampled), by function\n`,
    )
    for (const [i, t] of top.entries()) {
      process.stdout.write(`${String(i + 1).padStart(2)}. ${(t.share * 100).toFixed(1).padStart(5)}%  ${(t.amount / 1e6).toFixed(1).padStart(7)} MB  ${perRequest(t.amount).padStart(11)}  ${t.name}  ${t.where}\n`)
    }
    return
  }
  const { top, idleShare, busyMs } = topSelfTime(JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile, 10)
  process.stdout.write(`\n${join(relative(root, dir), name)}: idle ${(idleShare * 100).toFixed(0)}% of the process's life; top self time of the ${busyMs.toFixed(0)} busy ms\n`)
  for (const [i, t] of top.entries()) {
    process.stdout.write(`${String(i + 1).padStart(2)}. ${(t.share * 100).toFixed(1).padStart(5)}%  ${(t.amount / 1000).toFixed(0).padStart(6)} ms  ${t.name}  ${t.where}\n`)
  }
}

function expectNoError(answer: { type: string; [key: string]: unknown }): void {
  if (answer.error !== undefined) throw new Error(`the server could not sample allocations: ${String(answer.error)}`)
}

export async function runProfiles(env: Environment, options: RunOptions, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  mkdirSync(env.tmpDir, { recursive: true })
  for (const { contender, scenario } of options.profile) await profileCell(env, options, dir, contender, scenario)
}
