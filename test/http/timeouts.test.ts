import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import session, { type MemoryStore, type SessionOptions, type SessionStore } from '../../src/index.ts'
import { kKeepsExpiry } from '../../src/stores/contract.ts'
import { HOSTS, SECRET, cleanup, cookiePair, faultStore, freezeClock, idOf, laggingStore, memoryStore, peek, recordEvents, serve, sessionCookie, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const SECOND = 1000
/** A whole second, so cookie dates (second resolution) compare exactly. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

async function timedApp(host: Host, store: SessionStore, options: Partial<SessionOptions>) {
  const middleware = session({ secret: SECRET, store, ...options })
  const events = recordEvents(middleware, ['expired', 'rejected'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  return { server, events }
}

async function loggedIn(t: TestContext, host: Host, store: SessionStore, options: Partial<SessionOptions>) {
  const clock = freezeClock(t, T0)
  const app = await timedApp(host, store, options)
  const login = await app.server.request('/login')
  return { ...app, clock, login, cookie: cookiePair(login), id: idOf(login) }
}

describe('timeouts', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('idleTimeout', () => {
        describe('when the client keeps its cookie past the idle window', () => {
          it('gives no session on the next request', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await loggedIn(t, host, store, { idleTimeout: 60 * SECOND })
            clock.advance(60 * SECOND + 1)
            const me = await server.request('/me', { cookie })
            assert.equal(me.body, 'anonymous')
            assert.deepEqual(me.cookies, [])
            assert.equal(await peek(store, id), null)
          })

          it("enforces it even when the store still holds the record, with an 'expired' event of kind 'idle'", async (t) => {
            const inner = memoryStore()
            const { server, clock, cookie, id, events } = await loggedIn(t, host, laggingStore(3600 * SECOND, inner), { idleTimeout: 60 * SECOND })
            clock.advance(60 * SECOND + 1)
            assert.ok(await peek(inner, id), 'the store still holds the record')
            const me = await server.request('/me', { cookie })
            assert.equal(me.body, 'anonymous')
            assert.deepEqual(
              events.expired.map((e) => e.kind),
              ['idle'],
            )
            assert.equal(events.expired[0]?.idHash?.includes(id), false, 'the event carries a hash, not the id')
            assert.equal(await peek(inner, id), null, 'and the record was deleted')
          })

          it('is enforced with the idle window in force now, when it was shortened since the session was written', async (t) => {
            const inner = memoryStore()
            const { clock, cookie } = await loggedIn(t, host, inner, { idleTimeout: 60 * SECOND })
            const { server, events } = await timedApp(host, inner, { idleTimeout: 10 * SECOND })
            clock.advance(11 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
            assert.deepEqual(
              events.expired.map((e) => e.kind),
              ['idle'],
            )
          })
        })

        describe('when the client comes back within the idle window each time', () => {
          it('keeps the session alive past the first window (sliding)', async (t) => {
            const { server, clock, cookie } = await loggedIn(t, host, memoryStore(), { idleTimeout: 60 * SECOND })
            for (let i = 1; i <= 3; i++) {
              clock.advance(50 * SECOND)
              assert.equal((await server.request('/me', { cookie })).body, 'ann', `after ${i * 50} s`)
            }
          })
        })
      })

      describe('absoluteTimeout', () => {
        describe('when the session is used all along', () => {
          it('ends it at the absolute deadline anyway', async (t) => {
            const { server, clock, cookie } = await loggedIn(t, host, memoryStore(), { idleTimeout: 60 * SECOND, absoluteTimeout: 200 * SECOND })
            for (let i = 1; i <= 3; i++) {
              clock.advance(50 * SECOND)
              assert.equal((await server.request('/me', { cookie })).body, 'ann', `after ${i * 50} s`)
            }
            clock.advance(50 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous', 'after 200 s')
          })

          it("reports it as an 'expired' event of kind 'absolute' when the store still holds the record", async (t) => {
            const inner = memoryStore()
            const { server, clock, cookie, events } = await loggedIn(t, host, laggingStore(3600 * SECOND, inner), {
              idleTimeout: 60 * SECOND,
              absoluteTimeout: 200 * SECOND,
            })
            for (let i = 1; i <= 3; i++) {
              clock.advance(50 * SECOND)
              assert.equal((await server.request('/me', { cookie })).body, 'ann', `after ${i * 50} s`)
            }
            clock.advance(50 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous', 'after 200 s')
            assert.deepEqual(
              events.expired.map((e) => e.kind),
              ['absolute'],
            )
          })
        })
      })

      describe('touchAfter', () => {
        describe('when an unmodified session is read', () => {
          it('slides the expiry in the read only once touchAfter has passed, and never writes', async (t) => {
            const spy = spyOn()
            const { server, clock, cookie, id } = await loggedIn(t, host, spy.store, { idleTimeout: 60 * SECOND, touchAfter: 10 * SECOND })
            assert.equal((await peek(spy.store, id))?.expiresAt, T0 + 60 * SECOND)

            clock.advance(5 * SECOND)
            await server.request('/me', { cookie })
            assert.equal((await peek(spy.store, id))?.expiresAt, T0 + 60 * SECOND, 'within touchAfter: not slid')

            clock.advance(6 * SECOND)
            await server.request('/me', { cookie })
            assert.equal((await peek(spy.store, id))?.expiresAt, T0 + 71 * SECOND, 'past touchAfter: slid to now + idle')

            clock.advance(1 * SECOND)
            await server.request('/me', { cookie })
            assert.equal((await peek(spy.store, id))?.expiresAt, T0 + 71 * SECOND, 'throttled again')

            assert.equal(spy.count('get'), 3)
            assert.equal(spy.count('touch'), 0)
            assert.equal(spy.count('update'), 0)
          })
        })

        describe('when a session is changed within touchAfter', () => {
          async function counterApp(t: TestContext, store: SessionStore) {
            const clock = freezeClock(t, T0)
            const server = await serve(host, (app) => {
              app.use(session({ secret: SECRET, store, idleTimeout: 60 * SECOND, touchAfter: 10 * SECOND, cookie: { maxAge: 60 * SECOND } }))
              app.get('/login', (req: Req, res: Res) => {
                req.session.user = 'ann'
                res.send('in')
              })
              app.get('/count', (req: Req, res: Res) => {
                req.session.n = Number(req.session.n ?? 0) + 1
                if (req.query.touch !== undefined) req.session.touch()
                res.send(String(req.session.n))
              })
            })
            const login = await server.request('/login')
            return { server, clock, cookie: cookiePair(login), id: idOf(login) }
          }

          it('writes the change but leaves the expiry, until a write past touchAfter slides it and re-sends the cookie', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await counterApp(t, store)
            clock.advance(5 * SECOND)
            const first = await server.request('/count', { cookie })
            assert.equal(first.body, '1')
            assert.deepEqual(first.cookies, [], 'the expiry did not move: the browser keeps its cookie')
            const kept = await peek(store, id)
            assert.equal(kept?.data.n, 1)
            assert.equal(kept?.expiresAt, T0 + 60 * SECOND, 'within touchAfter: the expiry stays')

            clock.advance(6 * SECOND)
            const second = await server.request('/count', { cookie })
            assert.equal(second.body, '2')
            assert.equal((await peek(store, id))?.expiresAt, T0 + 71 * SECOND, 'past touchAfter: slid to now + idle')
            assert.equal(sessionCookie(second)?.attributes.expires, new Date(T0 + 71 * SECOND).toUTCString())
          })

          it('moves it on every write, and re-sends the cookie, with a store that does not declare it keeps expiries', async (t) => {
            const { store, inner } = faultStore()
            assert.equal(store[kKeepsExpiry], undefined)
            const { server, clock, cookie, id } = await counterApp(t, store)
            clock.advance(5 * SECOND)
            const first = await server.request('/count', { cookie })
            assert.equal(first.body, '1')
            assert.equal((await peek(inner, id))?.expiresAt, T0 + 65 * SECOND)
            assert.equal(sessionCookie(first)?.attributes.expires, new Date(T0 + 65 * SECOND).toUTCString())
          })

          it('slides it all the same when the handler also calls req.session.touch()', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await counterApp(t, store)
            clock.advance(5 * SECOND)
            const touched = await server.request('/count?touch', { cookie })
            assert.equal((await peek(store, id))?.expiresAt, T0 + 65 * SECOND)
            assert.equal(sessionCookie(touched)?.attributes.expires, new Date(T0 + 65 * SECOND).toUTCString())
          })
        })

        describe('when the handler calls req.session.touch()', () => {
          it('slides the expiry on that response even within touchAfter', async (t) => {
            const spy = spyOn()
            const middleware = session({ secret: SECRET, store: spy.store, idleTimeout: 60 * SECOND, touchAfter: 10 * SECOND })
            const clock = freezeClock(t, T0)
            const server = await serve(host, (app) => {
              app.use(middleware)
              app.get('/login', (req: Req, res: Res) => {
                req.session.user = 'ann'
                res.send('in')
              })
              app.get('/touch', (req: Req, res: Res) => {
                req.session.touch()
                res.send('touched')
              })
            })
            const login = await server.request('/login')
            clock.advance(2 * SECOND)
            await server.request('/touch', { cookie: cookiePair(login) })
            assert.equal(spy.count('touch'), 1)
            assert.equal((await peek(spy.store, idOf(login)))?.expiresAt, T0 + 62 * SECOND)
          })
        })

        describe('when resave is true', () => {
          it('slides on every request', async (t) => {
            const spy = spyOn()
            const { server, clock, cookie, id } = await loggedIn(t, host, spy.store, { idleTimeout: 60 * SECOND, resave: true })
            for (let i = 1; i <= 3; i++) {
              clock.advance(1 * SECOND)
              await server.request('/me', { cookie })
              assert.equal((await peek(spy.store, id))?.expiresAt, T0 + (60 + i) * SECOND)
            }
          })
        })
      })

      describe('req.session.cookie.maxAge', () => {
        describe('when a handler gives one session a lifetime shorter than idleTimeout', () => {
          async function shortSessionApp(t: TestContext, store: MemoryStore) {
            const clock = freezeClock(t, T0)
            const server = await serve(host, (app) => {
              app.use(session({ secret: SECRET, store, idleTimeout: 30 * 60 * SECOND }))
              app.get('/login', (req: Req, res: Res) => {
                req.session.user = 'ann'
                req.session.cookie.maxAge = 120 * SECOND
                res.send('in')
              })
              app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
            })
            const login = await server.request('/login')
            return { server, clock, login, cookie: cookiePair(login), id: idOf(login) }
          }

          it('keeps the store expiry at that lifetime after a request, and re-sends the cookie with it', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await shortSessionApp(t, store)
            clock.advance(60 * SECOND)
            const me = await server.request('/me', { cookie })
            assert.equal(me.body, 'ann')
            assert.equal((await peek(store, id))?.expiresAt, T0 + 180 * SECOND)
            assert.equal(sessionCookie(me)?.attributes.expires, new Date(T0 + 180 * SECOND).toUTCString())
          })

          it('ends the session once idle for that lifetime, not for idleTimeout', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie } = await shortSessionApp(t, store)
            clock.advance(60 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'ann')
            clock.advance(121 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
          })
        })

        describe('when a later request gives an existing session its lifetime (a metadata-only write)', () => {
          it('stores the lifetime, and the session ends once idle for it', async (t) => {
            const store = memoryStore()
            const clock = freezeClock(t, T0)
            const server = await serve(host, (app) => {
              app.use(session({ secret: SECRET, store, idleTimeout: 30 * 60 * SECOND }))
              app.get('/login', (req: Req, res: Res) => {
                req.session.user = 'ann'
                res.send('in')
              })
              app.get('/remember', (req: Req, res: Res) => {
                req.session.cookie.maxAge = 120 * SECOND
                res.send('ok')
              })
              app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
            })
            const login = await server.request('/login')
            const cookie = cookiePair(login)
            const id = idOf(login)
            await server.request('/remember', { cookie })
            assert.equal((await peek(store, id))?.meta?.cookieMaxAge, 120 * SECOND)
            clock.advance(121 * SECOND)
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
          })
        })
      })

      describe('cookie.maxAge', () => {
        describe('when set (a persistent cookie)', () => {
          it('sends Expires equal to the server-side expiry, and Max-Age', async (t) => {
            const store = memoryStore()
            const { login, id } = await loggedIn(t, host, store, { cookie: { maxAge: 60 * SECOND } })
            const cookie = sessionCookie(login)
            const record = await peek(store, id)
            assert.equal(record?.expiresAt, T0 + 60 * SECOND)
            assert.equal(cookie?.attributes.expires, new Date(T0 + 60 * SECOND).toUTCString())
            assert.equal(cookie?.attributes['max-age'], '60')
          })

          it('re-sends the cookie with the new expiry when the session slides', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await loggedIn(t, host, store, { cookie: { maxAge: 60 * SECOND } })
            clock.advance(30 * SECOND)
            const me = await server.request('/me', { cookie })
            assert.equal(me.body, 'ann')
            const resent = sessionCookie(me)
            assert.equal((await peek(store, id))?.expiresAt, T0 + 90 * SECOND)
            assert.equal(resent?.attributes.expires, new Date(T0 + 90 * SECOND).toUTCString())
            assert.equal(resent?.attributes['max-age'], '60')
          })

          it('never sends an Expires past the absolute deadline', async (t) => {
            const store = memoryStore()
            const { server, clock, cookie, id } = await loggedIn(t, host, store, { cookie: { maxAge: 60 * SECOND }, absoluteTimeout: 100 * SECOND })
            clock.advance(50 * SECOND)
            const me = await server.request('/me', { cookie })
            assert.equal((await peek(store, id))?.expiresAt, T0 + 100 * SECOND)
            assert.equal(sessionCookie(me)?.attributes.expires, new Date(T0 + 100 * SECOND).toUTCString())
            assert.equal(sessionCookie(me)?.attributes['max-age'], '50')
          })
        })
      })
    })
  }
})
