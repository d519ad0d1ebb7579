import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, peek, serve, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function valuesApp(host: Host) {
  const spy = spyOn()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store: spy.store }))
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/cycle', (req: Req, res: Res) => {
      const node: any = { name: 'a' }
      node.self = node
      req.session.node = node
      res.send('ok')
    })
    app.get('/bigint', (req: Req, res: Res) => {
      req.session.big = 10n
      res.json({ ok: true })
    })
    app.get('/date', (req: Req, res: Res) => {
      req.session.at = new Date(Date.UTC(2030, 0, 1))
      res.send('ok')
    })
    app.get('/me', (req: Req, res: Res) => res.json({ ...req.session, cookie: undefined }))
  })
  return { server, spy }
}

describe('session values', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [what, path] of [
        ['a cycle', '/cycle'],
        ['a BigInt', '/bigint'],
      ]) {
        describe(`when a handler stores ${what} (JSON cannot hold it)`, () => {
          it('fails the request with the TypeError instead of leaving it hanging, and writes nothing', async () => {
            const { server, spy } = await valuesApp(host)
            const reply = await server.request(path, { timeout: 2000 })
            assert.equal(reply.status, 500)
            assert.deepEqual(reply.cookies, [])
            assert.ok(server.errors[0] instanceof TypeError)
            assert.equal(spy.count(), 0)
          })

          it('leaves a stored session as it was', async () => {
            const { server, spy } = await valuesApp(host)
            const login = await server.request('/login')
            const reply = await server.request(path, { cookie: cookiePair(login), timeout: 2000 })
            assert.equal(reply.status, 500)
            assert.deepEqual({ ...(await peek(spy.store, idOf(login)))?.data }, { user: 'ann' })
          })
        })
      }

      describe('when a handler stores a Date', () => {
        it('stores it as JSON does: an ISO string', async () => {
          const { server } = await valuesApp(host)
          const reply = await server.request('/date')
          const me = await server.request('/me', { cookie: cookiePair(reply) })
          assert.deepEqual(JSON.parse(me.body), { at: '2030-01-01T00:00:00.000Z' })
        })
      })
    })
  }
})
