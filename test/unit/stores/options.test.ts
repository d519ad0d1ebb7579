/** The stores' shared option checks and prune timer (src/stores/options.ts). */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidOptionError } from '../../../src/errors.ts'
import { MAX_TIMER_DELAY, PruneTimer, integerOption, positiveInteger, pruneInterval, timerDelay } from '../../../src/stores/options.ts'

const INVALID = 'invalid'

function refusedAs(option: string) {
  return (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === option
}

/** [check, given → expected value or invalid]. */
const ROWS: Array<[string, (value: unknown) => number | false, unknown, number | false | typeof INVALID]> = [
  ['positiveInteger', (v) => positiveInteger('n', v, 7), undefined, 7],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), 1, 1],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), 0, INVALID],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), -1, INVALID],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), 1.5, INVALID],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), Number.NaN, INVALID],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), '5', INVALID],
  ['positiveInteger', (v) => positiveInteger('n', v, 7), null, INVALID],
  ['integerOption 0..10', (v) => integerOption('n', v, 3, 0, 10), undefined, 3],
  ['integerOption 0..10', (v) => integerOption('n', v, 3, 0, 10), 0, 0],
  ['integerOption 0..10', (v) => integerOption('n', v, 3, 0, 10), 10, 10],
  ['integerOption 0..10', (v) => integerOption('n', v, 3, 0, 10), 11, INVALID],
  ['integerOption 0..10', (v) => integerOption('n', v, 3, 0, 10), -1, INVALID],
  ['timerDelay', (v) => timerDelay('n', v, 9), undefined, 9],
  ['timerDelay', (v) => timerDelay('n', v, 9), MAX_TIMER_DELAY, MAX_TIMER_DELAY],
  ['timerDelay', (v) => timerDelay('n', v, 9), MAX_TIMER_DELAY + 1, INVALID],
  ['timerDelay', (v) => timerDelay('n', v, 9), 0, INVALID],
  ['pruneInterval', (v) => pruneInterval(v, 9), false, false],
  ['pruneInterval', (v) => pruneInterval(v, 9), undefined, 9],
  ['pruneInterval', (v) => pruneInterval(v, 9), 2 ** 31, INVALID],
  ['pruneInterval', (v) => pruneInterval(v, 9), true, INVALID],
]

describe('store options', () => {
  for (const [check, run, given, expected] of ROWS) {
    it(`${check}: ${String(given)} → ${String(expected)}`, () => {
      const option = check === 'pruneInterval' ? 'pruneInterval' : 'n'
      if (expected === INVALID) assert.throws(() => run(given), refusedAs(option))
      else assert.equal(run(given), expected)
    })
  }
})

describe('PruneTimer', () => {
  it('prunes about every interval (50–150 %), again after a failed prune, and never after stop()', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    let calls = 0
    const timer = new PruneTimer(1_000, async () => {
      calls++
      if (calls === 1) throw new Error('the database is away')
    })
    t.mock.timers.tick(499)
    assert.equal(calls, 0)
    t.mock.timers.tick(1_001)
    assert.equal(calls, 1)
    // the failed prune's rejection settles, then the next one is scheduled
    for (let i = 0; i < 5; i++) await Promise.resolve()
    t.mock.timers.tick(1_500)
    assert.equal(calls, 2)
    for (let i = 0; i < 5; i++) await Promise.resolve()
    timer.stop()
    t.mock.timers.tick(10_000)
    assert.equal(calls, 2)
  })

  it('with false, never prunes', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    let calls = 0
    new PruneTimer(false, async () => void calls++)
    t.mock.timers.tick(10 ** 9)
    assert.equal(calls, 0)
  })

  it('waits at most the longest timer delay, even with the jitter on the longest interval', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    t.mock.method(Math, 'random', () => 0.999)
    const delays: number[] = []
    const original = globalThis.setTimeout
    t.mock.method(globalThis, 'setTimeout', (fn: () => void, delay: number) => {
      delays.push(delay)
      return original(fn, delay)
    })
    new PruneTimer(MAX_TIMER_DELAY, async () => {}).stop()
    assert.deepEqual(delays, [MAX_TIMER_DELAY])
  })
})
