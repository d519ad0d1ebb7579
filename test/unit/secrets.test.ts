import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createSecretKey, randomBytes } from 'node:crypto'
import session from '../../src/index.ts'
import { InvalidOptionError } from '../../src/errors.ts'
import { resolveSecrets } from '../../src/secrets.ts'

const STRONG = 'x'.repeat(32)

function throwsInvalid(run: () => unknown, option: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_TESSERA_INVALID_OPTION')
    assert.equal(err.option, option)
    return true
  })
}

describe('secret', () => {
  describe('when missing or empty', () => {
    for (const secret of [undefined, null, '', []]) {
      it(`throws for ${JSON.stringify(secret)}`, () => throwsInvalid(() => resolveSecrets(secret, false), 'secret'))
    }
  })

  describe('when more than five are given', () => {
    it('throws', () => throwsInvalid(() => resolveSecrets(Array.from({ length: 6 }, (_, i) => STRONG + i), false), 'secret'))
  })

  describe('when an entry is not a string, Buffer or KeyObject', () => {
    it('throws naming the entry', () => throwsInvalid(() => resolveSecrets([STRONG, 42], false), 'secret[1]'))
    it('throws for an empty Buffer', () => throwsInvalid(() => resolveSecrets(Buffer.alloc(0), false), 'secret[0]'))
  })

  describe('when valid', () => {
    it('keeps the order: the first signs', () => {
      assert.deepEqual(resolveSecrets(['a'.repeat(32), 'b'.repeat(32)], true), ['a'.repeat(32), 'b'.repeat(32)])
    })

    it('accepts 32-byte Buffers and secret KeyObjects in production', () => {
      assert.equal(resolveSecrets(randomBytes(32), true).length, 1)
      assert.equal(resolveSecrets(createSecretKey(randomBytes(32)), true).length, 1)
    })

    it('counts bytes, not characters', () => {
      // 16 two-byte characters: 32 bytes
      assert.equal(resolveSecrets('é'.repeat(16), true).length, 1)
    })
  })

  describe('when NODE_ENV is production', () => {
    for (const weak of ['keyboard cat', ' Keyboard Cat ', 'changeme', 'x'.repeat(31)]) {
      it(`refuses ${JSON.stringify(weak)}`, () => throwsInvalid(() => resolveSecrets(weak, true), 'secret[0]'))
    }

    it('refuses a weak first secret even when a strong one follows (the first signs)', () => throwsInvalid(() => resolveSecrets(['keyboard cat', STRONG], true), 'secret[0]'))

    it('accepts weak later secrets (they only verify) with a single TESSERA_WEAK_OLD_SECRET warning for the process', (t) => {
      const warn = t.mock.method(process, 'emitWarning', () => {})
      assert.deepEqual(resolveSecrets([STRONG, 'keyboard cat'], true), [STRONG, 'keyboard cat'])
      assert.deepEqual(resolveSecrets([STRONG, 'short', Buffer.alloc(8, 1)], true), [STRONG, 'short', Buffer.alloc(8, 1)])
      assert.equal(warn.mock.callCount(), 1)
      assert.equal((warn.mock.calls[0]?.arguments[1] as { code?: string })?.code, 'TESSERA_WEAK_OLD_SECRET')
    })

    it('refuses a short Buffer or KeyObject', () => {
      throwsInvalid(() => resolveSecrets(randomBytes(16), true), 'secret[0]')
      throwsInvalid(() => resolveSecrets(createSecretKey(randomBytes(16)), true), 'secret[0]')
    })

    it('makes session() throw ERR_TESSERA_INVALID_OPTION at construction', () => {
      const previous = process.env.NODE_ENV
      process.env.NODE_ENV = 'production'
      try {
        for (const secret of ['keyboard cat', 'short']) {
          assert.throws(
            () => session({ secret }),
            (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION',
          )
        }
      } finally {
        if (previous === undefined) delete process.env.NODE_ENV
        else process.env.NODE_ENV = previous
      }
    })
  })

  describe('when the same key is given twice', () => {
    const other = 'y'.repeat(40)
    const cases: Array<[string, unknown[], string]> = [
      ['the same string', [STRONG, STRONG], 'secret[1]'],
      ['a string and a Buffer of its bytes', [STRONG, Buffer.from(STRONG)], 'secret[1]'],
      ['a string and a KeyObject of its bytes', [STRONG, createSecretKey(Buffer.from(STRONG))], 'secret[1]'],
      ['a Uint8Array and a Buffer over part of a larger one', [new Uint8Array(Buffer.from(STRONG)), Buffer.from('__' + STRONG).subarray(2)], 'secret[1]'],
      // HMAC pads a key shorter than its 64-byte block with zeros: the same key for HMAC
      ['a key and the key followed by NUL bytes', [STRONG, STRONG + '\0\0'], 'secret[1]'],
      // and hashes a longer one: a 100-byte key and its SHA-256 sign alike
      ['a long key and its SHA-256', ['z'.repeat(100), createHash('sha256').update('z'.repeat(100)).digest()], 'secret[1]'],
      ['a repeat further down the list', [STRONG, other, STRONG], 'secret[2]'],
    ]
    for (const [label, secrets, option] of cases) {
      it(`refuses ${label} in production`, () => throwsInvalid(() => resolveSecrets(secrets, true), option))
    }

    it('accepts them outside production with a single TESSERA_DUPLICATE_SECRET warning for the process', (t) => {
      const warn = t.mock.method(process, 'emitWarning', () => {})
      assert.equal(resolveSecrets([STRONG, STRONG], false).length, 2)
      assert.equal(resolveSecrets([STRONG, Buffer.from(STRONG)], false).length, 2)
      assert.equal(warn.mock.callCount(), 1)
      assert.equal((warn.mock.calls[0]?.arguments[1] as { code?: string })?.code, 'TESSERA_DUPLICATE_SECRET')
    })

    it('does not mistake different keys of one length for the same', () => {
      assert.equal(resolveSecrets([STRONG, 'x'.repeat(31) + 'y', Buffer.alloc(32, 'x'.charCodeAt(0) + 1)], true).length, 3)
    })
  })

  describe('when NODE_ENV is not production', () => {
    it('accepts a weak secret with a single TESSERA_WEAK_SECRET warning for the process', (t) => {
      const warn = t.mock.method(process, 'emitWarning', () => {})
      assert.deepEqual(resolveSecrets('keyboard cat', false), ['keyboard cat'])
      assert.deepEqual(resolveSecrets('short', false), ['short'])
      assert.equal(warn.mock.callCount(), 1)
      assert.equal((warn.mock.calls[0]?.arguments[1] as { code?: string })?.code, 'TESSERA_WEAK_SECRET')
    })
  })
})
