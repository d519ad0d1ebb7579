/**
 * `npm run bench -- --baseline <ref>`: the copy of src/ at a commit, the check that it loads, the
 * twins it adds to a run and the before → after comparison of their cells.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { applyBaseline, BaselineError, checkoutBaseline, probeBaseline, withBaselines, type Baseline } from '../../bench/baseline.ts'
import { contenderById, contenderByRunId, CONTENDERS } from '../../bench/contenders.ts'
import { parseOptions } from '../../bench/options.ts'
import { baselineSection, compareWithBaseline } from '../../bench/report-baseline.ts'
import { inRoundOrder, type CellResult } from '../../bench/throughput.ts'

const root = resolve(import.meta.dirname, '../..')

describe('bench --baseline', () => {
  it('refuses a ref that names no commit, saying which', () => {
    assert.throws(() => checkoutBaseline(root, 'no-such-ref-anywhere'), (err: Error) => err instanceof BaselineError && /--baseline no-such-ref-anywhere: no such commit/.test(err.message))
  })

  it('copies src/ at the commit under .tmp/ and removes the copy', () => {
    const baseline = checkoutBaseline(root, 'HEAD')
    try {
      const dir = fileURLToPath(baseline.sources)
      assert.match(baseline.sources, /^file:.*\/\.tmp\/bench-baseline-\d+-[0-9a-f]+\/src\/$/)
      assert.ok(existsSync(join(dir, 'index.ts')))
      assert.ok(existsSync(join(dir, 'stores', 'memory.ts')))
      assert.match(baseline.commit, /^[0-9a-f]{40}$/)
      assert.ok(baseline.commit.startsWith(baseline.short))
      baseline.remove()
      assert.ok(!existsSync(dir))
    } finally {
      baseline.remove()
    }
  })

  it('adds a twin right after each tessera contender, and none after the others', () => {
    const ids = withBaselines([contenderById('bare'), contenderById('es-memory'), contenderById('main-memory'), contenderById('compat-redis')], 'abc1234').map((c) => c.id)
    assert.deepEqual(ids, ['bare', 'es-memory', 'main-memory', 'main-memory@abc1234', 'compat-redis', 'compat-redis@abc1234'])
    const twin = contenderByRunId('main-memory@abc1234')
    assert.equal(twin.label, 'tessera main + MemoryStore (at abc1234)')
    assert.equal(twin.baseline, 'abc1234')
    assert.equal(contenderByRunId('main-memory').baseline, undefined)
  })

  it('refuses a run in which no selected contender has a twin', () => {
    const fake = { ref: 'x', commit: 'x', short: 'abc1234', sources: '', remove() {} }
    assert.throws(() => applyBaseline(parseOptions(['--contenders', 'es-memory']), fake), /none of the selected contenders runs this library/)
    const options = applyBaseline(parseOptions(['--profile', 'main-memory:read']), fake)
    assert.deepEqual(
      options.profile.map((cell) => cell.contender.id),
      ['main-memory', 'main-memory@abc1234'],
    )
  })

  it('fails before the run when the sources do not load, naming the contender and the missing export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-probe-test-'))
    try {
      mkdirSync(join(dir, 'src', 'stores'), { recursive: true })
      writeFileSync(join(dir, 'src', 'index.ts'), 'export const notTheFactory = 1\n')
      const baseline: Baseline = { ref: 'old', commit: 'f'.repeat(40), short: 'fffffff', sources: `${pathToFileURL(join(dir, 'src')).href}/`, remove() {} }
      assert.throws(
        () => probeBaseline(baseline, withBaselines([contenderById('main-memory')], 'fffffff')),
        (err: Error) => err instanceof BaselineError && /the sources at fffffff do not load/.test(err.message) && /main-memory@fffffff: .*index\.ts has no export "default"/.test(err.message),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('loads the current sources as a baseline of every tessera contender', { timeout: 60_000 }, () => {
    const baseline = checkoutBaseline(root, 'HEAD')
    try {
      probeBaseline(baseline, withBaselines(CONTENDERS, baseline.short))
    } finally {
      baseline.remove()
    }
  })
})

describe('before → after', () => {
  const cell = (contender: string, scenario: 'read' | 'write', round: number, requestsPerSecond: number, serverCpuUs: number): CellResult => ({
    round,
    contender,
    scenario,
    requestsPerSecond,
    p50: 1,
    p99: 2,
    responses: 1000,
    failed: 0,
    serverCpuUs,
  })
  const current = contenderById('main-memory')
  const twin = contenderByRunId('main-memory@abc1234')
  const cells = [
    cell('main-memory', 'read', 1, 1100, 40),
    cell('main-memory@abc1234', 'read', 1, 1000, 50),
    cell('main-memory', 'read', 2, 900, 44),
    cell('main-memory@abc1234', 'read', 2, 1000, 55),
    cell('main-memory', 'read', 3, 1200, 42),
    cell('main-memory@abc1234', 'read', 3, 1000, 60),
    cell('main-memory', 'write', 1, 500, 80),
    cell('bare', 'read', 1, 5000, 20),
  ]

  it('compares server CPU and throughput round by round (the two of a round ran back to back), per contender and scenario with both', () => {
    const rows = compareWithBaseline(cells, [contenderById('bare'), current, twin], ['read', 'write'])
    assert.equal(rows.length, 1)
    const [row] = rows
    assert.equal(row?.contender, current)
    assert.equal(row?.scenario, 'read')
    assert.equal(row?.beforeUs, 55)
    assert.equal(row?.afterUs, 42)
    // rounds: 40/50, 44/55, 42/60 → −20%, −20%, −30%: the median of the ratios, not the ratio of the medians (−23.6%)
    assert.ok(Math.abs((row?.change ?? 0) - -0.2) < 1e-12)
    assert.ok(Math.abs((row?.changeMin ?? 0) - -0.3) < 1e-12)
    assert.ok(Math.abs((row?.changeMax ?? 0) - -0.2) < 1e-12)
    assert.equal(row?.speed, 1.1)
    assert.equal(row?.speedMin, 0.9)
    assert.equal(row?.speedMax, 1.2)
  })

  it('renders one row per current contender: before → after (change), then the throughput ratio', () => {
    const text = baselineSection({ ref: 'main~3', short: 'abc1234' }, 'def5678', cells, [current, twin], ['read', 'write'], 3).join('\n')
    assert.match(text, /^### Before → after: src\/ at abc1234 → at def5678$/m)
    assert.match(text, /^\| tessera main \+ MemoryStore \| 55\.0 → 42\.0 \(−20\.0%, −30\.0% to −20\.0%\) \| — \|$/m)
    assert.match(text, /^\| tessera main \+ MemoryStore \| 1\.10 \(0\.90–1\.20\) \| — \|$/m)
    assert.deepEqual(baselineSection({ ref: 'x', short: 'abc1234' }, 'def5678', cells, [current], ['read'], 3), [])
  })
})

describe('round order', () => {
  it('runs each twin after its current contender in odd rounds and before it in even ones', () => {
    const contenders = withBaselines([contenderById('bare'), contenderById('main-memory'), contenderById('compat-memory'), contenderById('es-memory')], 'abc1234')
    assert.deepEqual(
      inRoundOrder(contenders, 1).map((c) => c.id),
      ['bare', 'main-memory', 'main-memory@abc1234', 'compat-memory', 'compat-memory@abc1234', 'es-memory'],
    )
    assert.deepEqual(
      inRoundOrder(contenders, 2).map((c) => c.id),
      ['bare', 'main-memory@abc1234', 'main-memory', 'compat-memory@abc1234', 'compat-memory', 'es-memory'],
    )
  })
})
