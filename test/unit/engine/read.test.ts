import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Engine, storeKeyOf } from '../../../src/engine/engine.ts'
import { readPresented, readPresentedHeader, readSessionId } from '../../../src/engine/read.ts'
import { rememberExpiry } from '../../../src/engine/verified-cookies.ts'
import { resolvePolicy } from '../../../src/options.ts'
import { signLegacy, signV1 } from '../../../src/signing.ts'
import { MemoryStore } from '../../../src/stores/memory.ts'

const A = 'first secret 0123456789 abcdefghijklmnopqrstuv'
const B = 'second secret 0123456789 abcdefghijklmnopqrstu'
const ID = randomBytes(32).toString('base64url')
/** An express-session id: 24 random bytes, 32 base64url characters. */
const LEGACY_ID = randomBytes(24).toString('base64url')

function legacyCookie(id: string, secret: string): string {
  return encodeURIComponent('s:' + signLegacy(id, secret))
}

describe('readSessionId', () => {
  describe('when there is no session cookie', () => {
    it('gives undefined', () => {
      assert.equal(readSessionId(undefined, 'sid', [A]), undefined)
      assert.equal(readSessionId('', 'sid', [A]), undefined)
      assert.equal(readSessionId('other=1', 'sid', [A]), undefined)
    })
  })

  describe('when the cookie holds a v1 value', () => {
    it('gives the id, to re-issue only when a retired secret signed it', () => {
      assert.deepEqual(readSessionId(`sid=${signV1(ID, 'sid', A)}`, 'sid', [A, B]), { id: ID, reissue: false, format: 'v1' })
      assert.deepEqual(readSessionId(`sid=${signV1(ID, 'sid', B)}`, 'sid', [A, B]), { id: ID, reissue: true, format: 'v1' })
    })

    it('rejects a value signed for another name (bad_mac)', () => {
      assert.deepEqual(readSessionId(`sid=${signV1(ID, 'other', A)}`, 'sid', [A]), { rejected: 'bad_mac' })
    })
  })

  describe('when the cookie appears more than once', () => {
    it("rejects it (duplicate), even when the copies are identical and valid", () => {
      const value = signV1(ID, 'sid', A)
      assert.deepEqual(readSessionId(`sid=${value}; sid=${value}`, 'sid', [A]), { rejected: 'duplicate' })
    })
  })

  describe('when only a cookie whose name differs from ours in letter case is present', () => {
    it('rejects it (prefix) when our name starts with __, whose prefixes browsers match in any case', () => {
      const value = signV1(ID, '__Host-sid', A)
      assert.deepEqual(readSessionId(`__host-sid=${value}`, '__Host-sid', [A]), { rejected: 'prefix' })
      assert.deepEqual(readSessionId(`a=1; __HOST-SID = ${value}`, '__Host-sid', [A]), { rejected: 'prefix' })
      assert.deepEqual(readSessionId(`__secure-sid=${value}`, '__Secure-sid', [A]), { rejected: 'prefix' })
    })

    it('ignores it otherwise, and ignores names that merely contain ours', () => {
      assert.equal(readSessionId(`SID=${signV1(ID, 'sid', A)}`, 'sid', [A]), undefined)
      assert.equal(readSessionId('x__host-sid=1; __host-sidx=2; y=__host-sid=3', '__Host-sid', [A]), undefined)
    })

    it('reads our exactly named cookie when a variant comes with it', () => {
      const value = signV1(ID, '__Host-sid', A)
      assert.deepEqual(readSessionId(`__host-sid=x; __Host-sid=${value}`, '__Host-sid', [A]), { id: ID, reissue: false, format: 'v1' })
    })
  })

  describe('when the value is empty or too long', () => {
    it('rejects it as malformed or oversize, before any HMAC', () => {
      assert.deepEqual(readSessionId('sid=', 'sid', [A]), { rejected: 'malformed' })
      assert.deepEqual(readSessionId(`sid=${'a'.repeat(513)}`, 'sid', [A]), { rejected: 'oversize' })
    })
  })

  describe("when the cookie holds express-session's format", () => {
    it('gives the id, to re-issue in the v1 format', () => {
      assert.deepEqual(readSessionId(`sid=${legacyCookie(LEGACY_ID, A)}`, 'sid', [A]), { id: LEGACY_ID, reissue: true, format: 'legacy' })
    })

    it('accepts one pair of surrounding double quotes, as express-session does', () => {
      assert.deepEqual(readSessionId(`sid="${legacyCookie(LEGACY_ID, A)}"`, 'sid', [A]), { id: LEGACY_ID, reissue: true, format: 'legacy' })
    })

    it('rejects a bad signature (bad_mac) and a value without the s: prefix (malformed)', () => {
      assert.deepEqual(readSessionId(`sid=${legacyCookie(LEGACY_ID, B)}`, 'sid', [A]), { rejected: 'bad_mac' })
      assert.deepEqual(readSessionId(`sid=${encodeURIComponent(signLegacy(LEGACY_ID, A))}`, 'sid', [A]), { rejected: 'malformed' })
    })

    describe('when the id is one the v1 format cannot carry (a custom genid)', () => {
      it('keeps the legacy cookie: re-issues it only to re-sign it with the first secret', () => {
        assert.deepEqual(readSessionId(`sid=${legacyCookie('user:42', A)}`, 'sid', [A, B]), { id: 'user:42', reissue: false, format: 'legacy' })
        assert.deepEqual(readSessionId(`sid=${legacyCookie('user:42', B)}`, 'sid', [A, B]), { id: 'user:42', reissue: true, format: 'legacy' })
      })
    })
  })
})

