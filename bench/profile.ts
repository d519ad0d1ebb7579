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

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  where: string
  ms: number
  /** Of the busy (non-idle) samples. */
  share: number
}

const root = join(import.meta.dirname, '..')

function shortUrl(url: string): string {
  if (url === '') return '(native)'
  const path = url.startsWith('file://') ? new URL(url).pathname : url
  return path.startsWith('/') ? relative(root, path) : path
}

/** Self time by function (name, file and line), largest first, leaving out idle time (waiting on I/O), which it reports apart. */
export function topSelfTime(profile: CpuProfile, count: number): { top: SelfTime[]; idleShare: number; busyMs: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const byFunction = new Map<string, { name: string; where: string; us: number }>()
  let total = 0
  let idle = 0
  profile.samples.forEach((id, i) => {
    // a sample's delta is the time until the next one: pair sample i with delta i + 1
    const delta = profile.timeDeltas[i + 1] ?? 0
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) return
    if (frame.functionName === '(idle)') {
      idle += delta
      return
    }
    total += delta
    const where = frame.url === '' ? '(native)' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    const key = `${frame.functionName}@${where}`
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 }
    entry.us += delta
    byFunction.set(key, entry)
  })
  const top = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: e.us / total }))
  return { top, idleShare: idle / (idle + total), busyMs: total / 1000 }
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: HeapNode[]
}

/** Bytes allocated (sampled, whether still live at the end or not) by function, largest first. */
export function topAllocations(profile: { head: HeapNode }, count: number): { top: SelfTime[]; totalMb: number } {
  const byFunction = new Map<string, { name: string; where: string; bytes: number }>()
  let total = 0
  const visit = (node: HeapNode): void => {
    const frame = node.callFrame
    const where = frame.url === '' ? '(native)' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    const key = `${frame.functionName}@${where}`
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, bytes: 0 }
    entry.bytes += node.selfSize
    total += node.selfSize
    byFunction.set(key, entry)
    for (const child of node.children) visit(child)
  }
  visit(profile.head)
  const top = [...byFunction.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, ms: e.bytes / 1e6, share: e.bytes / total }))
  return { top, totalMb: total / 1e6 }
}

async function profileCell(env: Environment, options: RunOptions, dir: string, contender: Contender, scenario: Scenario): Promise<void> {
  const kind = options.heap ? 'heap' : 'cpu'
  const name = `${contender.id}-${scenario}.${kind}profile`
  const at = locationOf(env, contender, 0)
  const generator = await startGenerator()
  const { server, port } = await startServer(contender, at, options.heap ? [] : ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name])
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
    const { top, totalMb } = topAllocations(JSON.parse(readFileSync(join(dir, name), 'utf8')) as { head: HeapNode }, 15)
    const perRequest = (mb: number): string => `${Math.round((mb * 1e6) / Math.max(requests, 1))} B/req`
    process.stdout.write(
      `\n${join(relative(root, dir), name)}: ${totalMb.toFixed(0)} MB allocated over ${requests} requests (${perRequest(totalMb)}, sampled), by function\n`,
    )
    for (const [i, t] of top.entries()) {
      process.stdout.write(`${String(i + 1).padStart(2)}. ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(1).padStart(7)} MB  ${perRequest(t.ms).padStart(11)}  ${t.name}  ${t.where}\n`)
    }
    return
  }
  const { top, idleShare, busyMs } = topSelfTime(JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile, 10)
  process.stdout.write(`\n${join(relative(root, dir), name)}: idle ${(idleShare * 100).toFixed(0)}% of the process's life; top self time of the ${busyMs.toFixed(0)} busy ms\n`)
  for (const [i, t] of top.entries()) {
    process.stdout.write(`${String(i + 1).padStart(2)}. ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.name}  ${t.where}\n`)
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
