import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, recordEvents, serve, sessionCookie, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function regenerateApp(host: Host) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store })
  const events = recordEvents(middleware, ['rotated'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/seed', (req: Req, res: Res) => {
      req.session.csrf = 'token'
      req.session.cart = ['apple']
      res.send('seeded')
    })
    app.get(
      '/regenerate',
      handle(async (req, res) => {
        const oldId = req.sessionID
        await req.session.regenerate()
        // R12: the old record is gone before the response is sent
        const oldRecord = await peek(spy.store, oldId)
        const keys = Object.keys(req.session).filter((k) => k !== 'cookie')
        if (req.query.write) req.session.user = 'ann'
        res.json({ oldId, newId: req.sessionID, oldRecordGone: oldRecord === null, keys })
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null }))
  })
  return { server, spy, events }
}

describe('regenerate()', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the session is stored', () => {
        it('deletes the old record before the response, gives a new empty session and a cookie for it', async () => {
          const { server, spy, events } = await regenerateApp(host)
          const seed = await server.request('/seed')
          const reply = await server.request('/regenerate?write=1', { cookie: cookiePair(seed) })
          const body = JSON.parse(reply.body)
          assert.equal(body.oldId, idOf(seed))
          assert.notEqual(body.newId, body.oldId)
          assert.equal(body.oldRecordGone, true)
          assert.deepEqual(body.keys, [])
          assert.equal(idOf(reply), body.newId, 'the cookie now carries the new id')
          assert.deepEqual({ ...(await peek(spy.store, body.newId))?.data }, { user: 'ann' })
          assert.equal(events.rotated.length, 1)
          assert.equal(events.rotated[0].reason, 'regenerate')

          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(reply) })).body), { user: 'ann', cart: null })
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(seed) })).body), { user: null, cart: null })
        })

        it('clears the cookie of the deleted session when the new one stays empty (and so is not stored)', async () => {
          const { server, spy } = await regenerateApp(host)
          const seed = await server.request('/seed')
          spy.reset()
          const reply = await server.request('/regenerate', { cookie: cookiePair(seed) })
          assert.equal(await peek(spy.store, idOf(seed)), null)
          assert.equal(spy.count('create'), 0, 'an empty session is not stored (lazy)')
          const cookie = sessionCookie(reply)
          assert.equal(cookie?.value, '', `a clearing Set-Cookie in ${JSON.stringify(reply.cookies)}`)
          assert.equal(cookie?.attributes['max-age'], '0')
        })
      })

      describe('when the session is new (anonymous client)', () => {
        it('calls no destroy and gives a fresh id', async () => {
          const { server, spy } = await regenerateApp(host)
          const reply = await server.request('/regenerate?write=1')
          const body = JSON.parse(reply.body)
          assert.notEqual(body.newId, body.oldId)
          assert.equal(spy.count('destroy'), 0)
          assert.equal(idOf(reply), body.newId)
        })
      })
    })
  }
})
