import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { readOnly } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, freezeClock, handle, idOf, peek, serve, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const T0 = Date.UTC(2030, 0, 1)
const IDLE = 60_000

/** Either way of marking `/events` read-only. */
const WAYS: Array<[string, (app: any, middleware: any) => void, (options: object) => object]> = [
  [
    'the readOnly option',
    (app, middleware) => app.use(middleware),
    (options) => ({ ...options, readOnly: (req: Req) => req.path === '/events' }),
  ],
  [
    'the readOnly middleware mounted before the session middleware',
    (app, middleware) => {
      app.use('/events', readOnly)
      app.use(middleware)
    },
    (options) => options,
  ],
]

async function readOnlyApp(host: Host, mount: (app: any, middleware: any) => void, options: object) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, idleTimeout: IDLE, ...options } as any)
  const server = await serve(host, (app) => {
    mount(app, middleware)
    const handler = handle(async (req, res) => {
      const user = req.session.user ?? 'anonymous'
      req.session.seen = (req.session.seen ?? 0) + 1
      req.session.touch()
      if (req.query.save) await req.session.save()
      res.send(String(user))
    })
    app.get('/events', handler)
    app.get('/page', handler)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
  })
  return { server, spy }
}

describe('read-only requests', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [way, mount, options] of WAYS) {
        describe(`when marked by ${way}`, () => {
          it('read the session but never write it nor slide its expiry', async (t) => {
            const clock = freezeClock(t, T0)
            const { server, spy } = await readOnlyApp(host, mount, options({}))
            const login = await server.request('/login')
            const id = idOf(login)
            spy.reset()
            clock.advance(IDLE / 2)
            const reply = await server.request('/events', { cookie: cookiePair(login) })
            assert.equal(reply.body, 'ann')
            assert.deepEqual(reply.cookies, [])
            assert.deepEqual(
              spy.calls.map((c) => c.method),
              ['get'],
            )
            assert.equal(spy.calls[0]?.args[1], undefined, 'the read asks for no slide')
            const stored = await peek(spy.store, id)
            assert.equal(stored?.expiresAt, T0 + IDLE)
            assert.deepEqual({ ...stored?.data }, { user: 'ann' })
          })

          it('write nothing on an explicit save() either', async () => {
            const { server, spy } = await readOnlyApp(host, mount, options({}))
            const login = await server.request('/login')
            spy.reset()
            const reply = await server.request('/events?save=1', { cookie: cookiePair(login) })
            assert.equal(reply.status, 200)
            assert.equal(reply.body, 'ann')
            assert.deepEqual(reply.cookies, [])
            assert.deepEqual(
              spy.calls.map((c) => c.method),
              ['get'],
            )
            const fresh = await server.request('/events?save=1')
            assert.equal(fresh.body, 'anonymous')
            assert.deepEqual(fresh.cookies, [], 'and no session is created for a new client')
            assert.deepEqual(
              spy.calls.map((c) => c.method),
              ['get'],
            )
          })

          it('create nothing for a client without a session', async () => {
            const { server, spy } = await readOnlyApp(host, mount, options({ saveUninitialized: true }))
            const reply = await server.request('/events')
            assert.equal(reply.body, 'anonymous')
            assert.deepEqual(reply.cookies, [])
            assert.equal(spy.count(), 0)
          })

          it('leave other paths writable', async (t) => {
            const clock = freezeClock(t, T0)
            const { server, spy } = await readOnlyApp(host, mount, options({}))
            const login = await server.request('/login')
            clock.advance(IDLE / 2)
            await server.request('/page', { cookie: cookiePair(login) })
            const stored = await peek(spy.store, idOf(login))
            assert.equal(stored?.data.seen, 1)
            assert.equal(stored?.expiresAt, T0 + IDLE / 2 + IDLE)
          })
        })
      }
    })
  }
})
