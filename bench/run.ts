/**
 * `npm run bench`: what tessera-session costs per request, next to express-session, on this machine.
 * Writes BENCHMARKS.md, bench/results/ratios.svg and bench/results/results.json (or all three to
 * `--out DIR`). `--help` lists the options.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { applyBaseline, checkoutBaseline, probeBaseline, type Baseline } from './baseline.ts'
import type { Contender } from './contenders.ts'
import { machineInfo } from './machine.ts'
import { parseOptions, USAGE } from './options.ts'
import { Patience } from './quiet.ts'
import { runProfiles } from './profile.ts'
import { renderReport, type Report } from './report.ts'
import { runScale } from './scale/run-scale.ts'
import { DATABASE_URL, PostgresMonitor, REDIS_URL, RedisMonitor, reachable } from './services.ts'
import { renderRatioChart } from './svg.ts'
import { runThroughput, type Environment } from './throughput.ts'

const root = resolve(import.meta.dirname, '..')
const log = (line: string) => process.stderr.write(`${line}\n`)

let options
try {
  options = parseOptions(process.argv.slice(2))
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}`)
  process.exit(2)
}

/** Writes the report, the chart and the raw results where `--out` (or the repository) says. */
function writeOutputs(report: Report, out: string | undefined): string {
  const outDir = out === undefined ? join(root, 'bench', 'results') : resolve(out)
  const reportPath = out === undefined ? join(root, 'BENCHMARKS.md') : join(outDir, 'BENCHMARKS.md')
  mkdirSync(outDir, { recursive: true })
  const chart = report.cells.length > 0 ? renderRatioChart(report) : undefined
  if (chart !== undefined) writeFileSync(join(outDir, 'ratios.svg'), chart)
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(reportPath, renderReport(report, { chartPath: chart === undefined ? undefined : out === undefined ? 'bench/results/ratios.svg' : 'ratios.svg' }))
  return reportPath
}

if (options.render) {
  const from = join(options.out === undefined ? join(root, 'bench', 'results') : resolve(options.out), 'results.json')
  log(`wrote ${writeOutputs(JSON.parse(readFileSync(from, 'utf8')) as Report, options.out)} from ${from}`)
  process.exit(0)
}

let baseline: Baseline | undefined
if (options.baseline !== undefined) {
  try {
    baseline = checkoutBaseline(root, options.baseline)
    // also on an exit the finally below never reaches (process.exit in a handler)
    process.once('exit', (baseline as Baseline).remove)
    options = applyBaseline(options, baseline)
    log(`baseline: src/ at ${baseline.short} (${options.baseline}); checking that it loads`)
    probeBaseline(baseline, [...options.contenders, ...options.profile.map((cell) => cell.contender)])
  } catch (err) {
    baseline?.remove()
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(1)
  }
}

const started = performance.now()
const runId = Date.now().toString(36)
const needs = new Set<string>(options.contenders.map((c) => c.store))
if (options.scale) needs.add('redis').add('postgres')
for (const { contender } of options.profile) needs.add(contender.store)

const redis = needs.has('redis') && (await reachable(REDIS_URL, 6379)) ? await RedisMonitor.open(REDIS_URL) : undefined
const pg = needs.has('postgres') && (await reachable(DATABASE_URL, 5432)) ? await PostgresMonitor.open(DATABASE_URL) : undefined
const skipped = new Map<string, string>()
const available = (c: Contender): boolean => {
  const missing = c.store === 'redis' && redis === undefined ? `Redis not reachable at ${REDIS_URL}` : c.store === 'postgres' && pg === undefined ? `PostgreSQL not reachable at ${DATABASE_URL}` : undefined
  if (missing !== undefined) skipped.set(c.id, missing)
  return missing === undefined
}
// seconds the run may spend waiting for other people's load to pass, or measuring again because of it
const patience = new Patience(options.patience)
const env: Environment = { runId, tmpDir: join(tmpdir(), `tessera-bench-${runId}`), redisUrl: REDIS_URL, redis, pg, patience, log, baselineSources: baseline?.sources }
const contenders = options.contenders.filter(available)

try {
  if (options.profile.length > 0) {
    await runProfiles(env, options, options.out === undefined ? join(root, 'bench', 'results') : resolve(options.out))
  } else {
    const machineBefore = machineInfo(root)
    const { cells, ceiling } = options.throughput ? await runThroughput(env, options, contenders) : { cells: [], ceiling: undefined }
    const scale = options.scale ? await runScale(env, options) : undefined
    const seconds = (performance.now() - started) / 1000
    const report: Report = {
      options,
      machine: machineBefore,
      loadAfter: machineInfo(root).load,
      services: { redis: redis?.version, postgres: pg?.version },
      contenders,
      baseline: baseline === undefined ? undefined : { ref: baseline.ref, commit: baseline.commit, short: baseline.short },
      skipped: Object.fromEntries(skipped),
      cells,
      ceiling,
      patience: { waited: patience.waited, retries: patience.retries },
      scale,
      seconds,
    }
    log(`wrote ${writeOutputs(report, options.out)} in ${seconds.toFixed(0)} s`)
  }
} finally {
  await redis?.close()
  await pg?.close()
  rmSync(env.tmpDir, { recursive: true, force: true })
  baseline?.remove()
}
