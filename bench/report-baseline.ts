/** The report's before → after section, when the run had `--baseline` twins (see baseline.ts). */
import type { Contender, Scenario } from './contenders.ts'
import { maxOf, median, minOf } from './stats.ts'
import type { CellResult } from './throughput.ts'

export interface BaselineComparison {
  contender: Contender
  scenario: Scenario
  /** Server CPU µs per request, median over rounds: the twin's (before) and the current sources' (after). */
  beforeUs: number
  afterUs: number
  /**
   * Median over rounds of (current CPU µs ÷ twin CPU µs in the same round) − 1: each round's pair ran
   * back to back, so a host that slows down between rounds moves both sides of a ratio alike.
   */
  change: number
  changeMin: number
  changeMax: number
  /** Median over rounds of (current req/s ÷ twin req/s in the same round), and its range. */
  speed: number
  speedMin: number
  speedMax: number
}

/** One comparison per current contender that has a twin, and scenario both were measured in. */
export function compareWithBaseline(cells: readonly CellResult[], contenders: readonly Contender[], scenarios: readonly Scenario[]): BaselineComparison[] {
  const out: BaselineComparison[] = []
  for (const contender of contenders) {
    const twin = contenders.find((c) => c.baseline !== undefined && c.id === `${contender.id}@${c.baseline}`)
    if (contender.baseline !== undefined || twin === undefined) continue
    for (const scenario of scenarios) {
      const after = cells.filter((x) => x.contender === contender.id && x.scenario === scenario)
      const before = cells.filter((x) => x.contender === twin.id && x.scenario === scenario)
      if (after.length === 0 || before.length === 0) continue
      const beforeUs = median(before.map((x) => x.serverCpuUs ?? Number.NaN))
      const afterUs = median(after.map((x) => x.serverCpuUs ?? Number.NaN))
      const twinOf = (x: CellResult) => before.find((b) => b.round === x.round)
      const speeds = after.map((x) => x.requestsPerSecond / (twinOf(x)?.requestsPerSecond ?? Number.NaN))
      const changes = after.map((x) => (x.serverCpuUs ?? Number.NaN) / (twinOf(x)?.serverCpuUs ?? Number.NaN) - 1)
      out.push({
        contender,
        scenario,
        beforeUs,
        afterUs,
        change: median(changes),
        changeMin: minOf(changes),
        changeMax: maxOf(changes),
        speed: median(speeds),
        speedMin: minOf(speeds),
        speedMax: maxOf(speeds),
      })
    }
  }
  return out
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '—')
const percent = (n: number) => (Number.isFinite(n) ? `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.abs(n * 100).toFixed(1)}%` : '—')

export function baselineSection(
  baseline: { ref: string; short: string },
  commit: string,
  cells: readonly CellResult[],
  contenders: readonly Contender[],
  scenarios: readonly Scenario[],
  rounds: number,
): string[] {
  const rows = compareWithBaseline(cells, contenders, scenarios)
  if (rows.length === 0) return []
  const find = (c: Contender, s: Scenario) => rows.find((r) => r.contender === c && r.scenario === s)
  const current = [...new Set(rows.map((r) => r.contender))]
  const header = [`| contender | ${scenarios.join(' | ')} |`, `|---|${scenarios.map(() => '---:').join('|')}|`]
  const range = (r: BaselineComparison) => (rounds > 1 ? ` (${fixed(r.speedMin, 2)}–${fixed(r.speedMax, 2)})` : '')
  const out: string[] = [`### Before → after: src/ at ${baseline.short} → at ${commit}`, '']
  out.push(
    `Every tessera contender ran twice in each round, back to back (the earlier sources second in odd rounds, first in even ones): with the library's sources at ${baseline.short} (\`--baseline ${baseline.ref}\`, the rows marked "(at ${baseline.short})" above) and as they are now. Server CPU per request in µs, median over rounds, before → after; the change is the median over rounds of each round's after ÷ before − 1 (negative: the current sources cost less)${rounds > 1 ? ', in brackets its range' : ''}. The host's speed drifts between rounds; within a round the pair ran back to back, so the ratio is the steadier figure. The side that runs first alternates, so an even number of rounds gives both sides the first place equally often.`,
    '',
    ...header,
  )
  for (const c of current) out.push(`| ${c.label} | ${scenarios.map((s) => cell(find(c, s), (r) => `${fixed(r.beforeUs, 1)} → ${fixed(r.afterUs, 1)} (${percent(r.change)}${rounds > 1 ? `, ${percent(r.changeMin)} to ${percent(r.changeMax)}` : ''})`)).join(' | ')} |`)
  out.push('', `Throughput now ÷ throughput at ${baseline.short}, median over rounds of the same round's ratio${rounds > 1 ? ', in brackets the range' : ''}; above 1: faster now.`, '', ...header)
  for (const c of current) out.push(`| ${c.label} | ${scenarios.map((s) => cell(find(c, s), (r) => `${fixed(r.speed, 2)}${range(r)}`)).join(' | ')} |`)
  out.push('')
  return out
}

function cell(row: BaselineComparison | undefined, render: (row: BaselineComparison) => string): string {
  return row === undefined ? '—' : render(row)
}
