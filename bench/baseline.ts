/**
 * `--baseline <git-ref>`: the library's sources as they were at an earlier commit, measured in the
 * same run as the current ones. A comparison between two runs mixes in whatever else the machine
 * was doing; one run with both, interleaved round by round, does not.
 *
 * The sources are copied with `git archive` (no network, no checkout of the work tree) into a
 * directory under the repository's ignored `.tmp/`, so that modules they import resolve to the
 * repository's node_modules, and removed when the run ends.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { atBaseline, isTessera, type Contender } from './contenders.ts'
import type { RunOptions } from './options.ts'

export class BaselineError extends Error {
  override name = 'BaselineError'
}

export interface Baseline {
  /** As given on the command line. */
  ref: string
  commit: string
  /** The commit's short hash: the baseline contenders' ids end in `@<short>`. */
  short: string
  /** The copy of src/ at that commit as a file URL ending in `/`: where the twin's server imports the library from. */
  sources: string
  /** Deletes the copy. */
  remove(): void
}

const PREFIX = 'bench-baseline-'

function git(root: string, args: string[]): { ok: boolean; out: string; err: string } {
  const run = spawnSync('git', args, { cwd: root, encoding: 'utf8' })
  return { ok: run.status === 0, out: (run.stdout ?? '').trim(), err: (run.stderr ?? '').trim() || String(run.error ?? '') }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, under another user
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Copies left by runs that ended without cleaning up (killed): named after their process. */
function removeStaleCopies(tmp: string): void {
  if (!existsSync(tmp)) return
  for (const name of readdirSync(tmp)) {
    const pid = Number(/^bench-baseline-(\d+)-/.exec(name)?.[1] ?? Number.NaN)
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(tmp, name), { recursive: true, force: true })
  }
}

/** Resolves `ref` and copies src/ as it was there; throws `BaselineError` saying what is wrong. */
export function checkoutBaseline(root: string, ref: string): Baseline {
  const resolved = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
  if (!resolved.ok) throw new BaselineError(`--baseline ${ref}: no such commit in this repository`)
  const commit = resolved.out
  const short = git(root, ['rev-parse', '--short', commit]).out || commit.slice(0, 7)
  if (!git(root, ['cat-file', '-e', `${commit}:src/index.ts`]).ok) throw new BaselineError(`--baseline ${ref}: commit ${short} has no src/index.ts`)
  const tmp = join(root, '.tmp')
  removeStaleCopies(tmp)
  const dir = join(tmp, `${PREFIX}${process.pid}-${short}`)
  const remove = () => rmSync(dir, { recursive: true, force: true })
  remove()
  mkdirSync(dir, { recursive: true })
  const archive = spawnSync('git', ['archive', '--format=tar', commit, 'src'], { cwd: root, maxBuffer: 1 << 30 })
  const untar = archive.status === 0 ? spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout }) : undefined
  if (untar?.status !== 0) {
    remove()
    const why = untar === undefined ? String(archive.stderr) : String(untar.stderr || untar.error)
    throw new BaselineError(`--baseline ${ref}: could not copy src/ at ${short}: ${why.trim()}`)
  }
  return { ref, commit, short, sources: `${pathToFileURL(join(dir, 'src')).href}/`, remove }
}

/** Each tessera contender followed by its baseline twin, so that the two run back to back in every round. */
export function withBaselines(contenders: readonly Contender[], short: string): Contender[] {
  return contenders.flatMap((c) => (isTessera(c) ? [c, atBaseline(c, short)] : [c]))
}

/** The run's contenders and profiled cells with the baseline twins added; throws when no selected contender has one. */
export function applyBaseline(options: RunOptions, baseline: Baseline): RunOptions {
  const contenders = options.throughput ? withBaselines(options.contenders, baseline.short) : options.contenders
  const profile = options.profile.flatMap((cell) => (isTessera(cell.contender) ? [cell, { ...cell, contender: atBaseline(cell.contender, baseline.short) }] : [cell]))
  if (!contenders.some((c) => c.baseline !== undefined) && !profile.some((cell) => cell.contender.baseline !== undefined)) {
    throw new BaselineError('--baseline: none of the selected contenders runs this library (compat-*, main-*), in throughput rounds or profiles')
  }
  return { ...options, contenders, profile }
}

/**
 * Loads the baseline's sources in a child process (as the contenders' servers will) and builds the
 * selected contenders' middleware where no service is needed, so a ref whose sources do not fit the
 * harness fails now, with the reason, rather than minutes into the run.
 */
export function probeBaseline(baseline: Baseline, contenders: readonly Contender[]): void {
  const ids = contenders.filter((c) => c.baseline !== undefined).map((c) => c.id)
  if (ids.length === 0) return
  const probe = join(import.meta.dirname, 'baseline-probe.ts')
  const run = spawnSync(process.execPath, [probe, ...ids], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, BENCH_SOURCES: baseline.sources },
  })
  if (run.status !== 0) {
    const why = (run.stderr || String(run.error ?? `exit code ${run.status}`)).trim()
    throw new BaselineError(`--baseline ${baseline.ref}: the sources at ${baseline.short} do not load in this harness:\n${why}`)
  }
}