describe('readPresented', () => {
  /** An engine whose store-key hashes are counted. */
  function engine(): { engine: Engine; hashes: () => number } {
    const e = new Engine(resolvePolicy({ secret: A }), new MemoryStore())
    let hashes = 0
    const storeKey = e.storeKey.bind(e)
    e.storeKey = (id: string) => {
      hashes++
      return storeKey(id)
    }
    return { engine: e, hashes: () => hashes }
  }

  it('gives each request a fresh copy: what one request does to it, the next never sees', () => {
    const { engine: e } = engine()
    const header = `sid=${signV1(ID, 'sid', A)}`
    const first = readPresented(header, e)
    const second = readPresented(header, e)
    assert.notEqual(first, second)
    assert.deepEqual(first, second)
    ;(first as { expiresAt: number }).expiresAt = Date.now() + 60_000
    assert.equal((readPresented(header, e) as { expiresAt?: number }).expiresAt, undefined)
  })

  it('carries the store key, hashed once per cookie value (R5), and the raw id for an express-session cookie', () => {
    const { engine: e, hashes } = engine()
    const header = `sid=${signV1(ID, 'sid', A)}`
    assert.equal((readPresented(header, e) as { key: string }).key, storeKeyOf(ID))
    assert.equal((readPresented(header, e) as { key: string }).key, storeKeyOf(ID))
    assert.equal(hashes(), 1)
    assert.equal((readPresented(`sid=${legacyCookie(LEGACY_ID, A)}`, e) as { key: string }).key, LEGACY_ID)
  })

  it('carries the expiry hint rememberExpiry recorded for the value, to the requests after it', () => {
    const { engine: e } = engine()
    const value = signV1(ID, 'sid', A)
    const before = readPresented(`sid=${value}`, e)
    rememberExpiry(e.verified, value, 1_234)
    assert.equal((readPresented(`sid=${value}`, e) as { expiresAt?: number }).expiresAt, 1_234)
    assert.equal((before as { expiresAt?: number }).expiresAt, undefined, 'a copy handed out before keeps what it was')
  })

  it('keeps nothing of a value that fails to verify, and rejects it again', () => {
    const { engine: e, hashes } = engine()
    const header = `sid=${signV1(ID, 'sid', B)}`
    assert.deepEqual(readPresented(header, e), { rejected: 'bad_mac' })
    assert.deepEqual(readPresented(header, e), { rejected: 'bad_mac' })
    assert.equal(hashes(), 0)
  })
})

describe('readPresentedHeader (header mode)', () => {
  const MAC_NAME = 'header:x-session-token'
  const engine = (): Engine => new Engine(resolvePolicy({ secret: [A, B], header: 'X-Session-Token' }), new MemoryStore())

  describe('when there is no header, or an empty one (what destroy() answers)', () => {
    it('gives undefined: no id, nothing rejected', () => {
      assert.equal(readPresentedHeader(undefined, engine()), undefined)
      assert.equal(readPresentedHeader('', engine()), undefined)
    })
  })

  describe('when the header holds a v1 value signed for it', () => {
    it('gives the id and its store key, to re-issue only when a retired secret signed it', () => {
      const e = engine()
      const value = signV1(ID, MAC_NAME, A)
      assert.deepEqual(readPresentedHeader(value, e), { value, id: ID, reissue: false, format: 'v1', key: storeKeyOf(ID), expiresAt: undefined })
      assert.equal((readPresentedHeader(signV1(ID, MAC_NAME, B), e) as { reissue: boolean }).reissue, true)
    })
  })

  const rows: Array<[string, string | string[], string]> = [
    ['several values joined by Node (a repeated header)', `${signV1(ID, MAC_NAME, A)}, ${signV1(ID, MAC_NAME, A)}`, 'duplicate'],
    ['a value and an empty copy, joined', `${signV1(ID, MAC_NAME, A)}, `, 'duplicate'],
    ['an array of values', [signV1(ID, MAC_NAME, A), signV1(ID, MAC_NAME, A)], 'duplicate'],
    ['a value over 512 characters', 'v1.' + 'a'.repeat(600), 'oversize'],
    ['a bare id', ID, 'malformed'],
    ['a cookie-style pair', `sid=${signV1(ID, MAC_NAME, A)}`, 'malformed'],
    ["express-session's format", encodeURIComponent('s:' + signLegacy(LEGACY_ID, A)), 'malformed'],
    ['whitespace inside the value', `v1.${ID} .${'A'.repeat(42)}`, 'malformed'],
    ['a forged MAC', `v1.${ID}.${'A'.repeat(43)}`, 'bad_mac'],
    ['a value signed for the cookie (same secret)', signV1(ID, 'sid', A), 'bad_mac'],
    ['a value signed for another header', signV1(ID, 'header:x-other', A), 'bad_mac'],
  ]
  for (const [name, value, reason] of rows) {
    it(`rejects ${name} (${reason})`, () => {
      assert.deepEqual(readPresentedHeader(value, engine()), { rejected: reason })
    })
  }
})
