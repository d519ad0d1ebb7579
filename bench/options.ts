/** The command line of `npm run bench`, resolved into one frozen settings object. */
import { parseArgs } from 'node:util'
import { BARE, CONTENDERS, SCENARIOS, contenderById, type Contender, type Scenario } from './contenders.ts'

export interface RunOptions {
  mode: 'full' | 'quick'
  rounds: number
  /** Seconds of load before the first measured scenario of a freshly started server (JIT, pools, caches). */
  firstWarmup: number
  /** Seconds of load before each later scenario on the same server. */
  warmup: number
  /** Seconds of each measurement. */
  seconds: number
  connections: number
  /** Sessions created before the read and write scenarios. */
  sessions: number
  /** Always starts with bare Express: every ratio is to it. */
  contenders: Contender[]
  scenarios: Scenario[]
  throughput: boolean
  scale: boolean
  /** Sessions in the large growth measurement. */
  growthLarge: number
  /** Directory for BENCHMARKS.md, ratios.svg and results.json; undefined: the repository's places. */
  out: string | undefined
  /** `contender:scenario` cells to profile with --cpu-prof instead of benchmarking. */
  profile: Array<{ contender: Contender; scenario: Scenario }>
  profileSeconds: number
  /** Sample allocations over the measured load (freed ones included) instead of CPU time. */
  heap: boolean
  /** Re-render BENCHMARKS.md and the chart from the results.json of the output place, measuring nothing. */
  render: boolean
  /** Seconds the run may spend waiting for other processes' load to pass (see quiet.ts). */
  patience: number
  /** `--baseline <git-ref>`: every tessera contender runs again with the library's sources at that commit (see baseline.ts). */
  baseline: string | undefined
  /** The arguments as given, for the report. */
  argv: string[]
}

export const USAGE = `npm run bench -- [options]

  (no options)          full run: every contender and scenario, 3 rounds of 2 s, and the scale section
  --quick               every contender and scenario, one round of 0.4 s, no scale section (< 1 min)
  --scale / --no-scale  add the scale section to --quick / leave it out of the full run
  --scale-only          only the scale section
  --rounds N  --seconds S  --warmup S  --connections N
  --contenders a,b,…    ${CONTENDERS.map((c) => c.id).join(', ')} (bare is always included)
  --scenarios a,b,…     ${SCENARIOS.join(', ')}
  --growth N            sessions in the large growth measurement (default 1000000)
  --out DIR             write BENCHMARKS.md, ratios.svg and results.json (or the profiles) to DIR instead of the repository
  --profile c:s,…       run contender c under scenario s with node --cpu-prof and print the top self times
  --profile-seconds S   load per profiled cell (default 8)
  --heap                with --profile: sample allocations over the measured load (freed ones included) instead of CPU time
  --baseline REF        run every selected compat-* and main-* contender a second time with src/ as it was
                        at git commit REF (ids main-memory@<short>), interleaved with the current ones in
                        the same rounds, and add a before → after table; with --profile, profile both
  --render              rewrite BENCHMARKS.md and ratios.svg from the last results.json (after editing bench/report.ts)
  --patience S          seconds the run may wait for other processes' load to pass (default 90, --quick 2)
`

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`)
  return n
}

function list<T>(value: string | undefined, all: readonly T[], parse: (item: string) => T): T[] {
  if (value === undefined) return [...all]
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map(parse)
}

export function parseOptions(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      scale: { type: 'boolean' },
      'no-scale': { type: 'boolean' },
      'scale-only': { type: 'boolean' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      contenders: { type: 'string' },
      scenarios: { type: 'string' },
      growth: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      'profile-seconds': { type: 'string' },
      heap: { type: 'boolean' },
      patience: { type: 'string' },
      render: { type: 'boolean' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  const quick = values.quick === true
  const seconds = positive('seconds', values.seconds, quick ? 0.4 : 2)
  const warmup = positive('warmup', values.warmup, quick ? 0.2 : 0.5)
  const chosen = list(values.contenders, CONTENDERS, contenderById)
  const scenarios = list(values.scenarios, SCENARIOS, (s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"; one of: ${SCENARIOS.join(', ')}`)
    return s as Scenario
  })
  const profile = list(values.profile, [], (cell) => {
    const [contender = '', scenario = ''] = cell.split(':')
    if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`--profile takes contender:scenario, e.g. main-redis:read`)
    return { contender: contenderById(contender), scenario: scenario as Scenario }
  })
  if (values.baseline !== undefined && values.baseline.trim() === '') throw new Error('--baseline takes a git ref, e.g. --baseline main~3')
  const scaleOnly = values['scale-only'] === true
  return {
    mode: quick ? 'quick' : 'full',
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    firstWarmup: Math.max(warmup, quick ? 0.3 : 1),
    warmup,
    seconds,
    connections: Math.round(positive('connections', values.connections, 10)),
    sessions: 1_000,
    contenders: CONTENDERS.filter((c) => c === BARE || chosen.includes(c)),
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    throughput: !scaleOnly && profile.length === 0,
    scale: scaleOnly || (values.scale === true ? true : values['no-scale'] === true ? false : !quick && profile.length === 0),
    growthLarge: Math.round(positive('growth', values.growth, 1_000_000)),
    out: values.out,
    profile,
    profileSeconds: positive('profile-seconds', values['profile-seconds'], 8),
    heap: values.heap === true,
    render: values.render === true,
    patience: values.patience === '0' ? 0 : positive('patience', values.patience, quick ? 2 : 90),
    baseline: values.baseline,
    argv,
  }
}
