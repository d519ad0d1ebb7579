/**
 * The throughput rounds: in each round every contender in turn (A B C … A B C …) gets a fresh server
 * process pinned to one core, its sessions seeded through HTTP, then each scenario: a warm-up load,
 * the store counters, the measured load from the generator pinned to the other core, the counters again.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Child } from './child.ts'
import { cpuSnapshot, otherCpu, processCpuSeconds } from './cpu-usage.ts'
import { BUSY_CORES, type Patience } from './quiet.ts'
import { SCENARIO_PATHS, type Contender, type Scenario } from './contenders.ts'
import type { LoadRequest, LoadResult } from './load.ts'
import type { RunOptions } from './options.ts'
import { cookiesFor } from './seed.ts'
import type { PostgresMonitor, RedisMonitor } from './services.ts'
import type { StoreLocation } from './session-layer.ts'

export const SERVER_CPU = 0
export const GENERATOR_CPU = 1

export interface CellResult {
  round: number
  contender: string
  scenario: Scenario
  requestsPerSecond: number
  p50: number
  p99: number
  responses: number
  /** Non-2xx answers, connection errors and timeouts. */
  failed: number
  /** Redis: commands per request by command (as INFO commandstats counts them, script internals included). */
  redisCommands?: Record<string, number>
  /** Whether another Redis client was active during the measurement (the counts are server-wide). */
  redisForeign?: boolean
  /** PostgreSQL: committed transactions per request. */
  pgTransactions?: number
  /** Cores other processes used during the measurement (Linux), see cpu-usage.ts. */
  otherCpu?: number
  /** CPU time (user + system) the server process used per response, in µs (Linux). */
  serverCpuUs?: number
  /** Time the garbage collector paused the server per response, in µs. */
  gcUs?: number
}

/** What the generator reaches against a bare node:http server (no Express), with and without cookies. */
export interface Ceiling {
  anonymous: number
  cookies: number
}

export interface Environment {
  runId: string
  tmpDir: string
  redisUrl: string
  redis: RedisMonitor | undefined
  pg: PostgresMonitor | undefined
  patience: Patience
  log: (line: string) => void
  /** `--baseline`: the copy of the library's sources (a file URL) the twins (`c.baseline` set) run. */
  baselineSources?: string
}

const here = import.meta.dirname

/** Where contender `c` keeps its sessions in round `round`: names no other run or contender uses. */
export function locationOf(env: Environment, c: Contender, round: number): StoreLocation {
  // a twin's id has an '@', which neither a table name nor a file name should carry
  const slug = `${c.id.replace(/[^a-zA-Z0-9]/g, '_')}_${round}`
  return {
    redisUrl: env.redisUrl,
    databaseUrl: env.pg?.benchUrl ?? '',
    prefix: `tbench:${env.runId}:${slug}:`,
    table: `tb_${env.runId}_${slug}`,
    sqlitePath: join(env.tmpDir, `${slug}.sqlite`),
  }
}

/** Starts a contender's server on the server core. */
export async function startServer(env: Environment, c: Contender, at: StoreLocation, execArgv: string[] = []): Promise<{ server: Child; port: number }> {
  // set either way, so that a current contender never inherits a baseline's sources from the harness's environment
  const sources = c.baseline === undefined ? '' : (env.baselineSources ?? '')
  const { child, ready } = await Child.start(join(here, 'server.ts'), {
    cpu: SERVER_CPU,
    execArgv,
    env: { BENCH_CONTENDER: c.id, BENCH_LOCATION: JSON.stringify(at), BENCH_MAX_LIFETIME: '900000', BENCH_SOURCES: sources },
  })
  return { server: child, port: Number(ready.port) }
}

export async function startGenerator(): Promise<Child> {
  // one generator serves the whole run (a full run with --baseline and 4 rounds takes over 30 minutes): it
  // stops by itself after 3 hours, whatever happens, and sooner when the harness goes away
  const { child } = await Child.start(join(here, 'load.ts'), { cpu: GENERATOR_CPU, env: { BENCH_MAX_LIFETIME: String(3 * 3_600_000) } })
  return child
}

