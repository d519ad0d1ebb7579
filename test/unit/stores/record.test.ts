/**
 * The one parser of stored records (src/stores/record.ts), table-driven: each row is what a store
 * holds and what it must read back, a record or `malformed` (SessionDataError).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { SessionDataError } from '../../../src/errors.ts'
import { checkMeta, parseMeta, toRecord, type RecordParts } from '../../../src/stores/record.ts'

const T = 1_900_000_000_000
const COMPLETE = { createdAt: T, absoluteExpiresAt: T + 43_200_000, idleTimeout: 1_800_000 }
const MALFORMED = 'malformed'

function isMalformed(err: unknown): boolean {
  return err instanceof SessionDataError && err.code === 'ERR_TESSERA_SESSION_DATA'
}

/** Stored metadata text → the metadata it parses to, or malformed. */
const META_ROWS: Array<[string, unknown, object | null | typeof MALFORMED]> = [
  ['no metadata (NULL column, or a session written through the callback face)', null, null],
  ['JSON null', 'null', null],
  ['the three deadlines', JSON.stringify(COMPLETE), COMPLETE],
  [
    'every optional field, each of its type',
    JSON.stringify({ ...COMPLETE, authTime: T, client: 'Firefox on Linux', cookieMaxAge: 60_000, binding: 'h', renewedAt: T, retiredAt: T }),
    { ...COMPLETE, authTime: T, client: 'Firefox on Linux', cookieMaxAge: 60_000, binding: 'h', renewedAt: T, retiredAt: T },
  ],
  ['cookieMaxAge null (the app chose a browser-session cookie)', JSON.stringify({ ...COMPLETE, cookieMaxAge: null }), { ...COMPLETE, cookieMaxAge: null }],
  ['a field of a later version (kept, for rolling upgrades)', JSON.stringify({ ...COMPLETE, later: [1] }), { ...COMPLETE, later: [1] }],
  ['{}', '{}', MALFORMED],
  ['without createdAt', JSON.stringify({ ...COMPLETE, createdAt: undefined }), MALFORMED],
  ['without absoluteExpiresAt', JSON.stringify({ ...COMPLETE, absoluteExpiresAt: undefined }), MALFORMED],
  ['without idleTimeout', JSON.stringify({ ...COMPLETE, idleTimeout: undefined }), MALFORMED],
  ['absoluteExpiresAt null (Infinity once through JSON)', JSON.stringify({ ...COMPLETE, absoluteExpiresAt: Infinity }), MALFORMED],
  ['createdAt as text', JSON.stringify({ ...COMPLETE, createdAt: String(T) }), MALFORMED],
  ['idleTimeout as a boolean', JSON.stringify({ ...COMPLETE, idleTimeout: true }), MALFORMED],
  ['authTime as text', JSON.stringify({ ...COMPLETE, authTime: 'yesterday' }), MALFORMED],
  ['renewedAt null', JSON.stringify({ ...COMPLETE, renewedAt: null }), MALFORMED],
  ['retiredAt as an object', JSON.stringify({ ...COMPLETE, retiredAt: {} }), MALFORMED],
  ['cookieMaxAge as text', JSON.stringify({ ...COMPLETE, cookieMaxAge: '60000' }), MALFORMED],
  ['client as a number', JSON.stringify({ ...COMPLETE, client: 1 }), MALFORMED],
  ['binding as null', JSON.stringify({ ...COMPLETE, binding: null }), MALFORMED],
  ['an array', '[]', MALFORMED],
  ['a number', '42', MALFORMED],
  ['a string', '"meta"', MALFORMED],
  ['not valid JSON', '{"createdAt":', MALFORMED],
  ['not text (a driver handed over an object)', COMPLETE, MALFORMED],
  ['not text (a number)', 7, MALFORMED],
]

/** Record parts as a store read them → the record, or malformed. */
const RECORD_ROWS: Array<[string, Partial<RecordParts>, 'ok' | typeof MALFORMED]> = [
  ['a live record', {}, 'ok'],
  ['without an owner', { userId: null }, 'ok'],
  ['an expiry with a fraction of a millisecond (PostgreSQL keeps microseconds)', { expiresAt: T + 0.5 }, 'ok'],
  ['no expiry (NaN: the field was missing)', { expiresAt: Number.NaN }, MALFORMED],
  ['an infinite expiry', { expiresAt: Infinity }, MALFORMED],
  ['an expiry as text', { expiresAt: String(T) }, MALFORMED],
  ['version 0', { version: 0 }, MALFORMED],
  ['a fractional version', { version: 1.5 }, MALFORMED],
  ['no version (NaN)', { version: Number.NaN }, MALFORMED],
  ['an owner that is not text', { userId: 7 }, MALFORMED],
]

describe('stored records', () => {
  describe('parseMeta: stored metadata text → metadata', () => {
    for (const [what, stored, expected] of META_ROWS) {
      it(`${what} → ${expected === MALFORMED ? 'malformed' : 'parsed'}`, () => {
        if (expected === MALFORMED) assert.throws(() => parseMeta('test', stored), isMalformed)
        else assert.deepEqual(parseMeta('test', stored), expected)
      })
    }

    it('names the store and the fault in the message, for the malformed_data event', () => {
      assert.throws(() => parseMeta('sqlite', '{}'), /^SessionDataError: sqlite: stored session metadata has no finite createdAt$/)
    })
  })

  describe('checkMeta: metadata a store kept as an object', () => {
    it('accepts what parseMeta accepts and refuses the rest, the same way', () => {
      for (const [what, stored, expected] of META_ROWS) {
        if (typeof stored !== 'string') continue
        let value: unknown
        try {
          value = JSON.parse(stored)
        } catch {
          continue
        }
        if (expected === MALFORMED) assert.throws(() => checkMeta('test', value), isMalformed, what)
        else assert.deepEqual(checkMeta('test', value), expected, what)
      }
    })
  })

  describe('toRecord: the parts of a record → a stored session', () => {
    for (const [what, parts, expected] of RECORD_ROWS) {
      it(`${what} → ${expected}`, () => {
        const all = { data: { a: 1 }, meta: COMPLETE, userId: 'ann', expiresAt: T, version: 3, ...parts }
        if (expected === MALFORMED) assert.throws(() => toRecord('test', all), isMalformed)
        else assert.deepEqual(toRecord('test', all), all)
      })
    }
  })
})
