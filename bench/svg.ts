/**
 * The ratio chart: one group of horizontal bars per contender, one bar per scenario, each its
 * median throughput as a fraction of bare Express's in the same round, with a whisker over the
 * rounds' range. Plain SVG written here, no chart library.
 */
import { BARE, type Scenario } from './contenders.ts'
import type { Report } from './report.ts'
import { summarize, type SummaryRow } from './summary.ts'

const COLORS: Record<Scenario, string> = { anonymous: '#7b8fc7', read: '#4fae8f', write: '#e07b4f', login: '#c86aa8' }

const LABEL_WIDTH = 280
const PLOT_WIDTH = 520
const BAR = 10
const BAR_GAP = 2
const GROUP_GAP = 14
const TOP = 78
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

/** Escapes text for SVG content and attribute values. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(content)}</text>`
}

function rect(x: number, y: number, width: number, height: number, fill: string): string {
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, width).toFixed(1)}" height="${height}" fill="${fill}"/>`
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" ${extra}/>`
}

export function renderRatioChart(report: Report): string {
  const scenarios = report.options.scenarios
  const rows = summarize(report.cells, report.contenders, scenarios)
  const contenders = report.contenders.filter((c) => c.id !== BARE.id)
  const byKey = new Map<string, SummaryRow>(rows.map((r) => [`${r.contender.id}/${r.scenario}`, r]))
  const top = Math.max(1, ...rows.map((r) => (Number.isFinite(r.ratioMax) ? r.ratioMax : 0)))
  const xMax = Math.ceil(top * 4 + 0.2) / 4
  const x = (ratio: number) => LABEL_WIDTH + (Math.min(ratio, xMax) / xMax) * PLOT_WIDTH
  const groupHeight = scenarios.length * (BAR + BAR_GAP) - BAR_GAP
  const height = TOP + contenders.length * (groupHeight + GROUP_GAP) + 40
  const width = LABEL_WIDTH + PLOT_WIDTH + 70
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`)
  out.push(rect(0, 0, width, height, '#ffffff'))
  const rounds = report.options.rounds
  out.push(text(16, 24, 'Throughput relative to bare Express (1.0 = no session middleware; higher is better)', 'font-size="15" font-weight="600" fill="#222"'))
  out.push(
    text(16, 42, `median of ${rounds} round${rounds === 1 ? '' : 's'}, whiskers: range over rounds · ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node} · ${report.machine.date.slice(0, 10)}`, 'fill="#555"'),
  )
  let legendX = 16
  for (const scenario of scenarios) {
    out.push(rect(legendX, 54, 12, 12, COLORS[scenario]))
    out.push(text(legendX + 17, 64, scenario, 'fill="#333"'))
    legendX += 30 + scenario.length * 7
  }
  const plotBottom = height - 34
  for (let tick = 0; tick <= xMax + 1e-9; tick += 0.25) {
    const major = Math.abs(tick - Math.round(tick * 2) / 2) < 1e-9
    out.push(line(x(tick), TOP - 6, x(tick), plotBottom, tick === 1 ? '#222' : '#e2e2e2', tick === 1 ? 'stroke-width="1.5" stroke-dasharray="4 3"' : ''))
    if (major) out.push(text(x(tick), plotBottom + 16, tick.toFixed(1), 'text-anchor="middle" fill="#555"'))
  }
  let y = TOP
  for (const contender of contenders) {
    out.push(text(LABEL_WIDTH - 10, y + groupHeight / 2 + 4, contender.label, 'text-anchor="end" fill="#222"'))
    for (const scenario of scenarios) {
      const row = byKey.get(`${contender.id}/${scenario}`)
      if (row !== undefined && Number.isFinite(row.ratio)) {
        out.push(rect(LABEL_WIDTH, y, x(row.ratio) - LABEL_WIDTH, BAR, COLORS[scenario]))
        if (row.rounds > 1) out.push(line(x(row.ratioMin), y + BAR / 2, x(row.ratioMax), y + BAR / 2, '#333', 'stroke-width="1"'))
        out.push(text(Math.max(x(row.ratio), row.rounds > 1 ? x(row.ratioMax) : 0) + 4, y + BAR - 1, row.ratio.toFixed(2), 'font-size="10" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke"'))
      }
      y += BAR + BAR_GAP
    }
    y += GROUP_GAP - BAR_GAP
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
