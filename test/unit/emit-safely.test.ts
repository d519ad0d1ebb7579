import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { emitSafely } from '../../src/emit-safely.ts'

describe('emitSafely', () => {
  it('calls every listener in order, with the emitter as this, and a once listener once', () => {
    const events = new EventEmitter()
    const calls: unknown[] = []
    events.on('created', function (this: unknown, payload: unknown) {
      calls.push(['on', this === events, payload])
    })
    events.once('created', (payload: unknown) => calls.push(['once', payload]))
    emitSafely(events, 'created', 1)
    emitSafely(events, 'created', 2)
    assert.deepEqual(calls, [['on', true, 1], ['once', 1], ['on', true, 2]])
  })

  it('reports a throw, of an Error or anything else, as a warning and goes on with the next listener', (t) => {
    const warnings: Error[] = []
    t.mock.method(process, 'emitWarning', (warning: Error) => void warnings.push(warning))
    const events = new EventEmitter()
    const later: unknown[] = []
    events.on('rejected', () => {
      throw new Error('boom')
    })
    events.on('rejected', () => {
      throw 'a string'
    })
    events.on('rejected', (payload: unknown) => later.push(payload))
    emitSafely(events, 'rejected', 'x')
    assert.deepEqual(later, ['x'])
    assert.deepEqual(
      warnings.map((w) => [w.name, (w as Error & { code: string }).code, w.message]),
      [
        ['TesseraSessionWarning', 'TESSERA_LISTENER_ERROR', "a 'rejected' session event listener threw: boom"],
        ['TesseraSessionWarning', 'TESSERA_LISTENER_ERROR', "a 'rejected' session event listener threw: a string"],
      ],
    )
    assert.equal((warnings[0]?.cause as Error).message, 'boom')
  })

  it("reports an async listener's rejection as a warning", async (t) => {
    const warnings: Error[] = []
    t.mock.method(process, 'emitWarning', (warning: Error) => void warnings.push(warning))
    const events = new EventEmitter()
    const failure = new Error('later')
    events.on('conflict', async () => {
      throw failure
    })
    emitSafely(events, 'conflict', {})
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(warnings.length, 1)
    assert.equal(warnings[0]?.message, "a 'conflict' session event listener returned a promise that rejected: later")
    assert.equal(warnings[0]?.cause, failure)
  })
})
