import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_DEPTH, baselineOf, diffSession, hasChanges } from '../../../src/engine/dirty.ts'
import { SessionDataError, SessionTooLargeError } from '../../../src/errors.ts'
import { STRINGIFY_THROWS_AT, UNSTORABLE, nestedArray, nestedObject } from '../../support/unstorable.ts'

const LIMIT = 65_536
const base = (entries: Record<string, unknown>) => new Map(Object.entries(entries).map(([key, value]) => [key, JSON.stringify(value)]))

describe('diffSession', () => {
  // bytes: each key's length, its JSON's length and 4 (the quotes, the colon and a separator)
  const rows: Array<{ name: string; session: Record<string, unknown>; baseline: Record<string, unknown>; set: Record<string, unknown>; unset: string[]; changed: boolean; bytes: number }> = [
    { name: 'nothing changed', session: { cookie: {}, a: 1, b: [1] }, baseline: { a: 1, b: [1] }, set: {}, unset: [], changed: false, bytes: 1 + 1 + 4 + 1 + 3 + 4 },
    { name: 'a changed key', session: { a: 2, b: [1] }, baseline: { a: 1, b: [1] }, set: { a: 2 }, unset: [], changed: true, bytes: 6 + 8 },
    { name: 'a new key', session: { a: 1, c: { d: 'e' } }, baseline: { a: 1 }, set: { c: { d: 'e' } }, unset: [], changed: true, bytes: 6 + 1 + 9 + 4 },
    { name: 'a removed key', session: { a: 1 }, baseline: { a: 1, gone: true }, set: {}, unset: ['gone'], changed: true, bytes: 6 },
    { name: 'a key JSON drops (undefined, a function) counts as removed', session: { a: undefined, f: () => 1 }, baseline: { a: 1 }, set: {}, unset: ['a'], changed: true, bytes: 0 },
    { name: '`cookie` is never data', session: { cookie: { maxAge: 1 } }, baseline: {}, set: {}, unset: [], changed: false, bytes: 0 },
    { name: 'a Date, as its ISO string', session: { at: new Date(0) }, baseline: {}, set: { at: '1970-01-01T00:00:00.000Z' }, unset: [], changed: true, bytes: 2 + 26 + 4 },
    { name: 'a change after unchanged keys', session: { a: 1, b: [1], c: 3 }, baseline: { a: 1, b: [1], c: 2 }, set: { c: 3 }, unset: [], changed: true, bytes: 6 + 8 + 6 },
    { name: 'a key removed after unchanged keys', session: { a: 1, b: [1] }, baseline: { a: 1, b: [1], c: 2 }, set: {}, unset: ['c'], changed: true, bytes: 6 + 8 },
    { name: 'a key whose value JSON drops, after unchanged keys', session: { a: 1, b: undefined }, baseline: { a: 1, b: 2 }, set: {}, unset: ['b'], changed: true, bytes: 6 },
    { name: 'key order inside a value is a change', session: { o: { b: 1, a: 2 } }, baseline: { o: { a: 2, b: 1 } }, set: { o: { b: 1, a: 2 } }, unset: [], changed: true, bytes: 1 + 13 + 4 },
  ]
  for (const row of rows) {
    it(row.name, () => {
      const diff = diffSession(row.session, base(row.baseline), LIMIT)
      assert.equal(JSON.stringify({ ...diff.set }), JSON.stringify(row.set))
      assert.deepEqual(diff.unset, row.unset)
      assert.equal(diff.changed, row.changed)
      assert.equal(diff.bytes, row.bytes)
    })
  }

  it('hands out copies of the changed values, and every key JSON as the next baseline', () => {
    const cart = [1, 2]
    const diff = diffSession({ cart, user: 'ann' }, base({ user: 'ann' }), LIMIT)
    assert.notEqual(diff.set.cart, cart)
    assert.deepEqual([...diff.current], [['cart', '[1,2]'], ['user', '"ann"']])
    const later = diffSession({ user: 'ann', n: 1, cart }, base({ user: 'ann', n: 0, cart }), LIMIT)
    assert.deepEqual([...later.current], [['user', '"ann"'], ['n', '1'], ['cart', '[1,2]']])
  })

  it('keeps the baseline itself as the next one when nothing changed', () => {
    const baseline = base({ user: 'ann', n: 1 })
    assert.equal(diffSession({ cookie: {}, user: 'ann', n: 1 }, baseline, LIMIT).current, baseline)
  })

  it('reads each value once, changed or not', () => {
    let reads = 0
    const session = { a: 1 }
    Object.defineProperty(session, 'b', { enumerable: true, get: () => ++reads })
    diffSession(session, base({ a: 1, b: 0 }), LIMIT)
    assert.equal(reads, 1)
    diffSession(session, base({ a: 1, b: 2 }), LIMIT)
    assert.equal(reads, 2)
  })

  for (const [kind, { key, value, throws }] of Object.entries(UNSTORABLE)) {
    it(`refuses ${kind} with SessionDataError${throws ? ', its cause the error JSON.stringify threw' : ''}`, () => {
      assert.throws(
        () => diffSession({ [key]: value() }, new Map(), LIMIT),
        (err: unknown) => err instanceof SessionDataError && err.code === 'ERR_TESSERA_SESSION_DATA' && (err.cause instanceof Error) === throws,
      )
    })
  }

  const depths: Array<[string, unknown, boolean]> = [
    [`an array nested ${MAX_DEPTH} levels deep`, nestedArray(MAX_DEPTH), true],
    [`an object nested ${MAX_DEPTH} levels deep`, nestedObject(MAX_DEPTH), true],
    [`an array nested ${MAX_DEPTH + 1} levels deep`, nestedArray(MAX_DEPTH + 1), false],
    [`${MAX_DEPTH} levels of arrays in objects, plus one`, { a: [nestedObject(MAX_DEPTH - 1)] }, false],
    ['brackets inside strings, which are not nesting', ['['.repeat(5000), '{'.repeat(5000), '\\"['.repeat(2000)], true],
    ['many shallow values side by side', Array.from({ length: 3000 }, () => [[1]]), true],
  ]
  for (const [what, value, accepted] of depths) {
    it(`${accepted ? 'accepts' : 'refuses'} ${what}`, () => {
      const run = () => diffSession({ v: value }, new Map(), LIMIT)
      if (accepted) assert.equal(run().changed, true)
      else assert.throws(run, SessionDataError)
    })
  }

  it('checks depth and keys only for what changed: what is stored already is not refused again', () => {
    const deep = nestedArray(MAX_DEPTH + 1)
    const session = { deep, 'a\u0000b': 1, user: 'bob' }
    const diff = diffSession(session, base({ deep, 'a\u0000b': 1, user: 'ann' }), LIMIT)
    assert.deepEqual({ ...diff.set }, { user: 'bob' })
  })

  it('refuses a session over the limit with SessionTooLargeError, counting UTF-8 bytes exactly', () => {
    assert.equal(diffSession({ s: 'x'.repeat(90) }, new Map(), 100).bytes, 1 + 92 + 4)
    assert.equal(diffSession({ s: '☃'.repeat(10) }, new Map(), 100).bytes, 1 + 12 + 4, 'far below the limit, in UTF-16 code units')
    assert.equal(diffSession({ s: '☃'.repeat(28) }, new Map(), 100).bytes, 1 + 2 + 84 + 4, 'near the limit, in UTF-8 bytes')
    assert.throws(
      () => diffSession({ s: '☃'.repeat(40) }, new Map(), 100),
      (err: unknown) => err instanceof SessionTooLargeError && err.size === 1 + 2 + 120 + 4 && err.limit === 100,
    )
  })
})

describe('hasChanges', () => {
  it('tells a changed or new key from none, and counts a value JSON cannot hold as no change', () => {
    assert.equal(hasChanges({ cookie: {}, a: 1 }, base({ a: 1 })), false)
    assert.equal(hasChanges({ a: 2 }, base({ a: 1 })), true)
    assert.equal(hasChanges({ a: 1, b: 'new' }, base({ a: 1 })), true)
    assert.equal(hasChanges({ big: 10n }, new Map()), false)
  })
})

describe('baselineOf', () => {
  it('keeps each key JSON, leaving out `cookie`, what JSON drops and what cannot be serialized', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const tooDeep = STRINGIFY_THROWS_AT === undefined ? {} : { deep: nestedArray(STRINGIFY_THROWS_AT) }
    assert.deepEqual([...baselineOf({ cookie: {}, a: [1], u: undefined, cyclic, ...tooDeep })], [['a', '[1]']])
  })
})
