/**
 * A handler choosing the cookie's lifetime through `req.session.cookie`: `maxAge = null` and
 * `expires = false` (or null) make a browser-session cookie, as in express-session, while the store
 * keeps the idle expiry; a lifetime longer than `absoluteTimeout` still ends there, with a warning in
 * development.
 */
import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, freezeClock, idOf, memoryStore, peek, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
/** A whole second, so cookie dates (second resolution) compare exactly. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

/** Ways a handler asks for a browser-session cookie. */
const FORGETS: Record<string, (req: Req) => void> = {
  'cookie.maxAge = null': (req) => (req.session.cookie.maxAge = null),
  'cookie.expires = false': (req) => (req.session.cookie.expires = false),
  'cookie.expires = null': (req) => (req.session.cookie.expires = null),
}

async function lifetimeApp(t: TestContext, host: Host, options: Partial<SessionOptions>, forget: (req: Req) => void) {
  const clock = freezeClock(t, T0)
  const store = memoryStore()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store, ...options }))
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/login-forget', (req: Req, res: Res) => {
      req.session.user = 'ann'
      forget(req)
      res.send('in')
    })
    app.get('/forget', (req: Req, res: Res) => {
      forget(req)
      res.send('ok')
    })
    app.get('/remember', (req: Req, res: Res) => {
      req.session.cookie.maxAge = 30 * 24 * HOUR
      res.send('ok')
    })
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  return { server, store, clock }
}

describe('the cookie lifetime a handler chooses', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [label, forget] of Object.entries(FORGETS)) {
        describe(`${label}, with a persistent cookie configured (cookie.maxAge)`, () => {
          it('on a loaded session: re-sends the cookie without Expires or Max-Age; the store keeps the idle expiry', async (t) => {
            const { server, store, clock } = await lifetimeApp(t, host, { cookie: { maxAge: 10 * MINUTE } }, forget)
            const login = await server.request('/login')
            assert.ok(sessionCookie(login)?.attributes.expires, 'persistent at first')
            const cookie = cookiePair(login)
            const id = idOf(login)
            clock.advance(MINUTE)
            const forgotten = await server.request('/forget', { cookie })
            const sent = sessionCookie(forgotten)
            assert.equal(`${sent?.name}=${sent?.value}`, cookie, 'the same id')
            assert.equal(sent?.attributes.expires, undefined)
            assert.equal(sent?.attributes['max-age'], undefined)
            const record = await peek(store, id)
            assert.equal(record?.meta?.cookieMaxAge, null)
            assert.equal(record?.expiresAt, T0 + MINUTE + 10 * MINUTE, 'idle expiry from the write')
            // it stays a browser-session cookie: a later slide does not make it persistent again
            clock.advance(5 * MINUTE)
            const me = await server.request('/me', { cookie })
            assert.equal(me.body, 'ann')
            assert.equal(sessionCookie(me)?.attributes.expires, undefined)
            assert.equal((await peek(store, id))?.expiresAt, T0 + 6 * MINUTE + 10 * MINUTE)
            // and the idle timeout still ends it on the server
            clock.advance(10 * MINUTE + 1)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
          })

          it('on a new session: its first cookie has no Expires or Max-Age', async (t) => {
            const { server, store } = await lifetimeApp(t, host, { cookie: { maxAge: 10 * MINUTE } }, forget)
            const login = await server.request('/login-forget')
            const sent = sessionCookie(login)
            assert.ok(sent)
            assert.equal(sent.attributes.expires, undefined)
            assert.equal(sent.attributes['max-age'], undefined)
            assert.equal((await peek(store, idOf(login)))?.expiresAt, T0 + 10 * MINUTE)
            assert.equal((await server.request('/me', { cookie: cookiePair(login) })).body, 'ann')
          })
        })
      }

      describe('cookie.maxAge = null, then a lifetime again', () => {
        it('makes the cookie persistent again, with Expires equal to the server expiry', async (t) => {
          const { server, store } = await lifetimeApp(t, host, { cookie: { maxAge: 10 * MINUTE }, absoluteTimeout: 60 * 24 * HOUR }, FORGETS['cookie.maxAge = null']!)
          const login = await server.request('/login-forget')
          const cookie = cookiePair(login)
          const remembered = await server.request('/remember', { cookie })
          const expiresAt = (await peek(store, idOf(login)))?.expiresAt
          assert.equal(expiresAt, T0 + 30 * 24 * HOUR)
          assert.equal(sessionCookie(remembered)?.attributes.expires, new Date(expiresAt as number).toUTCString())
        })
      })
    })
  }

  describe('a lifetime longer than absoluteTimeout ("remember me for 30 days")', () => {
    it('ends at absoluteTimeout, warns once per process in development (TESSERA_MAXAGE_OVER_ABSOLUTE), never in production', async (t) => {
      const host = HOSTS[0] as Host
      const warnings: Array<{ message: string; code: unknown }> = []
      t.mock.method(process, 'emitWarning', (message: string, options?: { code?: string }) => void warnings.push({ message, code: options?.code }))
      const capped = () => warnings.filter((w) => w.code === 'TESSERA_MAXAGE_OVER_ABSOLUTE')

      const previous = process.env.NODE_ENV
      process.env.NODE_ENV = 'production'
      let production
      try {
        production = await lifetimeApp(t, host, { cookie: { maxAge: 10 * MINUTE, secure: false }, name: 'sid' }, () => {})
      } finally {
        if (previous === undefined) delete process.env.NODE_ENV
        else process.env.NODE_ENV = previous
      }
      const inProduction = await production.server.request('/login')
      await production.server.request('/remember', { cookie: cookiePair(inProduction) })
      assert.deepEqual(capped(), [], 'no warning in production')

      const { server, store } = await lifetimeApp(t, host, { cookie: { maxAge: 10 * MINUTE } }, () => {})
      for (let i = 0; i < 3; i++) {
        const login = await server.request('/login')
        const remembered = await server.request('/remember', { cookie: cookiePair(login) })
        // the session and its cookie end at the absolute deadline (12 hours by default), not in 30 days
        assert.equal((await peek(store, idOf(login)))?.expiresAt, T0 + 12 * HOUR)
        assert.equal(sessionCookie(remembered)?.attributes.expires, new Date(T0 + 12 * HOUR).toUTCString())
      }
      assert.equal(capped().length, 1, 'warned once')
      assert.doesNotMatch(capped()[0]?.message ?? '', new RegExp(SECRET))
    })
  })
})
