/**
 * The benchmark harness runs end to end: one tiny round of bare Express and the main entry with its
 * MemoryStore (no Redis or PostgreSQL needed), written to a temporary directory. It checks that the
 * report has its table and that the chart was drawn; it asserts nothing about speed.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const RUN = resolve(import.meta.dirname, '../../bench/run.ts')

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
        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Array<{ failed: number; serverCpuUs?: number }> }
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
      } finally {
        rmSync(out, { recursive: true, force: true })
      }
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
