import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, recordEvents, serve, sessionCookie, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function logoutApp(host: Host, options: Partial<SessionOptions> = {}, prefix = '') {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, ...options })
  const events = recordEvents(middleware, ['destroyed'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(`${prefix}/login`, (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get(
      `${prefix}/logout`,
      handle(async (req, res) => {
        await req.session.destroy()
        res.send(`out: ${req.session === null ? 'null' : typeof req.session}`)
      }),
    )
    app.get(`${prefix}/me`, (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  return { server, spy, events }
}

describe('destroy()', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the session is stored', () => {
        it('deletes it, leaves req.session null and clears the cookie', async () => {
          const { server, spy, events } = await logoutApp(host)
          const login = await server.request('/login')
          const id = idOf(login)
          const cookie = cookiePair(login)
          const logout = await server.request('/logout', { cookie })
          assert.equal(logout.body, 'out: null')
          const cleared = sessionCookie(logout)
          assert.equal(cleared?.value, '')
          assert.equal(cleared?.attributes['max-age'], '0')
          assert.equal(cleared?.attributes.expires, new Date(0).toUTCString())
          assert.equal(await peek(spy.store, id), null)
          assert.equal(events.destroyed.length, 1)
          assert.equal(events.destroyed[0].reason, 'destroy')
          assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
        })

        it('clears the cookie with the attributes it was set with (same Path and Domain)', async () => {
          const { server } = await logoutApp(host, { cookie: { path: '/app', domain: 'example.test', sameSite: 'strict' } }, '/app')
          const login = await server.request('/app/login')
          const logout = await server.request('/app/logout', { cookie: cookiePair(login) })
          const set = sessionCookie(login)
          const cleared = sessionCookie(logout)
          assert.ok(set && cleared)
          const { 'max-age': maxAge, expires, ...attributes } = cleared.attributes
          assert.equal(maxAge, '0')
          assert.equal(expires, new Date(0).toUTCString())
          assert.deepEqual(attributes, set.attributes)
          assert.equal(attributes.path, '/app')
          assert.equal(attributes.domain, 'example.test')
        })
      })

      describe('when the client is anonymous', () => {
        it('calls no store method and sends no cookie', async () => {
          const { server, spy, events } = await logoutApp(host)
          const logout = await server.request('/logout')
          assert.equal(logout.status, 200)
          assert.deepEqual(logout.cookies, [])
          assert.equal(spy.count(), 0)
          assert.equal(events.destroyed.length, 0)
        })
      })

      describe('when the client presents a cookie that gives no session', () => {
        it('calls no write and clears that cookie', async () => {
          const { server, spy } = await logoutApp(host)
          const logout = await server.request('/logout', { cookie: 'sid=v1.forged.value' })
          assert.equal(spy.count(), 0)
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
        })
      })
    })
  }
})
