import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidSessionStateError } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, recordEvents, serve, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function loginApp(host: Host) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store })
  const events = recordEvents(middleware, ['rotated'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/seed', (req: Req, res: Res) => {
      req.session.cart = ['apple']
      req.session.csrf = 'anonymous-token'
      req.session.theme = 'dark'
      res.send('seeded')
    })
    app.get(
      '/login/:user',
      handle(async (req, res) => {
        const before = req.sessionID
        await req.session.login(req.params.user, { keep: ['cart', 'theme', 'missing'] })
        if (req.query.name) req.session.name = req.query.name
        res.json({ before, after: req.sessionID })
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ ...req.session, cookie: undefined }))
    app.get(
      '/devices',
      handle(async (req, res) => {
        const sessions = await middleware.listUserSessions(req.query.user)
        res.json(sessions.map((s) => s.handle).sort())
      }),
    )
    app.get(
      '/revoke-others',
      handle(async (req, res) => {
        const revoked = await middleware.revokeUserSessions(req.query.user, { exceptId: req.sessionID })
        res.json({ revoked })
      }),
    )
    app.get(
      '/bad-login',
      handle(async (req, res) => {
        await req.session.login('')
        res.send('unreachable')
      }),
    )
  })
  return { server, spy, events, middleware }
}

describe('login()', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when called with keep', () => {
        it('gives a new id, carries the kept keys, drops the others and deletes the old record', async () => {
          const { server, spy, events } = await loginApp(host)
          const seed = await server.request('/seed')
          const reply = await server.request('/login/u1?name=Ann', { cookie: cookiePair(seed) })
          const { before, after } = JSON.parse(reply.body)
          assert.equal(before, idOf(seed))
          assert.notEqual(after, before)
          assert.equal(idOf(reply), after)
          assert.equal(await peek(spy.store, before), null)
          const stored = await peek(spy.store, after)
          assert.deepEqual({ ...stored?.data }, { cart: ['apple'], theme: 'dark', name: 'Ann' })
          assert.equal(stored?.userId, 'u1')
          assert.equal(typeof stored?.meta?.authTime, 'number')
          assert.deepEqual(
            events.rotated.map((e) => e.reason),
            ['login'],
          )
          const me = JSON.parse((await server.request('/me', { cookie: cookiePair(reply) })).body)
          assert.deepEqual(me, { cart: ['apple'], theme: 'dark', name: 'Ann' })
        })
      })

      describe('when nothing else is written in the request', () => {
        it('still stores the signed-in session and sends its cookie', async () => {
          const { server, spy, middleware } = await loginApp(host)
          const reply = await server.request('/login/u1')
          const { after } = JSON.parse(reply.body)
          assert.equal(idOf(reply), after)
          assert.equal((await peek(spy.store, after))?.userId, 'u1')
          assert.deepEqual(
            (await middleware.listUserSessions('u1')).map((s) => s.handle),
            [storeKeyOf(after)],
          )
        })
      })

      describe('when the user id is empty', () => {
        it('rejects with ERR_TESSERA_INVALID_SESSION_STATE', async () => {
          const { server } = await loginApp(host)
          const reply = await server.request('/bad-login')
          assert.equal(reply.status, 500)
          assert.ok(server.errors[0] instanceof InvalidSessionStateError)
          assert.equal(server.errors[0].code, 'ERR_TESSERA_INVALID_SESSION_STATE')
        })
      })

      describe('listUserSessions and revokeUserSessions', () => {
        it("list a user's sessions and revoke all but the current one", async () => {
          const { server } = await loginApp(host)
          const phone = await server.request('/login/u1?name=phone')
          const laptop = await server.request('/login/u1?name=laptop')
          const other = await server.request('/login/u2?name=other')
          // handles, not ids: the store key of each (R5)
          const handles = [storeKeyOf(idOf(phone)), storeKeyOf(idOf(laptop))].sort()

          const listed = await server.request('/devices?user=u1', { cookie: cookiePair(laptop) })
          assert.deepEqual(JSON.parse(listed.body), handles)

          const revoke = await server.request('/revoke-others?user=u1', { cookie: cookiePair(laptop) })
          assert.deepEqual(JSON.parse(revoke.body), { revoked: 1 })
          assert.deepEqual(JSON.parse((await server.request('/devices?user=u1')).body), [storeKeyOf(idOf(laptop))])
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(phone) })).body), {})
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(laptop) })).body), { name: 'laptop' })
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(other) })).body), { name: 'other' })
        })

        it('list opaque handles (never ids) with the current one marked, its dates and its sign-in time', async () => {
          const { server, middleware } = await loginApp(host)
          const phone = await server.request('/login/u1?name=phone')
          const laptop = await server.request('/login/u1?name=laptop')
          const listed = await middleware.listUserSessions('u1', { currentId: idOf(laptop) })
          assert.equal(listed.length, 2)
          const json = JSON.stringify(listed)
          assert.ok(!json.includes(idOf(phone)) && !json.includes(idOf(laptop)), 'no session id in the listing')
          const byHandle = new Map(listed.map((s) => [s.handle, s]))
          assert.equal(byHandle.get(storeKeyOf(idOf(laptop)))?.current, true)
          assert.equal(byHandle.get(storeKeyOf(idOf(phone)))?.current, false)
          for (const s of listed) {
            assert.deepEqual(Object.keys(s).sort(), ['authTime', 'client', 'createdAt', 'current', 'expiresAt', 'handle', 'lastSeenAt'])
            assert.equal(typeof s.expiresAt, 'number')
            assert.equal(typeof s.createdAt, 'number')
            assert.equal(typeof s.authTime, 'number')
          }
          // without currentId, none is current
          assert.deepEqual(
            (await middleware.listUserSessions('u1')).map((s) => s.current),
            [false, false],
          )
        })

        it('revokeUserSession ends one session by its handle, and only when it is that user’s', async () => {
          const { server, middleware } = await loginApp(host)
          const phone = await server.request('/login/u1?name=phone')
          const laptop = await server.request('/login/u1?name=laptop')
          const other = await server.request('/login/u2?name=other')
          const phoneHandle = storeKeyOf(idOf(phone))
          const otherHandle = (await middleware.listUserSessions('u2'))[0]?.handle as string

          assert.equal(await middleware.revokeUserSession('u1', otherHandle), false, "another user's handle")
          assert.equal(await middleware.revokeUserSession('u2', phoneHandle), false, 'a handle of u1 under u2')
          assert.equal(await middleware.revokeUserSession('u1', idOf(phone)), false, 'an id is not a handle')
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(other) })).body), { name: 'other' })
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(phone) })).body), { name: 'phone' })

          assert.equal(await middleware.revokeUserSession('u1', phoneHandle), true)
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(phone) })).body), {})
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(laptop) })).body), { name: 'laptop' })
          assert.deepEqual(
            (await middleware.listUserSessions('u1')).map((s) => s.handle),
            [storeKeyOf(idOf(laptop))],
          )
          assert.equal(await middleware.revokeUserSession('u1', phoneHandle), false, 'already gone')
        })
      })
    })
  }
})
