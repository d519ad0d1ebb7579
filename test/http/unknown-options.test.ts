/**
 * Unknown options of the main entry: an `InvalidOptionError` naming the option when `session()` is
 * called (or, for a cookie function, on the request it is used), with the known name it most likely
 * meant. Every known name is accepted.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, MemoryStore, type SessionOptions } from '../../src/index.ts'
import { COOKIE_OPTION_NAMES, SESSION_OPTION_NAMES } from '../../src/option-names.ts'
import { HOSTS, SECRET, cleanup, memoryStore, serve, sessionCookie } from './helpers.ts'

afterEach(cleanup)

/** Asserts `run` throws an InvalidOptionError naming `option`, suggesting `suggestion`. */
function throwsUnknown(run: () => unknown, option: string, suggestion: string | undefined): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_TESSERA_INVALID_OPTION')
    assert.equal(err.option, option)
    assert.equal(err.suggestion, suggestion)
    return true
  })
}

const options = (extra: object) => ({ secret: SECRET, store: new MemoryStore(), ...extra }) as SessionOptions

describe('unknown options', () => {
  describe('at the top level', () => {
    const rows: Array<[string, object, string | undefined]> = [
      ['a misspelt option', { saveUnitialized: true }, 'saveUninitialized'],
      ['another case', { SaveUninitialized: true }, 'saveUninitialized'],
      ['an option of another library', { ttl: 3600 }, undefined],
      ['a misspelt header option', { headers: 'X-Token' }, 'header'],
      ['a cookie attribute at the top level', { maxAge: 60_000 }, 'cookie.maxAge'],
      ['a misspelt cookie attribute at the top level', { secrue: true }, 'cookie.secure'],
      ["cookie-session's list of secrets", { keys: ['a', 'b'] }, 'secret'],
      ['a key that would shadow a prototype property', JSON.parse('{"__proto__": {}, "constructor": 1}'), undefined],
    ]
    for (const [name, extra, suggestion] of rows) {
      it(`${name}: ${Object.keys(extra)[0]} → ${suggestion ?? 'no suggestion'}`, () => throwsUnknown(() => session(options(extra)), Object.keys(extra)[0] as string, suggestion))
    }

    it('names the first unknown option, and lists the others in the message', () => {
      throwsUnknown(() => session(options({ rolling: true, foo: 1, bar: 2 })), 'foo', undefined)
      assert.throws(() => session(options({ foo: 1, bar: 2 })), /also unknown: `bar`/)
    })

    it('counts only own enumerable string keys (a symbol or an inherited key is not an option)', () => {
      const inherited = Object.assign(Object.create({ inheritedSetting: true }), { secret: SECRET })
      assert.equal(typeof session({ ...options({ [Symbol('meta')]: 1 }) }), 'function')
      assert.equal(typeof session(inherited), 'function')
    })
  })

  describe('in the cookie option', () => {
    const rows: Array<[string, object, string, string | undefined]> = [
      ['a misspelt attribute', { secrue: true }, 'cookie.secrue', 'cookie.secure'],
      ['a misspelt attribute, swapped letters', { domian: 'example.com' }, 'cookie.domian', 'cookie.domain'],
      ['a top-level option inside cookie', { idleTimeout: 60_000 }, 'cookie.idleTimeout', 'idleTimeout'],
      ['an unrelated name', { overwrite: true }, 'cookie.overwrite', undefined],
    ]
    for (const [name, cookie, option, suggestion] of rows) {
      it(`${name}: ${option} → ${suggestion ?? 'no suggestion'}`, () => throwsUnknown(() => session(options({ cookie })), option, suggestion))
    }
  })

  for (const host of HOSTS) {
    describe(host.name, () => {
      it('an app with a misspelt option does not start: the mistake is found before any request', async () => {
        await assert.rejects(
          serve(host, (app) => app.use(session(options({ saveUnitialized: true })))),
          (err: InvalidOptionError) => err.code === 'ERR_TESSERA_INVALID_OPTION' && err.suggestion === 'saveUninitialized',
        )
      })

      it('with the suggested name, the option takes effect: saveUninitialized sends a cookie for an empty session', async () => {
        const server = await serve(host, (app) => {
          app.use(session(options({ saveUninitialized: true })))
          app.get('/', (_req: any, res: any) => res.send('ok'))
        })
        assert.ok(sessionCookie(await server.request('/')))
      })

      it('a cookie function that returns an unknown attribute fails that request with the error, and sets no cookie', async () => {
        const server = await serve(host, (app) => {
          app.use(session(options({ cookie: () => ({ secrue: true }) })))
          app.get('/', (req: any, res: any) => {
            req.session.user = 'ann'
            res.send('ok')
          })
        })
        const reply = await server.request('/')
        assert.equal(reply.status, 500)
        assert.deepEqual(reply.cookies, [])
        assert.equal(server.errors[0]?.code, 'ERR_TESSERA_INVALID_OPTION')
        assert.equal(server.errors[0]?.option, 'cookie.secrue')
        assert.equal(server.errors[0]?.suggestion, 'cookie.secure')
      })

      it('every known option and cookie attribute is accepted, and the app serves sessions', async () => {
        const every: Required<SessionOptions> = {
          secret: SECRET,
          name: 'sid',
          key: 'sid',
          store: memoryStore(),
          cookie: { maxAge: 60_000, expires: null, httpOnly: true, secure: false, sameSite: 'lax', domain: undefined, path: '/', partitioned: false, priority: 'high', signed: true, encode: undefined },
          genid: () => randomBytes(32).toString('base64url'),
          resave: false,
          saveUninitialized: false,
          rolling: false,
          proxy: false,
          unset: 'keep',
          idleTimeout: 60_000,
          absoluteTimeout: 120_000,
          touchAfter: 1_000,
          storeTimeout: 5_000,
          maxSessionBytes: 65_536,
          readOnly: () => false,
          renewAfter: 60_000,
          renewalGrace: 1_000,
          binding: { action: 'log' },
          clearSiteData: false,
          onStoreError: 'fail',
          circuitBreaker: { failures: 5, cooldown: 1_000 },
          maxStoreCalls: 100,
          revokedBefore: 0,
          describeClient: () => 'a test client',
          header: 'X-Session-Token',
        }
        assert.deepEqual(Object.keys(every), [...SESSION_OPTION_NAMES])
        assert.deepEqual(Object.keys(every.cookie as object), [...COOKIE_OPTION_NAMES])
        // header mode takes every option but the cookie's own (test/http/header-mode.test.ts serves it)
        const { header, cookie, name, key, ...shared } = every
        assert.equal(typeof session({ ...shared, header }), 'function')
        const server = await serve(host, (app) => {
          app.use(session({ ...shared, cookie, name, key }))
          app.get('/', (req: any, res: any) => {
            req.session.user = 'ann'
            res.send('ok')
          })
        })
        assert.ok(sessionCookie(await server.request('/')))
      })
    })
  }
})
