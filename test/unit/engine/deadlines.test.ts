import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Deadlines, type Deadline } from '../../../src/engine/store-call.ts'

/** Starts the clock of a call whose expiry runs `expire`, as a store call does. */
function start(deadlines: Deadlines, expire: () => unknown): Deadline {
  const deadline = { at: deadlines.fromNow(), expire: () => void expire() }
  deadlines.start(deadline)
  return deadline
}

describe('Deadlines (one timer for every store call in flight)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }))
  afterEach(() => mock.timers.reset())

  it('expires a call still pending at its deadline, once, and not before', () => {
    const deadlines = new Deadlines(100)
    const expired: string[] = []
    const call = start(deadlines, () => expired.push('a'))
    mock.timers.tick(99)
    assert.deepEqual(expired, [])
    mock.timers.tick(1)
    assert.deepEqual(expired, ['a'])
    mock.timers.tick(1_000)
    assert.deepEqual(expired, ['a'])
    assert.equal(deadlines.finish(call), false, 'an expired call reports that its outcome no longer counts')
  })

  it('never expires a call that finished in time', () => {
    const deadlines = new Deadlines(100)
    let expired = 0
    const call = start(deadlines, () => expired++)
    mock.timers.tick(50)
    assert.equal(deadlines.finish(call), true)
    mock.timers.tick(500)
    assert.equal(expired, 0)
  })

  it('expires overlapping calls each at its own deadline, with one timer following the oldest', () => {
    const deadlines = new Deadlines(100)
    const expired: string[] = []
    start(deadlines, () => expired.push('a'))
    mock.timers.tick(30)
    const b = start(deadlines, () => expired.push('b'))
    mock.timers.tick(30)
    start(deadlines, () => expired.push('c'))
    // a expires at 100, b (finished) would at 130, c at 160
    assert.equal(deadlines.finish(b), true)
    mock.timers.tick(40)
    assert.deepEqual(expired, ['a'])
    mock.timers.tick(59)
    assert.deepEqual(expired, ['a'])
    mock.timers.tick(1)
    assert.deepEqual(expired, ['a', 'c'])
  })

  it('keeps timing calls started after the oldest finished', () => {
    const deadlines = new Deadlines(100)
    const expired: string[] = []
    const a = start(deadlines, () => expired.push('a'))
    mock.timers.tick(50)
    start(deadlines, () => expired.push('b'))
    deadlines.finish(a)
    mock.timers.tick(99)
    assert.deepEqual(expired, [])
    mock.timers.tick(1)
    assert.deepEqual(expired, ['b'])
  })

  it('times a call started after an idle spell at its own deadline, not at the earlier call\'s', () => {
    const deadlines = new Deadlines(100)
    const expired: string[] = []
    const a = start(deadlines, () => expired.push('a'))
    mock.timers.tick(50)
    deadlines.finish(a)
    mock.timers.tick(30)
    start(deadlines, () => expired.push('b'))
    // a's deadline (100) passes with b pending: b expires at 180
    mock.timers.tick(99)
    assert.deepEqual(expired, [])
    mock.timers.tick(1)
    assert.deepEqual(expired, ['b'])
  })

  it('times a call that an expiry callback starts', () => {
    const deadlines = new Deadlines(100)
    const expired: string[] = []
    start(deadlines, () => {
      expired.push('a')
      start(deadlines, () => expired.push('retry'))
    })
    mock.timers.tick(100)
    assert.deepEqual(expired, ['a'])
    mock.timers.tick(100)
    assert.deepEqual(expired, ['a', 'retry'])
  })
})

describe('Deadlines and the event loop', () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

  it('holds the event loop with one timer while calls are in flight and not once they are done, so an idle process can exit', () => {
    const deadlines = new Deadlines(60_000)
    const before = timers()
    const a = start(deadlines, () => assert.fail('finished calls do not expire'))
    const b = start(deadlines, () => assert.fail('finished calls do not expire'))
    assert.equal(timers(), before + 1)
    deadlines.finish(a)
    assert.equal(timers(), before + 1)
    deadlines.finish(b)
    assert.equal(timers(), before)
    // and again for the next call
    const c = start(deadlines, () => assert.fail('finished calls do not expire'))
    assert.equal(timers(), before + 1)
    deadlines.finish(c)
    assert.equal(timers(), before)
  })

  it('lets a process with no call in flight exit at once', () => {
    const script = [
      `import { Deadlines } from ${JSON.stringify(new URL('../../../src/engine/store-call.ts', import.meta.url).href)}`,
      'const deadlines = new Deadlines(60_000)',
      'const call = { at: deadlines.fromNow(), expire() {} }',
      'deadlines.start(call)',
      'deadlines.finish(call)',
    ].join('\n')
    const started = Date.now()
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(run.status, 0, run.stderr)
    assert.ok(Date.now() - started < 20_000, 'it did not wait for the 60 s timer')
  })
})
