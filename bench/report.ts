/** BENCHMARKS.md, from one run's results. */
import { BARE, SCENARIO_DESCRIPTIONS, type Contender, type Scenario } from './contenders.ts'
import type { Machine } from './machine.ts'
import type { RunOptions } from './options.ts'
import type { ScaleResult } from './scale/run-scale.ts'
import { BUSY_CORES } from './quiet.ts'
import { baselineSection } from './report-baseline.ts'
import { summarize, type SummaryRow } from './summary.ts'
import type { CellResult, Ceiling } from './throughput.ts'

export interface Report {
  options: RunOptions
  machine: Machine
  loadAfter: number[]
  services: { redis: string | undefined; postgres: string | undefined }
  contenders: Contender[]
  /** `--baseline`: the commit whose sources the twins (`contender.baseline`) ran. */
  baseline?: { ref: string; commit: string; short: string }
  skipped: Record<string, string>
  cells: CellResult[]
  ceiling: Ceiling | undefined
  /** Seconds spent waiting for a quiet machine, and measurements taken again because it was busy. */
  patience: { waited: number; retries: number }
  scale: ScaleResult | undefined
  seconds: number
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—')
const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '—')

function commandLine(options: RunOptions): string {
  return options.argv.length === 0 ? 'npm run bench' : `npm run bench -- ${options.argv.join(' ')}`
}

function modeText(options: RunOptions): string {
  const rounds = `${options.rounds} round${options.rounds === 1 ? '' : 's'}`
  return `${options.mode} run: ${rounds}; per scenario ${options.warmup} s of warm-up (${options.firstWarmup} s for a server's first scenario) and ${options.seconds} s measured`
}

function storeCommands(row: SummaryRow): string {
  if (row.redisPerRequest !== undefined) {
    const parts = (row.redisBreakdown ?? [])
      .filter(([, n]) => n >= 0.005)
      .map(([command, n]) => `${command.toUpperCase()} ${n.toFixed(2)}`)
      .join(', ')
    return `${row.redisPerRequest.toFixed(2)} Redis${row.redisForeign ? ' †' : ''}${parts === '' ? '' : ` (${parts})`}`
  }
  if (row.pgTransactions !== undefined) return `${row.pgTransactions.toFixed(2)} PostgreSQL`
  if (row.contender.store === 'memory' || row.contender.store === 'sqlite') return 'in process'
  return '—'
}

function ratioCell(row: SummaryRow | undefined): string {
  if (row === undefined) return '—'
  if (row.contender.id === BARE.id) return '1'
  const range = row.rounds > 1 ? ` (${fixed(row.ratioMin, 2)}–${fixed(row.ratioMax, 2)})` : ''
  return `${fixed(row.ratio, 2)}${range}`
}

/** A table with a row per contender and a column per scenario. */
function contenderTable(contenders: readonly Contender[], scenarios: readonly Scenario[], cell: (c: Contender, s: Scenario) => string): string[] {
  const rows = contenders.map((c) => `| ${c.label} | ${scenarios.map((s) => cell(c, s)).join(' | ')} |`)
  return [`| contender | ${scenarios.join(' | ')} |`, `|---|${scenarios.map(() => '---:').join('|')}|`, ...rows]
}

function gcSection(contenders: readonly Contender[], scenarios: readonly Scenario[], find: (c: Contender, s: string) => SummaryRow | undefined): string[] {
  const out = ['### Garbage collection per request', '']
  out.push(
    "The time the garbage collector paused the server process over a measurement ÷ its responses, in µs, median over rounds (`gc` performance entries): part of the CPU time above. It grows with what each request allocates and, far more, with what outlives a collection of the young generation: once V8 moves per-request objects to the old generation early, they keep the requests after them alive and every minor collection copies whole requests (see the README's design notes).",
    '',
  )
  out.push(...contenderTable(contenders, scenarios, (c, s) => fixed(find(c, s)?.gcUs ?? Number.NaN, 1)), '')
  return out
}