let loadIds = 0

export async function load(generator: Child, port: number, scenario: Scenario, cookies: string[], seconds: number, connections: number): Promise<LoadResult> {
  const request: LoadRequest = {
    type: 'run',
    id: ++loadIds,
    url: `http://127.0.0.1:${port}${SCENARIO_PATHS[scenario]}`,
    cookies: scenario === 'read' || scenario === 'write' ? cookies : [],
    connections,
    seconds,
  }
  return (await generator.ask(request as never, 'result', seconds * 1000 + 30_000)) as unknown as LoadResult
}

/** Removes what contender `c` stored in round `round`. */
async function cleanup(env: Environment, c: Contender, round: number): Promise<void> {
  const at = locationOf(env, c, round)
  if (c.store === 'redis') await env.redis?.deletePrefix(at.prefix)
  if (c.store === 'postgres') await env.pg?.dropTables([at.table, `${at.table}_tombstones`])
  if (c.store === 'sqlite') for (const suffix of ['', '-wal', '-shm']) rmSync(at.sqlitePath + suffix, { force: true })
}

interface Cell {
  generator: Child
  server: Child
  port: number
  c: Contender
  scenario: Scenario
  cookies: string[]
  warmup: number
  round: number
}

/** One measured load with the store counters around it. */
async function measureOnce(env: Environment, options: RunOptions, cell: Cell): Promise<CellResult> {
  const { generator, server, port, c, scenario, cookies } = cell
  const counted = c.store === 'postgres' && env.pg !== undefined
  if (counted) await server.ask({ type: 'flush-pg' }, 'flushed-pg', 30_000)
  const pgBefore = counted ? await (env.pg as PostgresMonitor).transactions() : 0
  const redisBefore = c.store === 'redis' ? await env.redis?.snapshot() : undefined
  const pids = [process.pid, server.process.pid ?? 0, generator.process.pid ?? 0]
  const gcBefore = await gcMilliseconds(server)
  const cpuBefore = cpuSnapshot(pids)
  const result = await load(generator, port, scenario, cookies, options.seconds, options.connections)
  const cpuAfter = cpuSnapshot(pids)
  const gcAfter = await gcMilliseconds(server)
  const redisAfter = c.store === 'redis' ? await env.redis?.snapshot() : undefined
  const cellResult: CellResult = {
    round: cell.round,
    contender: c.id,
    scenario,
    requestsPerSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    responses: result.responses,
    failed: result.failed,
    otherCpu: otherCpu(cpuBefore, cpuAfter),
  }
  const serverCpu = processCpuSeconds(cpuBefore, cpuAfter, server.process.pid ?? 0)
  if (serverCpu !== undefined && result.responses > 0) cellResult.serverCpuUs = (serverCpu * 1e6) / result.responses
  if (result.responses > 0) cellResult.gcUs = ((gcAfter - gcBefore) * 1e3) / result.responses
  if (counted) {
    const flushed = await server.ask({ type: 'flush-pg' }, 'flushed-pg', 30_000)
    const pgAfter = await (env.pg as PostgresMonitor).transactions()
    cellResult.pgTransactions = (pgAfter - pgBefore - Number(flushed.transactions)) / result.responses
  }
  if (redisBefore !== undefined && redisAfter !== undefined && env.redis !== undefined) {
    const { calls, foreign } = await env.redis.delta(redisBefore, redisAfter)
    cellResult.redisCommands = Object.fromEntries([...calls].map(([command, n]) => [command, n / result.responses]))
    cellResult.redisForeign = foreign
  }
  return cellResult
}

async function gcMilliseconds(server: Child): Promise<number> {
  return Number((await server.ask({ type: 'gc' }, 'gc', 10_000)).ms)
}

const isBusy = (r: CellResult) => r.otherCpu !== undefined && r.otherCpu > BUSY_CORES

