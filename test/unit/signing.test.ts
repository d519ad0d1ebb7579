import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { isWellFormedId, signLegacy, signV1, unsignLegacy, unsignV1 } from '../../src/signing.ts'

const require = createRequire(import.meta.url)
const cookieSignature = require('express-session/node_modules/cookie-signature') as { sign(v: string, s: string): string; unsign(v: string, s: string): string | false }

const A = 'first secret 0123456789 abcdefghijklmnopqrstuv'
const B = 'second secret 0123456789 abcdefghijklmnopqrstu'
const ID = randomBytes(32).toString('base64url')

function flipLast(value: string): string {
  return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')
}

describe('signing', () => {
  describe('signV1', () => {
    it('gives v1.<id>.<HMAC-SHA256(secret, "v1|<name>|<id>"), base64url, 43 characters>', () => {
      const mac = createHmac('sha256', A).update(`v1|sid|${ID}`).digest('base64url')
      assert.equal(mac.length, 43)
      assert.equal(signV1(ID, 'sid', A), `v1.${ID}.${mac}`)
    })
  })

  describe('unsignV1', () => {
    describe('when the value was signed for this name', () => {
      it('gives the id and the index of the secret that verified it', () => {
        assert.deepEqual(unsignV1(signV1(ID, 'sid', A), 'sid', [A, B]), { id: ID, secretIndex: 0 })
        assert.deepEqual(unsignV1(signV1(ID, 'sid', B), 'sid', [A, B]), { id: ID, secretIndex: 1 })
      })
    })

    describe('when the MAC does not verify', () => {
      it("answers 'bad_mac' for another cookie name, another secret, or a changed MAC or id", () => {
        assert.equal(unsignV1(signV1(ID, 'other', A), 'sid', [A]), 'bad_mac')
        assert.equal(unsignV1(signV1(ID, 'sid', B), 'sid', [A]), 'bad_mac')
        assert.equal(unsignV1(flipLast(signV1(ID, 'sid', A)), 'sid', [A]), 'bad_mac')
        const otherId = randomBytes(32).toString('base64url')
        assert.equal(unsignV1(signV1(ID, 'sid', A).replace(ID, otherId), 'sid', [A]), 'bad_mac')
      })

      it("answers 'bad_mac', without throwing, for a 43-character MAC of multi-byte characters", () => {
        assert.equal(unsignV1(`v1.${ID}.${'é'.repeat(43)}`, 'sid', [A]), 'bad_mac')
      })
    })

    describe('when the value is malformed', () => {
      const signed = signV1(ID, 'sid', A)
      const cases: Array<[string, string]> = [
        ['no v1. prefix', signed.slice(3)],
        ['another version', 'v2' + signed.slice(2)],
        ['no MAC', `v1.${ID}`],
        ['a truncated MAC', signed.slice(0, -1)],
        ['an over-long MAC', signed + 'A'],
        ['an id too short', signV1(ID.slice(0, 21), 'sid', A)],
        ['an id too long', signV1('a'.repeat(129), 'sid', A)],
        ['an id outside base64url', signV1(ID.slice(0, 40) + '+/=', 'sid', A)],
        ['an empty string', ''],
      ]
      for (const [what, value] of cases) {
        it(`answers 'malformed' for ${what}`, () => assert.equal(unsignV1(value, 'sid', [A]), 'malformed'))
      }
    })
  })

  describe('signLegacy and unsignLegacy (express-session format)', () => {
    it('signs exactly as cookie-signature does', () => {
      assert.equal(signLegacy('abc', A), cookieSignature.sign('abc', A))
    })

    it('verifies cookie-signature output, with the index of the secret', () => {
      assert.deepEqual(unsignLegacy(cookieSignature.sign('abc', A), [A, B]), { value: 'abc', secretIndex: 0 })
      assert.deepEqual(unsignLegacy(cookieSignature.sign('abc', B), [A, B]), { value: 'abc', secretIndex: 1 })
    })

    it('takes the value as everything before the last dot', () => {
      assert.deepEqual(unsignLegacy(cookieSignature.sign('a.b.c', A), [A]), { value: 'a.b.c', secretIndex: 0 })
    })

    it('rejects a changed signature or value, and input without a signature', () => {
      assert.equal(unsignLegacy(flipLast(cookieSignature.sign('abc', A)), [A]), undefined)
      assert.equal(unsignLegacy(cookieSignature.sign('abc', A).replace('abc', 'abd'), [A]), undefined)
      assert.equal(unsignLegacy('abc', [A]), undefined)
      assert.equal(unsignLegacy('', [A]), undefined)
    })

    it('throws a TypeError for a missing secret, as cookie-signature does', () => {
      assert.throws(() => signLegacy('abc', undefined as any), TypeError)
    })
  })

  describe('isWellFormedId', () => {
    it('accepts 22 to 128 base64url characters only', () => {
      assert.equal(isWellFormedId('a'.repeat(22)), true)
      assert.equal(isWellFormedId('a'.repeat(128)), true)
      assert.equal(isWellFormedId(ID), true)
      assert.equal(isWellFormedId('a'.repeat(21)), false)
      assert.equal(isWellFormedId('a'.repeat(129)), false)
      assert.equal(isWellFormedId('a'.repeat(30) + '.'), false)
      assert.equal(isWellFormedId('a'.repeat(30) + ':'), false)
    })
  })
})
