import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, memoryStore, peek, idOf, recordEvents, serve, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

describe('revokedBefore (global revocation)', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('ends every session created before the epoch, on the next request, and deletes it', async () => {
        let epoch = 0
        const store = memoryStore()
        const middleware = session({ secret: SECRET, store, revokedBefore: () => epoch })
        const events = recordEvents(middleware, ['destroyed'])
        const server = await serve(host, (app) => {
          app.use(middleware)
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
        })
        const before = await server.request('/login')
        assert.equal((await server.request('/me', { cookie: cookiePair(before) })).body, 'ann')
        epoch = Date.now() + 1
        assert.equal((await server.request('/me', { cookie: cookiePair(before) })).body, 'undefined')
        assert.deepEqual(events.destroyed.map((e) => e.reason), ['revoked'])
        // give the fire-and-forget delete a moment
        await new Promise((resolve) => setTimeout(resolve, 20))
        assert.equal(await peek(store, idOf(before)), null)
        // sessions created after the epoch live
        await new Promise((resolve) => setTimeout(resolve, 5))
        const after = await server.request('/login')
        assert.equal((await server.request('/me', { cookie: cookiePair(after) })).body, 'ann')
      })

      it("fails closed when the function throws, even with onStoreError: 'anonymous' (it is not a store failure)", async () => {
        let failing = false
        const middleware = session({
          secret: SECRET,
          store: memoryStore(),
          onStoreError: 'anonymous',
          revokedBefore: () => {
            if (failing) throw new Error('revocation source down')
            return 0
          },
        })
        const server = await serve(host, (app) => {
          app.use(middleware)
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
          app.use((err: any, _req: Req, res: Res, _next: unknown) => res.status(err.status).send(`${err.code} ${err.cause?.message}`))
        })
        const cookie = cookiePair(await server.request('/login'))
        failing = true
        const reply = await server.request('/me', { cookie })
        assert.equal(reply.status, 500)
        assert.equal(reply.body, 'ERR_TESSERA_REVOCATION_CHECK revocation source down')
        assert.deepEqual(reply.cookies, [])
        failing = false
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
      })

      it('takes a Date the function returns as its time', async () => {
        let epoch = new Date(0)
        const middleware = session({ secret: SECRET, store: memoryStore(), revokedBefore: () => epoch as unknown as number })
        const server = await serve(host, (app) => {
          app.use(middleware)
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
        })
        const cookie = cookiePair(await server.request('/login'))
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
        epoch = new Date(Date.now() + 1)
        assert.equal((await server.request('/me', { cookie })).body, 'undefined')
      })

      it('rejects a value that is not a number or a function', () => {
        assert.throws(() => session({ secret: SECRET, revokedBefore: 'yesterday' as never }), { code: 'ERR_TESSERA_INVALID_OPTION' })
      })
    })
  }
})