/** Warm-up, then a measurement on a quiet machine if patience allows, taken again once if it was not. */
async function measureCell(env: Environment, options: RunOptions, cell: Cell): Promise<CellResult> {
  await load(cell.generator, cell.port, cell.scenario, cell.cookies, cell.warmup, options.connections)
  const pids = [process.pid, cell.server.process.pid ?? 0, cell.generator.process.pid ?? 0]
  await env.patience.waitForQuiet(pids)
  const first = await measureOnce(env, options, cell)
  if (!isBusy(first) || env.patience.exhausted) return first
  env.patience.spend(options.seconds)
  env.patience.retries++
  await env.patience.waitForQuiet(pids)
  const second = await measureOnce(env, options, cell)
  return (second.otherCpu ?? 0) < (first.otherCpu ?? 0) ? second : first
}

/** One contender in one round: start, seed, every scenario, stop, clean up. */
async function runContender(env: Environment, options: RunOptions, generator: Child, c: Contender, round: number): Promise<CellResult[]> {
  const at = locationOf(env, c, round)
  const { server, port } = await startServer(env, c, at)
  const results: CellResult[] = []
  try {
    const cookies = await cookiesFor(c, port, options.scenarios, options.sessions)
    let warmup = options.firstWarmup
    for (const scenario of options.scenarios) {
      const result = await measureCell(env, options, { generator, server, port, c, scenario, cookies, warmup, round })
      warmup = options.warmup
      results.push(result)
      const failed = result.failed > 0 ? `  FAILED ${result.failed}` : ''
      env.log(`  ${c.id.padEnd(22)} ${scenario.padEnd(9)} ${Math.round(result.requestsPerSecond).toString().padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${failed}`)
    }
  } finally {
    await server.stop()
    await cleanup(env, c, round)
  }
  return results
}

async function measureCeiling(env: Environment, generator: Child, options: RunOptions): Promise<Ceiling> {
  const { child, ready } = await Child.start(join(here, 'raw-server.ts'), { cpu: SERVER_CPU, env: {} })
  try {
    const port = Number(ready.port)
    const cookies = Array.from({ length: options.sessions }, (_, i) => `sid=v1.${'x'.repeat(43)}${i}.${'y'.repeat(43)}`)
    await load(generator, port, 'anonymous', [], options.firstWarmup, options.connections)
    const anonymous = (await load(generator, port, 'anonymous', [], options.seconds, options.connections)).requestsPerSecond
    const withCookies = (await load(generator, port, 'read', cookies, options.seconds, options.connections)).requestsPerSecond
    env.log(`generator ceiling (bare node:http): ${Math.round(anonymous)} req/s, ${Math.round(withCookies)} req/s with cookies`)
    return { anonymous, cookies: withCookies }
  } finally {
    await child.stop()
  }
}

/**
 * The contenders in the order they run in `round`: as given, except that in even rounds a
 * `--baseline` twin runs before its current contender instead of after it, so that neither version
 * always gets the later (warmer, or busier) place.
 */
export function inRoundOrder(contenders: readonly Contender[], round: number): Contender[] {
  const order = [...contenders]
  if (round % 2 === 1) return order
  for (let i = 0; i + 1 < order.length; i++) {
    const [current, twin] = [order[i] as Contender, order[i + 1] as Contender]
    if (twin.baseline !== undefined && twin.id.startsWith(`${current.id}@`)) {
      order[i] = twin
      order[i + 1] = current
      i++
    }
  }
  return order
}

export async function runThroughput(env: Environment, options: RunOptions, contenders: Contender[]): Promise<{ cells: CellResult[]; ceiling: Ceiling }> {
  mkdirSync(env.tmpDir, { recursive: true })
  const generator = await startGenerator()
  const results: CellResult[] = []
  let ceiling: Ceiling
  try {
    ceiling = await measureCeiling(env, generator, options)
    for (let round = 1; round <= options.rounds; round++) {
      env.log(`round ${round}/${options.rounds}`)
      for (const c of inRoundOrder(contenders, round)) results.push(...(await runContender(env, options, generator, c, round)))
    }
  } finally {
    await generator.stop()
  }
  return { cells: results, ceiling }
}
