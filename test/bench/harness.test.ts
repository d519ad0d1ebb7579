/**
 * The benchmark harness runs end to end: one tiny round of bare Express and the main entry with its
 * MemoryStore (no Redis or PostgreSQL needed), written to a temporary directory. It checks that the
 * report has its table and that the chart was drawn; it asserts nothing about speed.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
const RUN = join(ROOT, 'bench/run.ts')

describe('npm run bench', () => {
  describe('with --out and one tiny round', () => {
    it('writes BENCHMARKS.md with the ratio table, the chart and the raw results to that directory', { timeout: 20_000 }, () => {
      // --patience 0: the test suite runs files in parallel, and a benchmark here must not wait for quiet
      const out = mkdtempSync(join(tmpdir(), 'tessera-bench-test-'))
      try {
        const args = [RUN, '--quick', '--contenders', 'main-memory', '--scenarios', 'read', '--patience', '0', '--out', out]
        const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 18_000 })
        assert.equal(run.status, 0, run.stderr)
        const report = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8')
        assert.match(report, /^\| contender \| read \|$/m)
        assert.match(report, /^\| bare Express \| 1 \|$/m)
        assert.match(report, /^\| tessera main \+ MemoryStore \| \d+\.\d\d \|$/m)
        assert.match(report, /^\| tessera main \+ MemoryStore \| MemoryStore \| [\d,]+ /m)
        assert.match(readFileSync(join(out, 'ratios.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*tessera main \+ MemoryStore[\s\S]*<\/svg>\n$/)
        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Array<{ failed: number; serverCpuUs?: number; gcUs?: number }> }
        assert.equal(results.cells.length, 2)
        assert.deepEqual(
          results.cells.map((c) => c.failed),
          [0, 0],
        )
        if (process.platform === 'linux') {
          // the server's CPU time comes from /proc: a server that answered requests used some
          for (const cell of results.cells) assert.ok((cell.serverCpuUs ?? 0) > 0, `server CPU per request: ${cell.serverCpuUs}`)
          assert.match(report, /^### Server CPU per request$/m)
          assert.match(report, /^\| tessera main \+ MemoryStore \| \d+\.\d \|$/m)
        }
        // the garbage collector's pauses come from the server's own gc performance entries; a short run may see none
        for (const cell of results.cells) assert.ok(Number.isFinite(cell.gcUs) && (cell.gcUs as number) >= 0, `gc per request: ${cell.gcUs}`)
        assert.match(report, /^### Garbage collection per request$/m)
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
    })
  })

  describe('with --baseline', () => {
    it('runs each tessera contender again with src/ at that commit, in the same round, and adds the before → after table', { timeout: 30_000 }, () => {
      const out = mkdtempSync(join(tmpdir(), 'tessera-bench-test-'))
      try {
        const args = [RUN, '--quick', '--contenders', 'main-memory', '--scenarios', 'read', '--patience', '0', '--baseline', 'HEAD', '--out', out]
        const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 28_000 })
        assert.equal(run.status, 0, run.stderr)
        const short = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim()
        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Array<{ contender: string; round: number; failed: number }> }
        assert.deepEqual(
          results.cells.map((c) => [c.contender, c.round, c.failed]),
          [
            ['bare', 1, 0],
            ['main-memory', 1, 0],
            [`main-memory@${short}`, 1, 0],
          ],
        )
        const report = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8')
        assert.match(report, new RegExp(`^\\| tessera main \\+ MemoryStore \\(at ${short}\\) \\| \\d+\\.\\d\\d \\|$`, 'm'))
        assert.match(report, new RegExp(`^### Before → after: src/ at ${short} → at `, 'm'))
        // the copy of src/ is gone with the run
        const left = existsSync(join(ROOT, '.tmp')) ? readdirSync(join(ROOT, '.tmp')) : []
        assert.deepEqual(
          left.filter((name) => name.startsWith(`bench-baseline-${run.pid}-`)),
          [],
        )
        if (process.platform === 'linux') assert.match(report, /^\| tessera main \+ MemoryStore \| [\d.]+ → [\d.]+ \([+−±][\d.]+%\) \|$/m)
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
    })

    it('fails at once, saying why, when the ref names no commit', () => {
      const run = spawnSync(process.execPath, [RUN, '--quick', '--baseline', 'no-such-ref-anywhere', '--contenders', 'main-memory'], { encoding: 'utf8', timeout: 10_000 })
      assert.equal(run.status, 1)
      assert.match(run.stderr, /^--baseline no-such-ref-anywhere: no such commit in this repository$/m)
    })
  })

  describe('--profile', () => {
    for (const heap of [false, true]) {
      const kind = heap ? 'heap' : 'cpu'
      it(`${heap ? 'with --heap samples allocations' : 'samples CPU time'} of one contender under load and prints the top functions`, { timeout: 30_000 }, () => {
        const out = mkdtempSync(join(tmpdir(), 'tessera-bench-test-'))
        try {
          const args = [RUN, '--profile', 'main-memory:read', '--profile-seconds', '0.5', '--patience', '0', '--out', out, ...(heap ? ['--heap'] : [])]
          const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 28_000 })
          assert.equal(run.status, 0, run.stderr)
          assert.ok(existsSync(join(out, `main-memory-read.${kind}profile`)), run.stdout)
          if (heap) assert.match(run.stdout, /: \d+ MB allocated over [1-9]\d* requests \(\d+ B\/req, sampled\), by function\n {1}1\. +[\d.]+% +[\d.]+ MB +\d+ B\/req {2}\S/)
          else assert.match(run.stdout, /: idle \d+% of the process's life; top self time of the \d+ busy ms\n {1}1\. +[\d.]+% +\d+ ms {2}\S/)
        } finally {
          rmSync(out, { recursive: true, force: true })
        }
      })
    }
  })
})
