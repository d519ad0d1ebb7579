/** Rounds → one row per contender and scenario: medians, and ratios to bare Express of the same round. */
import { BARE, type Contender, type Scenario } from './contenders.ts'
import { maxOf, median, minOf } from './stats.ts'
import type { CellResult } from './throughput.ts'

export interface SummaryRow {
  contender: Contender
  scenario: Scenario
  rounds: number
  requestsPerSecond: number
  /** Median over rounds of (this contender's req/s ÷ bare Express's req/s in the same round). */
  ratio: number
  ratioMin: number
  ratioMax: number
  p50: number
  p99: number
  failed: number
  /** Redis commands per request, median over rounds, and the mean breakdown by command. */
  redisPerRequest?: number
  redisBreakdown?: Array<[string, number]>
  redisForeign?: boolean
  pgTransactions?: number
  /** Most cores other processes used in any round of this row (Linux). */
  otherCpu?: number
  /** Server CPU µs per request, median over rounds (Linux). */
  serverCpuUs?: number
  /** Garbage-collection pauses of the server, µs per request, median over rounds. */
  gcUs?: number
}

export function summarize(cells: readonly CellResult[], contenders: readonly Contender[], scenarios: readonly Scenario[]): SummaryRow[] {
  const rows: SummaryRow[] = []
  for (const scenario of scenarios) {
    const bareByRound = new Map(cells.filter((x) => x.contender === BARE.id && x.scenario === scenario).map((x) => [x.round, x.requestsPerSecond]))
    for (const contender of contenders) {
      const mine = cells.filter((x) => x.contender === contender.id && x.scenario === scenario)
      if (mine.length === 0) continue
      const ratios = mine.map((x) => x.requestsPerSecond / (bareByRound.get(x.round) ?? Number.NaN))
      const row: SummaryRow = {
        contender,
        scenario,
        rounds: mine.length,
        requestsPerSecond: median(mine.map((x) => x.requestsPerSecond)),
        ratio: median(ratios),
        ratioMin: minOf(ratios),
        ratioMax: maxOf(ratios),
        p50: median(mine.map((x) => x.p50)),
        p99: median(mine.map((x) => x.p99)),
        failed: mine.reduce((sum, x) => sum + x.failed, 0),
      }
      const redis = mine.filter((x) => x.redisCommands !== undefined)
      if (redis.length > 0) {
        row.redisPerRequest = median(redis.map((x) => Object.values(x.redisCommands ?? {}).reduce((a, b) => a + b, 0)))
        const totals = new Map<string, number>()
        for (const x of redis) for (const [command, n] of Object.entries(x.redisCommands ?? {})) totals.set(command, (totals.get(command) ?? 0) + n / redis.length)
        row.redisBreakdown = [...totals].sort((a, b) => b[1] - a[1])
        row.redisForeign = redis.some((x) => x.redisForeign === true)
      }
      const pg = mine.filter((x) => x.pgTransactions !== undefined)
      const cpu = mine.map((x) => x.otherCpu).filter((n): n is number => n !== undefined)
      if (cpu.length > 0) row.otherCpu = Math.max(...cpu)
      const serverCpu = mine.map((x) => x.serverCpuUs).filter((n): n is number => n !== undefined)
      if (serverCpu.length > 0) row.serverCpuUs = median(serverCpu)
      const gc = mine.map((x) => x.gcUs).filter((n): n is number => n !== undefined)
      if (gc.length > 0) row.gcUs = median(gc)
      if (pg.length > 0) row.pgTransactions = median(pg.map((x) => x.pgTransactions as number))
      rows.push(row)
    }
  }
  return rows
}