function throughputSection(report: Report, chartPath: string | undefined): string[] {
  const { options } = report
  const rows = summarize(report.cells, report.contenders, options.scenarios)
  const find = (c: Contender, s: string) => rows.find((r) => r.contender === c && r.scenario === s)
  const out: string[] = []
  out.push('## Throughput relative to bare Express', '')
  out.push(
    `Median over rounds of each round's *contender req/s ÷ bare Express req/s* (same round, same scenario); higher is better, 1 means the session layer costs nothing${options.rounds > 1 ? '; in brackets the range over rounds' : ''}.`,
    '',
  )
  out.push(...contenderTable(report.contenders, options.scenarios, (c, s) => ratioCell(find(c, s))), '')
  if (chartPath !== undefined) out.push(`![Throughput relative to bare Express](${chartPath})`, '')
  if (rows.some((r) => r.serverCpuUs !== undefined)) {
    const cpu = (c: Contender, s: string) => fixed(find(c, s)?.serverCpuUs ?? Number.NaN, 1)
    out.push('### Server CPU per request', '')
    out.push(
      "CPU time (user + system) of the server process over a measurement ÷ its responses, in µs, median over rounds; lower is better. Unlike throughput it leaves out time spent waiting for a store and time another guest of the host took (steal), so it is the steadier measure of the work a session layer adds: subtract bare Express's figure.",
      '',
    )
    out.push(...contenderTable(report.contenders, options.scenarios, cpu), '')
  }
  if (rows.some((r) => r.gcUs !== undefined)) out.push(...gcSection(report.contenders, options.scenarios, find))
  if (report.baseline !== undefined) {
    const now = `${report.machine.commit}${report.machine.srcDirty ? ' with uncommitted changes' : ''}`
    out.push(...baselineSection(report.baseline, now, report.cells, report.contenders, options.scenarios, options.rounds))
  }
  const failures = rows.filter((r) => r.failed > 0)
  if (failures.length > 0) {
    out.push(`**Failed requests** (non-2xx, errors, timeouts — their numbers are not valid): ${failures.map((r) => `${r.contender.id} ${r.scenario}: ${r.failed}`).join('; ')}.`, '')
  }
  for (const scenario of options.scenarios) {
    out.push(`### ${scenario}: ${SCENARIO_DESCRIPTIONS[scenario]}`, '')
    out.push('| contender | store | req/s | × bare | p50 ms | p99 ms | store commands per request |', '|---|---|---:|---:|---:|---:|---|')
    for (const c of report.contenders) {
      const row = find(c, scenario)
      if (row === undefined) continue
      const busy = row.otherCpu !== undefined && row.otherCpu > BUSY_CORES ? ' ‡' : ''
      out.push(`| ${c.label} | ${c.storeLabel} | ${int(row.requestsPerSecond)}${busy} | ${ratioCell(row)} | ${fixed(row.p50, 2)} | ${fixed(row.p99, 2)} | ${storeCommands(row)} |`)
    }
    out.push('')
  }
  if (rows.some((r) => r.otherCpu !== undefined && r.otherCpu > BUSY_CORES)) {
    out.push(`‡ In at least one round, other processes on the machine used more than ${BUSY_CORES} of a core during this measurement (see Setup): treat it with care.`, '')
  }
  if (rows.some((r) => r.redisForeign)) out.push('† Another Redis client was active during this measurement: INFO commandstats is server-wide, so the count may include its commands.', '')
  return out
}

