import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, peek, serve, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

/** `/seed` stores user, cart and theme; other routes change one thing each. */
async function cartApp(host: Host) {
  const spy = spyOn()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store: spy.store }))
    app.get('/seed', (req: Req, res: Res) => {
      req.session.user = 'ann'
      req.session.cart = ['apple']
      req.session.theme = { color: 'dark' }
      res.send('seeded')
    })
    app.get('/read', (req: Req, res: Res) => res.json({ user: req.session.user, cart: req.session.cart, theme: req.session.theme }))
    app.get('/push', (req: Req, res: Res) => {
      req.session.cart.push('pear')
      res.send('pushed')
    })
    app.get('/nested', (req: Req, res: Res) => {
      req.session.theme.color = 'light'
      res.send('nested')
    })
    app.get('/same', (req: Req, res: Res) => {
      req.session.user = 'ann'
      req.session.cart = ['apple']
      res.send('same')
    })
    app.get('/delete', (req: Req, res: Res) => {
      delete req.session.theme
      res.send('deleted')
    })
    app.get('/undefined', (req: Req, res: Res) => {
      req.session.theme = undefined
      res.send('undefined')
    })
  })
  const seed = await server.request('/seed')
  spy.reset()
  return { server, spy, cookie: cookiePair(seed), id: idOf(seed) }
}

describe('dirty tracking', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when a loaded session is not modified', () => {
        it('makes no update call (only the read)', async () => {
          const { server, spy, cookie } = await cartApp(host)
          const reply = await server.request('/read', { cookie })
          assert.deepEqual(JSON.parse(reply.body), { user: 'ann', cart: ['apple'], theme: { color: 'dark' } })
          assert.deepEqual(
            spy.calls.map((c) => c.method),
            ['get'],
          )
        })

        it('makes no update call when keys are set to equal values', async () => {
          const { server, spy, cookie } = await cartApp(host)
          await server.request('/same', { cookie })
          assert.equal(spy.count('update'), 0)
        })
      })

      describe('when a nested value is mutated in place', () => {
        it('saves it: cart.push(x) writes a patch with only cart', async () => {
          const { server, spy, cookie, id } = await cartApp(host)
          await server.request('/push', { cookie })
          const [update] = spy.of('update')
          assert.ok(update, 'one update')
          assert.equal(update.args[0], storeKeyOf(id))
          assert.deepEqual({ ...update.args[1].set }, { cart: ['apple', 'pear'] })
          assert.deepEqual(update.args[1].unset, [])
          assert.deepEqual({ ...(await peek(spy.store, id))?.data }, { user: 'ann', cart: ['apple', 'pear'], theme: { color: 'dark' } })
        })

        it('writes the whole top-level key of a deeper mutation, and nothing else', async () => {
          const { server, spy, cookie } = await cartApp(host)
          await server.request('/nested', { cookie })
          const [update] = spy.of('update')
          assert.deepEqual({ ...update?.args[1].set }, { theme: { color: 'light' } })
        })
      })

      describe('when a key is deleted', () => {
        it('unsets it and sets nothing', async () => {
          const { server, spy, cookie, id } = await cartApp(host)
          await server.request('/delete', { cookie })
          const [update] = spy.of('update')
          assert.deepEqual({ ...update?.args[1].set }, {})
          assert.deepEqual(update?.args[1].unset, ['theme'])
          assert.deepEqual({ ...(await peek(spy.store, id))?.data }, { user: 'ann', cart: ['apple'] })
        })

        it('treats a key set to undefined as deleted (JSON has no undefined)', async () => {
          const { server, spy, cookie } = await cartApp(host)
          await server.request('/undefined', { cookie })
          assert.deepEqual(spy.of('update')[0]?.args[1].unset, ['theme'])
        })
      })

      describe('when several requests each change a different key', () => {
        it('keeps every change (field-level writes)', async () => {
          const { server, spy, cookie, id } = await cartApp(host)
          await Promise.all([server.request('/push', { cookie }), server.request('/nested', { cookie })])
          assert.deepEqual({ ...(await peek(spy.store, id))?.data }, { user: 'ann', cart: ['apple', 'pear'], theme: { color: 'light' } })
        })
      })
    })
  }
})
