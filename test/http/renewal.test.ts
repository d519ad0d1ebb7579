import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, type SessionOptions } from '../../src/index.ts'
import { HOSTS, OTHER_SECRET, SECRET, cleanup, cookiePair, faultStore, freezeClock, handle, holdNext, idOf, peek, recordEvents, serve, sessionCookie, sharedView, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const SECOND = 1000
const MINUTE = 60 * SECOND
/** A whole second, so cookie dates (second resolution) compare exactly. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)
const RENEW_AFTER = 10 * MINUTE
const GRACE = 10 * SECOND

async function renewalApp(host: Host, options: Partial<SessionOptions> = {}) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, renewAfter: RENEW_AFTER, idleTimeout: 30 * MINUTE, absoluteTimeout: 60 * MINUTE, ...options })
  const events = recordEvents(middleware, ['rotated', 'expired', 'rejected', 'destroyed'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(
      '/login',
      handle(async (req, res) => {
        await req.session.login('u1')
        req.session.user = 'ann'
        res.send('in')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, note: req.session.note ?? null }))
    app.get('/note', (req: Req, res: Res) => {
      req.session.note = String(req.query.text)
      res.json({ user: req.session.user ?? null })
    })
    app.get(
      '/save',
      handle(async (req, res) => {
        req.session.note = String(req.query.text)
        await req.session.save()
        res.send('saved')
      }),
    )
    app.get('/plain', (_req: Req, res: Res) => res.send('no session access'))
    app.get(
      '/logout',
      handle(async (req, res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
    app.get(
      '/relogin',
      handle(async (req, res) => {
        await req.session.login('u1')
        req.session.user = 'ann again'
        res.send('in again')
      }),
    )
    app.get(
      '/regenerate',
      handle(async (req, res) => {
        await req.session.regenerate()
        req.session.fresh = true
        res.send('regenerated')
      }),
    )
    app.get(
      '/reload',
      handle(async (req, res) => {
        req.session.user = 'changed, then reloaded'
        await req.session.reload()
        res.json({ user: req.session.user ?? null })
      }),
    )
    app.get('/unset', (req: Req, res: Res) => {
      req.session = null
      res.send('unset')
    })
  })
  return { server, spy, events, middleware }
}

async function loggedIn(t: TestContext, host: Host, options: Partial<SessionOptions> = {}) {
  const clock = freezeClock(t, T0)
  const app = await renewalApp(host, options)
  const login = await app.server.request('/login')
  const id = idOf(login)
  const before = await peek(app.spy.store, id)
  assert.ok(before, 'the session is stored')
  return { ...app, clock, login, id, cookie: cookiePair(login), before }
}

describe('renewal (renewAfter)', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the id is younger than renewAfter', () => {
        it('keeps the id and sends no cookie', async (t) => {
          const { server, clock, cookie, events } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER - SECOND)
          const me = await server.request('/me', { cookie })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', note: null })
          assert.deepEqual(me.cookies, [])
          assert.deepEqual(events.rotated, [])
        })
      })

      describe('when the id is older than renewAfter', () => {
        it('gives the session a new id on its next request, keeping its data, owner and absolute deadline', async (t) => {
          const { server, spy, clock, cookie, id, before, events, middleware } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const me = await server.request('/me', { cookie })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', note: null })
          const newId = idOf(me)
          assert.notEqual(newId, id)
          assert.match(newId, /^[A-Za-z0-9_-]{43}$/, 'a renewed id is 256 random bits, signed-in or not')
          assert.deepEqual(
            events.rotated.map((e) => e.reason),
            ['renewal'],
          )

          const renewed = await peek(spy.store, newId)
          assert.ok(renewed)
          assert.deepEqual({ ...renewed.data }, { user: 'ann' })
          assert.equal(renewed.userId, 'u1')
          assert.equal(renewed.meta?.absoluteExpiresAt, before.meta?.absoluteExpiresAt, 'the absolute deadline is unchanged')
          assert.equal(renewed.meta?.createdAt, before.meta?.createdAt)
          assert.equal(renewed.meta?.authTime, before.meta?.authTime)
          assert.equal(renewed.meta?.renewedAt, clock.now())

          // the old record is retired, readable for the grace period only
          const retired = await peek(spy.store, id)
          assert.equal(retired?.meta?.retiredAt, clock.now())
          assert.equal(retired?.expiresAt, clock.now() + GRACE)

          // the user's sessions list the session once, by its new handle
          assert.deepEqual(
            (await middleware.listUserSessions('u1')).map((s) => s.handle),
            [storeKeyOf(newId)],
          )

          // the new cookie works and is not renewed again
          clock.advance(SECOND)
          const next = await server.request('/me', { cookie: cookiePair(me) })
          assert.deepEqual(JSON.parse(next.body), { user: 'ann', note: null })
          assert.deepEqual(next.cookies, [])
          assert.equal(events.rotated.length, 1)
        })

        it('renews again renewAfter after the last renewal, and the session still ends at its original absolute deadline', async (t) => {
          const { server, clock, cookie: first, events } = await loggedIn(t, host)
          let cookie = first
          for (const minute of [15, 30, 45]) {
            clock.advance(15 * MINUTE)
            const me = await server.request('/me', { cookie })
            assert.deepEqual(JSON.parse(me.body), { user: 'ann', note: null }, `at ${minute} minutes`)
            cookie = cookiePair(me)
          }
          assert.deepEqual(
            events.rotated.map((e) => e.reason),
            ['renewal', 'renewal', 'renewal'],
          )
          // a renewal restarting the absolute deadline would keep it alive until 45 + 30 minutes
          clock.advance(15 * MINUTE - SECOND)
          const before = await server.request('/me', { cookie })
          assert.deepEqual(JSON.parse(before.body), { user: 'ann', note: null }, 'a second before the deadline')
          cookie = cookiePair(before)
          clock.advance(SECOND)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null }, 'at the absolute deadline of the login')
        })

        it('renews on a request that does not touch req.session', async (t) => {
          const { server, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const plain = await server.request('/plain', { cookie })
          assert.equal(plain.body, 'no session access')
          assert.notEqual(idOf(plain), id)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(plain) })).body), { user: 'ann', note: null })
        })

        it('keeps a change the renewing request makes', async (t) => {
          const { server, spy, clock, cookie } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const note = await server.request('/note?text=hello', { cookie })
          assert.deepEqual({ ...(await peek(spy.store, idOf(note)))?.data }, { user: 'ann', note: 'hello' })
        })

        it('reload() reads the stored copy, which the new id then carries', async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const reload = await server.request('/reload', { cookie })
          assert.equal(reload.status, 200)
          assert.deepEqual(JSON.parse(reload.body), { user: 'ann' })
          assert.notEqual(idOf(reload), id)
          assert.deepEqual({ ...(await peek(spy.store, idOf(reload)))?.data }, { user: 'ann' })
        })

        it('does not renew a read-only request', async (t) => {
          const { server, clock, cookie, events } = await loggedIn(t, host, { readOnly: (req) => req.url === '/me' })
          clock.advance(RENEW_AFTER)
          const me = await server.request('/me', { cookie })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', note: null })
          assert.deepEqual(me.cookies, [])
          assert.deepEqual(events.rotated, [])
        })
      })

      describe('when the old cookie is used during the renewal grace', () => {
        it('leads to the session under its new id: its writes go there, and the response sends the new id', async (t) => {
          const { server, spy, clock, cookie, id, events } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const renewal = await server.request('/me', { cookie })
          const newId = idOf(renewal)
          spy.reset()

          clock.advance(GRACE - SECOND)
          const late = await server.request('/note?text=kept', { cookie })
          assert.equal(late.status, 200)
          assert.deepEqual(JSON.parse(late.body), { user: 'ann' }, 'the request in flight still reads the session')
          assert.equal(idOf(late), newId, 'the same new id, not a second renewal')
          assert.deepEqual(
            spy.calls.map((c) => c.method),
            ['get', 'get', 'update'],
            'the old record, then the new one, written',
          )
          assert.deepEqual({ ...(await peek(spy.store, id))?.data }, { user: 'ann' }, 'the retired record is not written')
          assert.deepEqual({ ...(await peek(spy.store, newId))?.data }, { user: 'ann', note: 'kept' })
          assert.equal(events.rotated.length, 1, 'a retired id is not renewed again')
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(renewal) })).body), { user: 'ann', note: 'kept' })
        })

        it('an explicit save() with the old cookie writes to the new id, and does not extend the grace', async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const renewal = await server.request('/me', { cookie })
          clock.advance(SECOND)
          const saved = await server.request('/save?text=saved', { cookie })
          assert.equal(saved.status, 200)
          assert.equal(idOf(saved), idOf(renewal))
          assert.deepEqual({ ...(await peek(spy.store, id))?.data }, { user: 'ann' })
          assert.deepEqual({ ...(await peek(spy.store, idOf(renewal)))?.data }, { user: 'ann', note: 'saved' })
          clock.advance(GRACE)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null }, 'and the grace did not move')
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(renewal) })).body), { user: 'ann', note: 'saved' })
        })

        it('leads nowhere once the new id was logged out, and writes nothing', async (t) => {
          const { server, spy, clock, cookie, id, events } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const renewal = await server.request('/me', { cookie })
          assert.equal((await server.request('/logout', { cookie: cookiePair(renewal) })).body, 'out')
          spy.reset()
          const late = await server.request('/me', { cookie })
          assert.deepEqual(JSON.parse(late.body), { user: null, note: null })
          assert.deepEqual(late.cookies, [])
          assert.deepEqual(
            spy.calls.map((c) => c.method),
            ['get', 'get'],
            'the old record, then its successor, gone: nothing written',
          )
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['unknown'],
          )
          clock.advance(GRACE)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
          assert.equal(await peek(spy.store, id), null, 'past the grace the retired record is deleted')
          assert.equal(await spy.store.length(), 0)
        })
      })

      describe('when the old cookie is used after the renewal grace', () => {
        it('gives no session', async (t) => {
          const { server, clock, cookie } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const renewal = await server.request('/me', { cookie })
          clock.advance(GRACE)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(renewal) })).body), { user: 'ann', note: null })
        })

        it('gives no session even when the old cookie was used during the grace (a read does not extend the grace)', async (t) => {
          const { server, clock, cookie } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          await server.request('/me', { cookie })
          clock.advance(GRACE / 2)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: 'ann', note: null }, 'within the grace')
          clock.advance(GRACE / 2)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null }, 'past the grace')
        })
      })

      describe('when several requests present the old id at once', () => {
        it('in one app: they all get the same new id, and the rotation is done once', async (t) => {
          const { server, spy, clock, cookie, id, events, middleware } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          spy.reset()
          const replies = await Promise.all(Array.from({ length: 4 }, () => server.request('/me', { cookie })))
          for (const reply of replies) assert.deepEqual(JSON.parse(reply.body), { user: 'ann', note: null })
          const ids = new Set(replies.map((reply) => idOf(reply)))
          assert.equal(ids.size, 1, 'one new id')
          const [newId] = ids as Set<string>
          assert.notEqual(newId, id)
          assert.equal(spy.count('create'), 1, 'the requests shared one rotation')
          assert.equal(events.rotated.length, 1)
          assert.deepEqual(
            (await middleware.listUserSessions('u1')).map((s) => s.handle),
            [storeKeyOf(newId as string)],
          )
        })

        it('in two apps on one store (two processes): a request that read the old record before the renewal adopts the new id', async (t) => {
          const first = await loggedIn(t, host)
          const view = sharedView(first.spy.store)
          const second = await renewalApp(host, { store: view })
          first.clock.advance(RENEW_AFTER)
          const create = holdNext(view, 'create')
          const late = second.server.request('/note?text=late', { cookie: first.cookie })
          // the late request found the old record live and is about to store the successor
          await create.arrived
          const early = await first.server.request('/me', { cookie: first.cookie })
          create.open()
          const reply = await late
          assert.equal(reply.status, 200)
          assert.deepEqual(JSON.parse(reply.body), { user: 'ann' })
          const newId = idOf(early)
          assert.equal(idOf(reply), newId, 'the same new id in both apps')
          assert.deepEqual({ ...(await peek(first.spy.store, newId))?.data }, { user: 'ann', note: 'late' }, "the late request's change is kept")
          assert.deepEqual(
            (await first.middleware.listUserSessions('u1')).map((s) => s.handle),
            [storeKeyOf(newId)],
            'one session',
          )
          assert.equal(first.events.rotated.length + second.events.rotated.length, 1, 'one rotation')
        })

        it('in two apps: a request that had not stored its successor before a logout gets no session, and the old id ends', async (t) => {
          const first = await loggedIn(t, host)
          const view = sharedView(first.spy.store)
          const second = await renewalApp(host, { store: view })
          first.clock.advance(RENEW_AFTER)
          const create = holdNext(view, 'create')
          const late = second.server.request('/me', { cookie: first.cookie })
          await create.arrived
          const early = await first.server.request('/me', { cookie: first.cookie })
          assert.equal((await first.server.request('/logout', { cookie: cookiePair(early) })).body, 'out')
          create.open()
          const reply = await late
          assert.deepEqual(JSON.parse(reply.body), { user: null, note: null }, 'the logout is not undone')
          assert.deepEqual(reply.cookies, [])
          for (const cookie of [first.cookie, cookiePair(early)]) {
            for (const app of [first, second]) assert.deepEqual(JSON.parse((await app.server.request('/me', { cookie })).body), { user: null, note: null })
          }
          assert.equal(await first.spy.store.length(), 0, 'nothing left, nothing re-created')
        })
      })

      describe('when the renewing request fails after storing the new id (the old record could not be retired)', () => {
        it('the next request with the old cookie takes the same new id and retires the old record', async (t) => {
          const clock = freezeClock(t, T0)
          const fault = faultStore()
          const { server } = await renewalApp(host, { store: fault.store })
          const login = await server.request('/login')
          const id = idOf(login)
          clock.advance(RENEW_AFTER)
          fault.faults.update = 'reject'
          const failed = await server.request('/me', { cookie: cookiePair(login) })
          assert.equal(failed.status, 503)
          assert.deepEqual(failed.cookies, [])
          assert.equal((await peek(fault.inner, id))?.meta?.retiredAt, undefined, 'the old record is still live')
          fault.faults.update = undefined
          const retry = await server.request('/me', { cookie: cookiePair(login) })
          assert.deepEqual(JSON.parse(retry.body), { user: 'ann', note: null })
          const newId = idOf(retry)
          assert.notEqual(newId, id)
          assert.deepEqual({ ...(await peek(fault.inner, newId))?.data }, { user: 'ann' })
          assert.equal((await peek(fault.inner, id))?.meta?.retiredAt, clock.now(), 'retired now')
          const live = (await fault.inner.listByUser('u1')).filter((info) => info.meta?.retiredAt === undefined)
          assert.deepEqual(
            live.map((info) => info.id),
            [storeKeyOf(newId)],
            'the record the failed request stored, not a second one',
          )
        })
      })

      describe('the new id', () => {
        it('depends on the first secret: an app signing with another one derives another id from the same old id', async (t) => {
          const clock = freezeClock(t, T0)
          const one = await renewalApp(host, { secret: [SECRET, OTHER_SECRET] })
          const login = await one.server.request('/login')
          const key = storeKeyOf(idOf(login))
          const record = await peek(one.spy.store, idOf(login))
          assert.ok(record)
          // the same session in a second store, served by an app whose first secret is the other one
          const two = await renewalApp(host, { secret: [OTHER_SECRET, SECRET] })
          assert.equal(await two.spy.store.create(key, record), 'ok')
          clock.advance(RENEW_AFTER)
          const first = await one.server.request('/me', { cookie: cookiePair(login) })
          const second = await two.server.request('/me', { cookie: cookiePair(login) })
          assert.deepEqual(JSON.parse(second.body), { user: 'ann', note: null })
          assert.notEqual(idOf(first), idOf(second))
          assert.notEqual(idOf(second), idOf(login))
        })
      })

      describe('when renewalGrace is 0', () => {
        it('deletes the old record at once', async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host, { renewalGrace: 0 })
          clock.advance(RENEW_AFTER)
          const renewal = await server.request('/me', { cookie })
          assert.notEqual(idOf(renewal), id)
          assert.equal(await peek(spy.store, id), null)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
        })
      })

      describe('when the options are invalid', () => {
        it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
          const invalid: Array<Partial<SessionOptions>> = [{ renewAfter: 0 }, { renewAfter: -1 }, { renewAfter: Number.NaN }, { renewAfter: '600000' as any }, { renewalGrace: -1 }, { renewalGrace: Infinity }]
          for (const options of invalid) {
            const [option] = Object.keys(options)
            assert.throws(
              () => session({ secret: SECRET, ...options }),
              (err: any) => err instanceof InvalidOptionError && err.option === option,
              JSON.stringify(options),
            )
          }
          assert.doesNotThrow(() => session({ secret: SECRET, renewAfter: 1, renewalGrace: 0 }))
        })
      })

      describe('when the renewing request also ends or replaces the session', () => {
        it('destroy(): neither the old id nor a new one keeps the session', async (t) => {
          const { server, spy, clock, cookie, id, events } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const logout = await server.request('/logout', { cookie })
          assert.equal(logout.body, 'out')
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
          assert.equal(await peek(spy.store, id), null, 'the old record is deleted')
          assert.equal(await spy.store.length(), 0)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
          assert.deepEqual(
            events.destroyed.map((e) => e.reason),
            ['destroy'],
          )
        })

        it('login(): the old record is deleted, only the new signed-in session remains', async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const relogin = await server.request('/relogin', { cookie })
          assert.equal(await peek(spy.store, id), null, 'the old record is deleted')
          assert.equal(await spy.store.length(), 1)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(relogin) })).body), { user: 'ann again', note: null })
        })

        it('regenerate(): the old record is deleted', async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const regenerated = await server.request('/regenerate', { cookie })
          assert.equal(await peek(spy.store, id), null, 'the old record is deleted')
          assert.deepEqual({ ...(await peek(spy.store, idOf(regenerated)))?.data }, { fresh: true })
          assert.equal(await spy.store.length(), 1)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
        })

        it("req.session = null with unset: 'destroy': the old record is deleted", async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host, { unset: 'destroy' })
          clock.advance(RENEW_AFTER)
          const unset = await server.request('/unset', { cookie })
          assert.equal(unset.body, 'unset')
          assert.equal(sessionCookie(unset)?.attributes['max-age'], '0')
          assert.equal(await peek(spy.store, id), null, 'the old record is deleted')
          assert.equal(await spy.store.length(), 0)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, note: null })
        })

        it("req.session = null with unset: 'keep': the session stays, under its new id, whose cookie the response sends", async (t) => {
          const { server, spy, clock, cookie, id } = await loggedIn(t, host)
          clock.advance(RENEW_AFTER)
          const unset = await server.request('/unset', { cookie })
          const newId = idOf(unset)
          assert.notEqual(newId, id)
          assert.deepEqual({ ...(await peek(spy.store, newId))?.data }, { user: 'ann' })
          clock.advance(GRACE)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(unset) })).body).user, 'ann')
        })
      })
    })
  }
})
