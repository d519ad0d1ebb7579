import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import session from '../../src/index.ts'
import { InvalidOptionError } from '../../src/errors.ts'
import { MAX_COOKIE_LIFETIME } from '../../src/cookie-options.ts'
import { resolvePolicy, type SessionOptions } from '../../src/options.ts'

const SECRET = 'tessera test secret 0123456789 abcdefghijklmnopq'
const MINUTE = 60_000

function policy(options: Partial<SessionOptions> = {}) {
  return resolvePolicy({ secret: SECRET, ...options } as SessionOptions)
}

function inProduction<T>(run: () => T): T {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    return run()
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = previous
  }
}

/** Asserts `run` throws an InvalidOptionError (code ERR_TESSERA_INVALID_OPTION) naming `option`. */
function throwsInvalid(run: () => unknown, option: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_TESSERA_INVALID_OPTION')
    assert.equal(err.option, option)
    return true
  })
}

const request = {} as IncomingMessage

describe('options', () => {
  describe('when only a secret is given', () => {
    it('resolves the documented defaults, frozen', () => {
      const p = policy()
      assert.equal(p.production, false)
      assert.equal(p.name, 'sid')
      assert.equal(p.idleTimeout, 30 * MINUTE)
      assert.equal(p.absoluteTimeout, 12 * 60 * MINUTE)
      assert.equal(p.touchAfter, 3 * MINUTE)
      assert.equal(p.storeTimeout, 5000)
      assert.equal(p.maxSessionBytes, 65_536)
      assert.equal(p.saveUninitialized, false)
      assert.equal(p.rolling, false)
      assert.equal(p.unsetDestroy, false)
      assert.deepEqual(p.cookieFor(request), {
        path: '/',
        domain: undefined,
        httpOnly: true,
        secure: false,
        sameSite: 'lax',
        priority: 'high',
        partitioned: false,
        maxAge: null,
      })
      assert.ok(Object.isFrozen(p))
      assert.ok(Object.isFrozen(p.cookieFor(request)))
    })
  })

  describe('when NODE_ENV is production', () => {
    it('names the cookie __Host-sid and makes it Secure', () => {
      const p = inProduction(() => policy())
      assert.equal(p.production, true)
      assert.equal(p.name, '__Host-sid')
      assert.equal(p.cookieFor(request).secure, true)
    })

    it('falls back to __Secure-sid when a domain, a path or a cookie function rules out __Host-', () => {
      assert.equal(inProduction(() => policy({ cookie: { domain: 'example.com' } })).name, '__Secure-sid')
      assert.equal(inProduction(() => policy({ cookie: { path: '/app' } })).name, '__Secure-sid')
      assert.equal(inProduction(() => policy({ cookie: () => ({}) })).name, '__Secure-sid')
    })

    it('keeps a configured name', () => {
      assert.equal(inProduction(() => policy({ name: 'app.sid' })).name, 'app.sid')
    })
  })

  describe('name', () => {
    it('accepts key as its legacy alias', () => {
      assert.equal(policy({ key: 'legacy.sid' }).name, 'legacy.sid')
    })

    for (const name of ['a;b', 'a b', 'a\r\nSet-Cookie: x', 'a\nb', 'a=b', 'a,b', 'a"b', 'sé', 'x'.repeat(257)]) {
      it(`rejects ${JSON.stringify(name.length > 20 ? name.slice(0, 10) + '…' : name)} (RFC 6265 token)`, () => throwsInvalid(() => policy({ name }), 'name'))
    }
  })

  describe('cookie.path', () => {
    for (const path of ['/a;b', '/a\r\nb', '/a\nb', 'relative', '', '/\u0000', '/' + 'x'.repeat(1024)]) {
      it(`rejects ${JSON.stringify(path.length > 20 ? path.slice(0, 10) + '…' : path)}`, () => throwsInvalid(() => policy({ cookie: { path } }), 'cookie.path'))
    }

    it('accepts a path with spaces and punctuation but no ";" or controls', () => {
      assert.equal(policy({ cookie: { path: '/a b/c-d_e.f~g' } }).cookieFor(request).path, '/a b/c-d_e.f~g')
    })
  })

  describe('cookie.domain', () => {
    for (const domain of ['exa mple.com', 'example.com;x=1', 'example.com\r\n', 'exa_mple.com', '-example.com', 'example..com']) {
      it(`rejects ${JSON.stringify(domain)}`, () => throwsInvalid(() => policy({ cookie: { domain } }), 'cookie.domain'))
    }

    it('accepts a host name, with or without a leading dot', () => {
      assert.equal(policy({ cookie: { domain: 'sub.example.com' } }).cookieFor(request).domain, 'sub.example.com')
      assert.equal(policy({ cookie: { domain: '.example.com' } }).cookieFor(request).domain, '.example.com')
    })
  })

  describe('cookie-name prefixes', () => {
    describe('when the name starts with __Host-', () => {
      it('throws with a path other than "/"', () => throwsInvalid(() => policy({ name: '__Host-sid', cookie: { secure: true, path: '/app' } }), 'cookie'))
      it('throws with a domain', () => throwsInvalid(() => policy({ name: '__Host-sid', cookie: { secure: true, domain: 'example.com' } }), 'cookie'))
      it('throws without secure', () => throwsInvalid(() => policy({ name: '__Host-sid', cookie: { secure: false } }), 'cookie.secure'))
      it('matches the prefix case-insensitively, as browsers do', () => throwsInvalid(() => policy({ name: '__HOST-sid', cookie: { secure: true, path: '/app' } }), 'cookie'))
      it('accepts secure, path "/" and no domain', () => assert.equal(policy({ name: '__Host-sid', cookie: { secure: true } }).name, '__Host-sid'))
    })

    describe('when the name starts with __Secure-', () => {
      it('throws without secure', () => throwsInvalid(() => policy({ name: '__Secure-sid' }), 'cookie.secure'))
      it('accepts a domain and a path when secure', () => {
        assert.equal(policy({ name: '__Secure-sid', cookie: { secure: true, domain: 'example.com', path: '/app' } }).name, '__Secure-sid')
      })
    })

    describe('when the name starts with __Http- or __Host-Http-', () => {
      it('throws without httpOnly', () => throwsInvalid(() => policy({ name: '__Http-sid', cookie: { secure: true, httpOnly: false } }), 'cookie.httpOnly'))
      it('throws without secure', () => throwsInvalid(() => policy({ name: '__Host-Http-sid' }), 'cookie.secure'))
    })
  })

  describe('cookie.sameSite', () => {
    it("throws for 'none' without secure: true", () => throwsInvalid(() => policy({ cookie: { sameSite: 'none' } }), 'cookie.sameSite'))
    it("throws for 'none' with secure: 'auto'", () => throwsInvalid(() => policy({ cookie: { sameSite: 'none', secure: 'auto' } }), 'cookie.sameSite'))
    it("accepts 'none' with secure: true", () => assert.equal(policy({ cookie: { sameSite: 'none', secure: true } }).cookieFor(request).sameSite, 'none'))
    it('maps true to strict and accepts any case', () => {
      assert.equal(policy({ cookie: { sameSite: true } }).cookieFor(request).sameSite, 'strict')
      assert.equal(policy({ cookie: { sameSite: 'Strict' as any } }).cookieFor(request).sameSite, 'strict')
    })
    it('throws for an unknown value', () => throwsInvalid(() => policy({ cookie: { sameSite: 'sometimes' as any } }), 'cookie.sameSite'))
  })

  describe('cookie.partitioned', () => {
    it('throws without secure', () => throwsInvalid(() => policy({ cookie: { partitioned: true } }), 'cookie.partitioned'))
  })

  describe('cookie.priority', () => {
    it('throws for an unknown value', () => throwsInvalid(() => policy({ cookie: { priority: 'urgent' as any } }), 'cookie.priority'))
  })

  describe('cookie.maxAge', () => {
    for (const maxAge of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000' as any]) {
      it(`rejects ${String(maxAge)}`, () => throwsInvalid(() => policy({ cookie: { maxAge } }), 'cookie.maxAge'))
    }

    it('caps the lifetime at 400 days', () => {
      assert.equal(policy({ cookie: { maxAge: MAX_COOKIE_LIFETIME * 2 } }).cookieFor(request).maxAge, MAX_COOKIE_LIFETIME)
    })

    it('becomes the default idle timeout', () => {
      assert.equal(policy({ cookie: { maxAge: 10 * MINUTE } }).idleTimeout, 10 * MINUTE)
    })
  })

  describe('cookie.expires', () => {
    it('is refused in favour of maxAge', () => throwsInvalid(() => policy({ cookie: { expires: new Date(Date.now() + MINUTE) } }), 'cookie.expires'))
  })

  describe('cookie as a function', () => {
    it('is resolved and validated per request', () => {
      const p = policy({ cookie: (req: any) => ({ path: req.url }) })
      assert.equal(p.staticCookie, undefined)
      assert.equal(p.cookieFor({ url: '/a' } as IncomingMessage).path, '/a')
      throwsInvalid(() => p.cookieFor({ url: '/a;b' } as IncomingMessage), 'cookie.path')
    })
  })

  describe('timeouts', () => {
    for (const option of ['idleTimeout', 'absoluteTimeout', 'storeTimeout', 'maxSessionBytes'] as const) {
      for (const value of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        it(`rejects ${option}: ${value}`, () => throwsInvalid(() => policy({ [option]: value }), option))
      }
    }

    it('rejects a storeTimeout too long for a timer (Node would fire it at once)', () => {
      throwsInvalid(() => policy({ storeTimeout: 2 ** 31 }), 'storeTimeout')
      throwsInvalid(() => policy({ storeTimeout: Number.MAX_SAFE_INTEGER }), 'storeTimeout')
      assert.equal(policy({ storeTimeout: 2 ** 31 - 1 }).storeTimeout, 2 ** 31 - 1)
    })
    it('rejects an absoluteTimeout shorter than idleTimeout', () => throwsInvalid(() => policy({ idleTimeout: 10 * MINUTE, absoluteTimeout: 5 * MINUTE }), 'absoluteTimeout'))
    it('rejects a touchAfter not shorter than idleTimeout', () => throwsInvalid(() => policy({ idleTimeout: MINUTE, touchAfter: MINUTE }), 'touchAfter'))
    it('accepts touchAfter: 0 (slide on every request)', () => assert.equal(policy({ touchAfter: 0 }).touchAfter, 0))
    it('makes touchAfter 0 when resave is true', () => assert.equal(policy({ resave: true }).touchAfter, 0))
    it('defaults touchAfter to a tenth of the idle window', () => assert.equal(policy({ idleTimeout: 10 * MINUTE }).touchAfter, MINUTE))
    it('stretches the default absoluteTimeout to a longer idleTimeout', () => {
      assert.equal(policy({ idleTimeout: 24 * 60 * MINUTE }).absoluteTimeout, 24 * 60 * MINUTE)
    })
  })

  describe('when session() is constructed', () => {
    const cases: Array<[string, Partial<SessionOptions>, string]> = [
      ['a name with ";"', { name: 'a;b' }, 'name'],
      ['a name with CR/LF', { name: 'sid\r\nX-Injected: 1' }, 'name'],
      ['a name with a space', { name: 's id' }, 'name'],
      ['a path with ";"', { cookie: { path: '/;Domain=evil.example' } }, 'cookie.path'],
      ['a path with CR/LF', { cookie: { path: '/\r\nX-Injected: 1' } }, 'cookie.path'],
      ['a domain with a space', { cookie: { domain: 'example.com x' } }, 'cookie.domain'],
      ['__Host- with a path', { name: '__Host-sid', cookie: { secure: true, path: '/app' } }, 'cookie'],
      ['__Host- with a domain', { name: '__Host-sid', cookie: { secure: true, domain: 'example.com' } }, 'cookie'],
      ["sameSite 'none' without secure", { cookie: { sameSite: 'none' } }, 'cookie.sameSite'],
    ]
    for (const [what, options, option] of cases) {
      it(`throws for ${what}`, () => throwsInvalid(() => session({ secret: SECRET, ...options }), option))
    }
  })

  describe('other options', () => {
    it('rejects a non-object', () => throwsInvalid(() => resolvePolicy(null as any), 'options'))
    it('rejects a genid that is not a function', () => throwsInvalid(() => policy({ genid: 'x' as any }), 'genid'))
    it("rejects an unset other than 'destroy' or 'keep'", () => throwsInvalid(() => policy({ unset: 'drop' as any }), 'unset'))
    it('rejects a readOnly that is not a function', () => throwsInvalid(() => policy({ readOnly: true as any }), 'readOnly'))
    it("reads unset: 'destroy'", () => assert.equal(policy({ unset: 'destroy' }).unsetDestroy, true))
  })
})
