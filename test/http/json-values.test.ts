import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { MAX_DEPTH } from '../../src/engine/dirty.ts'
import { LATE_STYLE, RESPONSE_STYLES, UNSTORABLE, nestedArray } from '../support/unstorable.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, recordEvents, serve, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const FILE = import.meta.filename
/** User ids PostgreSQL's text cannot hold (and Redis would store another one for). */
const UNSTORABLE_USERS = ['a\u0000b', 'a\ud800']

async function valuesApp(host: Host, options: { errorHandler?: boolean } = {}) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store })
  const events = recordEvents(middleware, ['malformed_data', 'store_error'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(
      '/login-as/:user',
      handle(async (req, res) => {
        await req.session.login(UNSTORABLE_USERS[Number(req.params.user)])
        res.send('in')
      }),
    )
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/spoil/:kind/:style', (req: Req, res: Res) => {
      const kind = UNSTORABLE[req.params.kind] as (typeof UNSTORABLE)[string]
      const spoil = () => void (req.session[kind.key] = kind.value())
      if (req.params.style === 'late') LATE_STYLE(res, spoil)
      else (RESPONSE_STYLES[req.params.style] as (typeof RESPONSE_STYLES)[string])(res, spoil, FILE)
    })
    app.get('/deep/:depth', (req: Req, res: Res) => {
      req.session.deep = nestedArray(Number(req.params.depth))
      res.send('ok')
    })
    app.get('/date', (req: Req, res: Res) => {
      req.session.at = new Date(Date.UTC(2030, 0, 1))
      res.send('ok')
    })
    app.get('/me', (req: Req, res: Res) => res.json({ ...req.session, cookie: undefined }))
    if (options.errorHandler) app.use((err: any, _req: Req, res: Res, _next: unknown) => res.status(err.status ?? 500).json({ code: err.code }))
  })
  return { server, spy, events }
}

const path = (kind: string, style: string) => `/spoil/${encodeURIComponent(kind)}/${encodeURIComponent(style)}`

describe('session values no store can hold', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const kind of Object.keys(UNSTORABLE)) {
        describe(`when a handler stores ${kind}`, () => {
          for (const style of Object.keys(RESPONSE_STYLES)) {
            it(`${style}: the request fails with ERR_TESSERA_SESSION_DATA through the error handler, with no cookie, nothing written and malformed_data raised`, async () => {
              const { server, spy, events } = await valuesApp(host)
              const reply = await server.request(path(kind, style), { timeout: 5000 })
              assert.equal(reply.status, 500)
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(
                server.errors.map((err) => err.code),
                ['ERR_TESSERA_SESSION_DATA'],
              )
              assert.equal(spy.count(), 0)
              assert.equal(events.malformed_data.length, 1)
              assert.equal(events.malformed_data[0].error.code, 'ERR_TESSERA_SESSION_DATA')
              assert.equal(typeof events.malformed_data[0].idHash, 'string')
              assert.equal(events.store_error.length, 0)
            })
          }

          it('leaves a stored session as it was', async () => {
            const { server, spy } = await valuesApp(host)
            const login = await server.request('/login')
            spy.reset()
            const reply = await server.request(path(kind, 'send'), { cookie: cookiePair(login), timeout: 5000 })
            assert.equal(reply.status, 500)
            assert.equal(spy.count('update'), 0)
            assert.deepEqual({ ...(await peek(spy.store, idOf(login)))?.data }, { user: 'ann' })
          })

          it('when the headers are already out: the response is cut short, nothing is written, malformed_data is raised', async () => {
            const { server, spy, events } = await valuesApp(host)
            const login = await server.request('/login')
            spy.reset()
            await assert.rejects(server.request(path(kind, 'late'), { cookie: cookiePair(login), timeout: 5000 }))
            assert.equal(server.errors[0]?.code, 'ERR_TESSERA_SESSION_DATA')
            assert.equal(spy.count('update'), 0)
            assert.deepEqual({ ...(await peek(spy.store, idOf(login)))?.data }, { user: 'ann' })
            assert.equal(events.malformed_data.length, 1)
            assert.equal(events.store_error.length, 0)
          })
        })
      }

      describe("with the app's own error handler", () => {
        for (const style of Object.keys(RESPONSE_STYLES)) {
          it(`${style}: the app's error handler answers`, async () => {
            const { server, spy } = await valuesApp(host, { errorHandler: true })
            const reply = await server.request(path('a cycle', style), { timeout: 5000 })
            assert.equal(reply.status, 500)
            assert.deepEqual(JSON.parse(reply.body), { code: 'ERR_TESSERA_SESSION_DATA' })
            assert.equal(spy.count(), 0)
          })
        }
      })

      describe('when login() is given a user id with U+0000 or a lone surrogate', () => {
        for (const [index, user] of UNSTORABLE_USERS.entries()) {
          it(`refuses it with ERR_TESSERA_SESSION_DATA and writes nothing (${JSON.stringify(user)})`, async () => {
            const { server, spy } = await valuesApp(host)
            const reply = await server.request(`/login-as/${index}`)
            assert.equal(reply.status, 500)
            assert.equal(server.errors[0]?.code, 'ERR_TESSERA_SESSION_DATA')
            assert.equal(spy.count(), 0)
          })
        }
      })

      describe(`when a handler stores a value nested ${MAX_DEPTH} levels deep (the limit)`, () => {
        it('stores it, and reads it back', async () => {
          const { server } = await valuesApp(host)
          const reply = await server.request(`/deep/${MAX_DEPTH}`)
          assert.equal(reply.status, 200)
          const me = await server.request('/me', { cookie: cookiePair(reply) })
          assert.equal(me.body, JSON.stringify({ deep: nestedArray(MAX_DEPTH) }))
        })
      })

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

describe('when an event listener of the app throws in the header-time decision', () => {
  for (const host of HOSTS) {
    it(`${host.name}: nothing escapes res.write, the response and the write go on, and a TESSERA_LISTENER_ERROR warning says why`, async (t) => {
      const warnings: { code?: string; message: string }[] = []
      // the other warnings (the diagnostic for a Secure cookie over HTTP) are strings
      t.mock.method(process, 'emitWarning', (warning: string | (Error & { code?: string })) => {
        if (typeof warning === 'object') warnings.push({ code: warning.code, message: warning.message })
      })
      const spy = spyOn()
      const middleware = session({ secret: SECRET, store: spy.store, cookie: { secure: true } })
      middleware.on('insecure_transport', () => {
        throw new Error('listener failed')
      })
      const server = await serve(host, (app) => {
        app.use(middleware)
        app.get('/', (req: Req, res: Res) => {
          req.session.user = 'ann'
          setImmediate(() => {
            res.write('a')
            res.end()
          })
        })
      })
      const reply = await server.request('/', { timeout: 5000 })
      assert.equal(reply.status, 200)
      assert.equal(reply.body, 'a')
      assert.deepEqual(server.errors, [])
      assert.equal(spy.count('create'), 1)
      assert.deepEqual(warnings, [{ code: 'TESSERA_LISTENER_ERROR', message: "a 'insecure_transport' session event listener threw: listener failed" }])
    })
  }
})
