import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { InvalidOptionError } from '../../src/errors.ts'
import { headerRefusal } from '../../src/header-option.ts'
import { resolvePolicy, type SessionOptions } from '../../src/options.ts'
import { describeSetup } from '../../src/startup-line.ts'

const SECRET = 'tessera test secret 0123456789 abcdefghijklmnopq'

function policy(options: Partial<SessionOptions>) {
  return resolvePolicy({ secret: SECRET, ...options } as SessionOptions)
}

function throwsInvalid(run: () => unknown, option: string, message?: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_TESSERA_INVALID_OPTION')
    assert.equal(err.option, option)
    if (message !== undefined) assert.match(err.message, message)
    return true
  })
}

describe('the header option', () => {
  describe('when not given', () => {
    it('is cookie mode: no header, the cookie name binds the MAC', () => {
      const p = policy({})
      assert.equal(p.header, undefined)
      assert.equal(p.name, 'sid')
    })
  })

  describe('when given a name of the app', () => {
    it('keeps the name as spelled for the response, its lower case for the request, and binds the MAC to the header', () => {
      const p = policy({ header: 'X-Session-Token' })
      assert.deepEqual(p.header, { name: 'X-Session-Token', field: 'x-session-token' })
      assert.ok(Object.isFrozen(p.header))
      assert.equal(p.name, 'header:x-session-token')
    })

    it('is the same in production (no cookie-name prefix applies)', () => {
      const previous = process.env.NODE_ENV
      process.env.NODE_ENV = 'production'
      try {
        assert.equal(policy({ header: 'Session-Token' }).name, 'header:session-token')
      } finally {
        if (previous === undefined) delete process.env.NODE_ENV
        else process.env.NODE_ENV = previous
      }
    })

    it('says so in the startup line, instead of the cookie', () => {
      assert.match(describeSetup(policy({ header: 'X-Session-Token' }), 'MemoryStore'), /; header X-Session-Token \(no cookie\);/)
      assert.match(describeSetup(policy({}), 'MemoryStore'), /; cookie sid \(/)
    })
  })

  describe('when the name is not an HTTP field name', () => {
    const rows: Array<[string, unknown]> = [
      ['empty', ''],
      ['with a space', 'X Session'],
      ['with a colon', 'X-Session:'],
      ['with a line break', 'X-Session\r\nSet-Cookie: a=b'],
      ['non-ASCII', 'X-Sessión'],
      ['too long (a value given as the name)', 'X-' + 'a'.repeat(80)],
      ['not a string', 42],
      ['an array', ['X-Session-Token']],
    ]
    for (const [name, value] of rows) {
      it(`throws for ${name}`, () => throwsInvalid(() => policy({ header: value as string }), 'header', /RFC 9110 token/))
    }
  })

  describe('when the name has a meaning of its own', () => {
    const rows: Array<[string, RegExp]> = [
      ['Authorization', /Authorization/],
      ['Cookie', /browsers do not let scripts send/],
      ['set-cookie', /browsers do not let scripts send/],
      ['Connection', /browsers do not let scripts send/],
      ['Upgrade', /browsers do not let scripts send/],
      ['Proxy-Authorization', /browsers do not let scripts send/],
      ['Sec-Session', /browsers do not let scripts send/],
      ['Host', /browsers do not let scripts send/],
      ['User-Agent', /keeps one value of/],
      ['Content-Type', /keeps one value of/],
      ['Cache-Control', /already give a meaning/],
      ['Vary', /already give a meaning/],
      ['Access-Control-Expose-Headers', /already give a meaning/],
      ['Content-Session', /already give a meaning/],
      ['X-Forwarded-For', /already give a meaning/],
    ]
    for (const [name, reason] of rows) {
      it(`throws for ${name}, in any case`, () => {
        throwsInvalid(() => policy({ header: name }), 'header', reason)
        throwsInvalid(() => policy({ header: name.toUpperCase() }), 'header', reason)
      })
    }

    it('accepts names of the app, including a few that look close to refused ones', () => {
      for (const name of ['X-Session-Token', 'Session-Id', 'X-Auth-Token', 'X-Api-Session', 'Authorization-Session', 'Hosting-Token']) {
        assert.equal(headerRefusal(name.toLowerCase()), undefined, name)
      }
    })
  })

  describe('when a cookie option is given beside it', () => {
    const rows: Array<[string, Partial<SessionOptions>]> = [
      ['cookie', { cookie: { maxAge: 60_000 } }],
      ['cookie', { cookie: () => ({}) }],
      ['name', { name: 'sid' }],
      ['key', { key: 'connect.sid' }],
    ]
    for (const [option, extra] of rows) {
      it(`throws naming ${option}: the app expects a cookie header mode never sets`, () => {
        throwsInvalid(() => session({ secret: SECRET, header: 'X-Session-Token', ...extra }), option, /no cookie is read or set/)
      })
    }

    it('accepts the options that still mean something (rolling, clearSiteData, proxy, binding, timeouts)', () => {
      const p = policy({ header: 'X-Session-Token', rolling: true, clearSiteData: true, proxy: true, binding: { action: 'log' }, idleTimeout: 60_000, renewAfter: 30_000 })
      assert.equal(p.rolling, true)
      assert.equal(p.idleTimeout, 60_000)
    })
  })
})
