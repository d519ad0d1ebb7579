import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, delay, gate, handle, idOf, peek, recordEvents, serve, sessionCookie, spyOn, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

describe('concurrent requests on one session', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when 50 overlapping requests each set their own key', () => {
        it('keeps all 50 keys', async () => {
          const spy = spyOn()
          let inFlight = 0
          let mostInFlight = 0
          const server = await serve(host, (app) => {
            app.use(session({ secret: SECRET, store: spy.store }))
            app.get('/start', (req: Req, res: Res) => {
              req.session.started = true
              res.send('started')
            })
            app.get(
              '/set/:i',
              handle(async (req, res) => {
                inFlight++
                mostInFlight = Math.max(mostInFlight, inFlight)
                const i = Number(req.params.i)
                req.session['k' + i] = i
                // a fixed spread of small delays, so the requests overlap and finish out of order
                await delay((i * 7919) % 15)
                inFlight--
                res.send('ok')
              }),
            )
          })
          const start = await server.request('/start')
          const cookie = cookiePair(start)
          const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => server.request(`/set/${i}`, { cookie })))
          assert.ok(
            replies.every((r) => r.status === 200),
            'every request succeeded',
          )
          assert.ok(mostInFlight > 1, `the requests overlapped (at most ${mostInFlight} at once)`)
          const stored = await peek(spy.store, idOf(start))
          const expected: Record<string, unknown> = { started: true }
          for (let i = 0; i < 50; i++) expected['k' + i] = i
          assert.deepEqual({ ...stored?.data }, expected)
          assert.equal(spy.count('create'), 1)
        })
      })

      describe('when a request writes after another request destroyed the session', () => {
        it("gets 'gone' from the store, does not resurrect the session and sends no cookie for it", async () => {
          const spy = spyOn()
          const loaded = gate()
          const release = gate()
          const middleware = session({ secret: SECRET, store: spy.store })
          const events = recordEvents(middleware, ['conflict', 'destroyed'])
          const server = await serve(host, (app) => {
            app.use(middleware)
            app.get('/login', (req: Req, res: Res) => {
              req.session.user = 'ann'
              res.send('in')
            })
            app.get(
              '/slow',
              handle(async (req, res) => {
                assert.equal(req.session.user, 'ann')
                loaded.open()
                await release.promise
                req.session.note = 'written after the logout'
                res.send('slow done')
              }),
            )
            app.get(
              '/logout',
              handle(async (req, res) => {
                await req.session.destroy()
                res.send('out')
              }),
            )
            app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
          })
          const login = await server.request('/login')
          const id = idOf(login)
          const cookie = cookiePair(login)
          spy.reset()

          const slow = server.request('/slow', { cookie })
          await loaded.promise
          const logout = await server.request('/logout', { cookie })
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
          release.open()
          const late = await slow

          assert.equal(late.status, 200)
          assert.equal(late.body, 'slow done')
          assert.deepEqual(late.cookies, [], 'no Set-Cookie for the destroyed id')
          const updates = spy.of('update')
          assert.equal(updates.length, 1)
          assert.equal(updates[0]?.result, 'gone')
          assert.deepEqual(events.conflict.map((e) => e.result), ['gone'])
          assert.equal(spy.count('create'), 0, 'never recreated')
          assert.equal(await peek(spy.store, id), null)
          assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
        })
      })
    })
  }
})
