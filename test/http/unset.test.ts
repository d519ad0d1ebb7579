import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, peek, recordEvents, serve, sessionCookie, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function unsetApp(host: Host, options: Partial<SessionOptions>) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, ...options })
  const events = recordEvents(middleware, ['destroyed'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/unset', (req: Req, res: Res) => {
      req.session.note = 'changed before the unset'
      req.session = null
      res.send(String(req.session))
    })
  })
  const login = await server.request('/login')
  spy.reset()
  return { server, spy, events, login }
}

describe('unset', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe("when 'keep' (the default)", () => {
        it('req.session = null leaves the stored session untouched and sends no cookie', async () => {
          const { server, spy, login } = await unsetApp(host, {})
          const reply = await server.request('/unset', { cookie: cookiePair(login) })
          assert.equal(reply.body, 'null')
          assert.deepEqual(reply.cookies, [])
          assert.deepEqual(
            spy.calls.map((c) => c.method),
            ['get'],
          )
          assert.deepEqual({ ...(await peek(spy.store, idOf(login)))?.data }, { user: 'ann' })
        })
      })

      describe("when 'destroy'", () => {
        it('req.session = null destroys the stored session and clears the cookie', async () => {
          const { server, spy, events, login } = await unsetApp(host, { unset: 'destroy' })
          const reply = await server.request('/unset', { cookie: cookiePair(login) })
          assert.equal(sessionCookie(reply)?.attributes['max-age'], '0')
          assert.equal(await peek(spy.store, idOf(login)), null)
          assert.deepEqual(
            events.destroyed.map((e) => e.reason),
            ['unset'],
          )
        })
      })
    })
  }
})
