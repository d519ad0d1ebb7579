import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import session from '../../src/index.ts'
import { HOSTS, SECRET, V1_VALUE, cleanup, idOf, peek, serve, sessionCookie, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

/** An app whose genid counts the ids it makes. */
async function lazyApp(host: Host, options: { saveUninitialized?: boolean } = {}) {
  const spy = spyOn()
  const ids = { generated: 0 }
  const middleware = session({
    secret: SECRET,
    store: spy.store,
    ...options,
    genid: () => {
      ids.generated++
      return randomBytes(32).toString('base64url')
    },
  })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/untouched', (_req: Req, res: Res) => res.send('ok'))
    app.get('/read', (req: Req, res: Res) => res.send(String(req.session.views ?? 'none')))
    app.get('/write', (req: Req, res: Res) => {
      req.session.views = 1
      res.send('ok')
    })
  })
  return { server, spy, ids }
}

describe('lazy sessions', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the request has no cookie and never touches req.session', () => {
        it('sends no Set-Cookie, calls no store method and generates no id', async () => {
          const { server, spy, ids } = await lazyApp(host)
          const reply = await server.request('/untouched')
          assert.equal(reply.status, 200)
          assert.deepEqual(reply.cookies, [])
          assert.equal(spy.count(), 0)
          assert.equal(ids.generated, 0)
        })
      })

      describe('when the handler reads req.session but writes nothing', () => {
        it('stores nothing and sends no cookie', async () => {
          const { server, spy } = await lazyApp(host)
          const reply = await server.request('/read')
          assert.equal(reply.body, 'none')
          assert.deepEqual(reply.cookies, [])
          assert.equal(spy.count(), 0)
          assert.equal(await spy.store.length(), 0)
        })
      })

      describe('when the handler writes data', () => {
        it('creates the session once and sends a v1 cookie for it', async () => {
          const { server, spy, ids } = await lazyApp(host)
          const reply = await server.request('/write')
          const cookie = sessionCookie(reply)
          assert.ok(cookie, 'a session cookie')
          assert.match(cookie.value, V1_VALUE)
          assert.equal(ids.generated, 1)
          assert.deepEqual(
            spy.calls.map((c) => c.method),
            ['create'],
          )
          assert.equal(spy.of('create')[0]?.args[0], storeKeyOf(idOf(reply)))
          assert.deepEqual({ ...(await peek(spy.store, idOf(reply)))?.data }, { views: 1 })
        })
      })

      describe('saveUninitialized', () => {
        describe('when true', () => {
          it('stores and sends a cookie for every new session, even one the handler never touched', async () => {
            const { server, spy, ids } = await lazyApp(host, { saveUninitialized: true })
            const first = await server.request('/untouched')
            const second = await server.request('/read')
            for (const reply of [first, second]) assert.match(sessionCookie(reply)?.value ?? '', V1_VALUE)
            assert.notEqual(idOf(first), idOf(second))
            assert.equal(ids.generated, 2)
            assert.equal(spy.count('create'), 2)
            assert.equal(await spy.store.length(), 2)
          })

          it('does not create a second session for a client that already has one', async () => {
            const { server, spy } = await lazyApp(host, { saveUninitialized: true })
            const first = await server.request('/untouched')
            const again = await server.request('/untouched', { cookie: `sid=${sessionCookie(first)?.value}` })
            assert.deepEqual(again.cookies, [])
            assert.equal(spy.count('create'), 1)
          })
        })
      })
    })
  }
})