function scaleSection(scale: ScaleResult, options: RunOptions): string[] {
  const out: string[] = ['## Scale', '']
  out.push(
    '### Bytes per session',
    '',
    'A typical small session: `{ user, roles: ["member"], csrf }` created by `login(user)` (main entry: data, engine metadata, owner and expiry; express-session stores: the same data and its cookie object), one session per user.',
    '',
    "For Redis, two figures: `MEMORY USAGE` of a session's own keys, and what the server reports growing (`INFO memory` used_memory over many sessions), which also counts each key's place in the server's keyspace and expiry tables. Plan capacity with the second.",
    '',
    '| store | sessions | bytes per session | what is counted |',
    '|---|---:|---:|---|',
  )
  for (const row of scale.sizes) out.push(`| ${row.store} | ${int(row.sessions)} | ${int(row.bytesPerSession)} | ${row.detail} |`)
  out.push('')
  if (scale.note !== undefined) out.push(scale.note, '')
  const large = Math.max(...scale.growth.flatMap((g) => g.points.map((p) => p.sessions)), 0)
  out.push(
    '### Read latency as the store grows',
    '',
    `\`store.get(key)\` of a random existing session (no expiry slide), one at a time, 5,000 reads after 200 warm-up reads, in microseconds. Sessions were bulk-inserted in the store's own layout (Redis: a Lua script writing hashes in batches of 5,000; PostgreSQL: \`INSERT … SELECT generate_series\` then \`ANALYZE\`; SQLite: one transaction). Largest size: ${int(large)}${large === options.growthLarge ? '' : ` (asked: ${int(options.growthLarge)})`}.`,
    '',
    '| store | sessions | bulk insert s | p50 µs | p99 µs | max µs |',
    '|---|---:|---:|---:|---:|---:|',
  )
  for (const row of scale.growth) {
    for (const p of row.points) out.push(`| ${row.store} | ${int(p.sessions)} | ${fixed(p.insertSeconds, 2)} | ${int(p.p50)} | ${int(p.p99)} | ${int(p.max)} |`)
  }
  out.push('')
  out.push(
    '### Pruning expired sessions under reads',
    '',
    "100,000 expired rows beside 10,000 live ones; `store.prune()` with the store's default batch size while a reader in the same process reads random live sessions back to back. A read's latency counts from when it was due (the reader yields to the event loop first), so time the event loop spends inside a synchronous SQLite batch shows up in it. Baseline: the same reader for 1 s before the prune.",
    '',
    '| store | batch | removed | prune s | reads during | baseline p50 / p99 / max ms | during prune p50 / p99 / max ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  )
  for (const row of scale.prune) {
    const b = row.baseline
    const d = row.during
    out.push(
      `| ${row.store} | ${int(row.batch)} | ${int(row.removed)} | ${fixed(row.seconds, 2)} | ${int(d.reads)} | ${fixed(b.p50, 2)} / ${fixed(b.p99, 2)} / ${fixed(b.max, 2)} | ${fixed(d.p50, 2)} / ${fixed(d.p99, 2)} / ${fixed(d.max, 2)} |`,
    )
  }
  out.push('', `Scale section time: bytes ${fixed(scale.seconds.sizes, 0)} s, growth ${fixed(scale.seconds.growth, 0)} s, prune ${fixed(scale.seconds.prune, 0)} s.`, '')
  return out
}

function setupSection(report: Report): string[] {
  const { machine, options } = report
  const p = machine.packages
  const pin = machine.pinned
    ? 'the server process pinned to core 0 and the load generator to core 1 with `taskset`; Redis and PostgreSQL unpinned (they share the two cores)'
    : 'no pinning (`taskset` missing or a single core)'
  const out = [
    '## Setup',
    '',
    '| | |',
    '|---|---|',
    `| command | \`${commandLine(options)}\` — ${modeText(options)}; took ${fixed(report.seconds, 0)} s |`,
    `| date | ${machine.date} |`,
    `| machine | ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os} |`,
    `| Node | ${machine.node} |`,
    `| code | commit ${machine.commit}${machine.srcDirty ? ' (src/ had uncommitted changes)' : ''} |`,
    ...(report.baseline === undefined
      ? []
      : [`| baseline | \`--baseline ${report.baseline.ref}\`: the contenders marked "(at ${report.baseline.short})" ran src/ as of commit ${report.baseline.commit}, in the same rounds |`]),
    `| packages | express ${p.express}, express-session ${p['express-session']}, connect-redis ${p['connect-redis']}, connect-pg-simple ${p['connect-pg-simple']}, redis (node-redis) ${p.redis}, pg ${p.pg} |`,
    `| services | Redis ${report.services.redis ?? 'not used'}, PostgreSQL ${report.services.postgres ?? 'not used'}, on 127.0.0.1 |`,
    `| load | autocannon ${p.autocannon} in its own process, ${options.connections} keep-alive connections, closed loop; ${pin} |`,
    `| load average | ${machine.load.join(' / ')} before, ${report.loadAfter.join(' / ')} after (1 / 5 / 15 min) |`,
  ]
  if (report.ceiling !== undefined) {
    const bare = summarize(report.cells, report.contenders, options.scenarios).filter((r) => r.contender.id === BARE.id)
    const share = Math.max(...bare.map((r) => r.requestsPerSecond)) / Math.min(report.ceiling.anonymous, report.ceiling.cookies)
    const verdict =
      share < 0.8
        ? 'the generator had headroom'
        : 'close to it: bare Express, and so every ratio, may be held back by the generator (the ratios would then understate the cost)'
    out.push(
      `| generator ceiling | ${int(report.ceiling.anonymous)} req/s against a bare node:http server (${int(report.ceiling.cookies)} req/s with the rotating cookie headers); bare Express reached at most ${fixed(share * 100, 0)}% of the lower one: ${verdict} |`,
    )
  }
  const other = report.cells.map((x) => x.otherCpu).filter((n): n is number => n !== undefined)
  if (other.length > 0) {
    const sorted = [...other].sort((a, b) => a - b)
    const busy = other.filter((n) => n > BUSY_CORES).length
    out.push(
      `| other processes | during the measurements, processes outside the benchmark (not its server, generator, Redis or PostgreSQL) used ${fixed(sorted[sorted.length >> 1] as number, 2)} cores (median), ${fixed(sorted[sorted.length - 1] as number, 2)} at most; ${busy} of ${other.length} measurements above ${BUSY_CORES} (marked ‡) after waiting ${fixed(report.patience.waited, 0)} s for quiet and measuring ${report.patience.retries} again |`,
    )
  }
  out.push('')
  const skipped = Object.entries(report.skipped)
  if (skipped.length > 0) out.push(`Skipped: ${skipped.map(([id, why]) => `${id} (${why})`).join('; ')}.`, '')
  return out
}

const METHOD = [
  '## Method',
  '',
  '- Every contender is the same Express 5 app (routes `/anonymous`, `/read`, `/write`, `/login`) in its own server process; only the session middleware and its store differ. express-session and the compat entry run with `resave: false, saveUninitialized: false` (express-session\'s recommended settings) and nothing else; the main entry runs with its defaults. Every store runs with its defaults, except that background pruning is off (`pruneSessionInterval: false`, `pruneInterval: false`). Redis and PostgreSQL clients are created by the app as the store docs show (node-redis `createClient`, `pg.Pool` with its default 10 connections).',
  '- Reference rows, not session libraries: *floor* is the least a signed-cookie in-memory session can cost (bench/floor-session.ts: find the one cookie in the header, an HMAC check remembered per cookie value, a Map lookup; a login creates an id, signs it and sets the cookie), so the distance of the main entry with its MemoryStore from it is what the library itself adds; *bare Express + one Redis GET* and *+ one PostgreSQL primary-key SELECT* are the floor of any session read from that server (one round trip per request, no session).',
  '- Contenders run interleaved, A B C … A B C …, one round after another; each server is started fresh in each round and its sessions removed afterwards. Before the read and write scenarios the harness creates 1,000 sessions through the server itself (GET `/login`, keeping each Set-Cookie); the load then rotates through those cookies, one per request. Bare Express receives the same number of (meaningless) cookie headers.',
  '- The read and write routes answer 404 when the session is missing, so a broken session shows up as failed requests, not as speed.',
  '- Store commands per request. Redis: the delta of `INFO commandstats` on a separate connection, divided by the responses; it counts every command the server executed, including those inside a Lua script (after an `EVALSHA`, the commands listed with it ran inside that one round trip); the monitor\'s own `INFO` and `CLIENT LIST` are left out. PostgreSQL: the delta of `pg_stat_database.xact_commit` of a database only the benchmark uses (`tessera_bench`): committed transactions, i.e. autocommit statements; before reading it, the server makes each pooled connection publish its statistics (`pg_stat_force_next_flush()`, whose own transactions are subtracted).',
  '- Latency percentiles come from every response\'s own timer in the generator (fractional ms), throughput from the responses over the measured time.',
  '- Server CPU per request: the server process\'s user + system time (`/proc/<pid>/stat`, 10 ms ticks) between the snapshots around a measurement, divided by its responses.',
  '',
]

export function renderReport(report: Report, assets: { chartPath: string | undefined }): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/report.ts); rerun it instead of editing this file. -->',
    '',
    `What tessera-session costs per request, and how it compares with express-session, measured on one machine with \`${commandLine(report.options)}\`. The numbers are this machine's: rerun the command on yours.`,
    '',
  ]
  out.push(...setupSection(report))
  if (report.cells.length > 0) out.push(...throughputSection(report, assets.chartPath), ...METHOD)
  if (report.scale !== undefined) out.push(...scaleSection(report.scale, report.options))
  out.push(
    '## Modes',
    '',
    '- `npm run bench`: every contender and scenario, 3 rounds, 0.5 s warm-up (1 s for a server\'s first scenario) and 2 s measured per scenario, at most 90 s of waiting for a quiet machine, then the scale section; within ten minutes on 2 cores.',
    '- `npm run bench -- --quick`: every contender and every scenario, one round, 0.2 s warm-up (0.3 s first) and 0.4 s measured, at most 2 s of waiting for a quiet machine, no scale section; under a minute. For a quick look: one short round is noisy.',
    '- `--scale` / `--no-scale`, `--scale-only`, `--rounds`, `--seconds`, `--warmup`, `--contenders`, `--scenarios`, `--growth N`, `--out DIR`, `--profile contender:scenario` (CPU; with `--heap`, allocations) (`npm run bench -- --help`).',
    '- `--baseline <git-ref>`: every selected tessera contender runs a second time, right after the current one in every round, with `src/` as it was at that commit (copied with `git archive` under `.tmp/`, removed afterwards), and a before → after table follows the server CPU table: a comparison within one run, which two runs on a shared machine cannot give.',
    '',
  )
  return out.join('\n')
}
