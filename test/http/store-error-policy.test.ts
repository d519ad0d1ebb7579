import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, StoreUnavailableError, type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, delay, faultStore, freezeClock, gate, handle, memoryStore, peek, recordEvents, serve, sessionCookie, idOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

async function outageApp(host: Host, options: Partial<SessionOptions>) {
  const fault = faultStore()
  const middleware = session({ secret: SECRET, store: fault.store, storeTimeout: 50, ...options })
  const events = recordEvents(middleware, ['store_error', 'malformed_data'])
  const reached: string[] = []
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      reached.push('login')
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/me', (req: Req, res: Res) => {
      reached.push('me')
      res.send(String(req.session.user ?? 'anonymous'))
    })
    app.get('/change', (req: Req, res: Res) => {
      reached.push('change')
      req.session.user = 'bob'
      req.session.touch()
      res.send(`changed: ${req.session.user}`)
    })
    app.get(
      '/save',
      handle(async (req, res) => {
        reached.push('save')
        req.session.user = 'bob'
        await req.session.save()
        res.send('saved')
      }),
    )
  })
  return { server, fault, events, reached }
}

/** No store call but reads, since `before`. */
function writesSince(fault: ReturnType<typeof faultStore>, before: ReturnType<typeof faultStore>['calls']): number {
  return (['create', 'update', 'touch', 'destroy'] as const).reduce((sum, method) => sum + fault.calls[method] - before[method], 0)
}

describe('onStoreError', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe("when it is 'anonymous' and the store's read fails", () => {
        for (const failure of ['reject', 'hang'] as const) {
          it(`serves the request without a session (${failure}): 200, no Set-Cookie, nothing written`, async () => {
            const { server, fault, events, reached } = await outageApp(host, { onStoreError: 'anonymous' })
            const login = await server.request('/login')
            const cookie = cookiePair(login)
            fault.faults.get = failure
            const before = { ...fault.calls }

            const me = await server.request('/me', { cookie })
            assert.equal(me.status, 200)
            assert.equal(me.body, 'anonymous')
            assert.deepEqual(me.cookies, [])

            const change = await server.request('/change', { cookie })
            assert.equal(change.status, 200, 'a handler that writes still runs')
            assert.equal(change.body, 'changed: bob')
            assert.deepEqual(change.cookies, [])

            assert.equal(writesSince(fault, before), 0, 'nothing written')
            assert.deepEqual(server.errors, [])
            assert.deepEqual(reached, ['login', 'me', 'change'])
            assert.deepEqual(
              events.store_error.map((e) => e.operation),
              ['get', 'get'],
            )

            // the store is back: the session is as it was
            fault.faults.get = undefined
            assert.deepEqual({ ...(await peek(fault.inner, idOf(login)))?.data }, { user: 'ann' })
            assert.equal((await server.request('/me', { cookie })).body, 'ann')
          })
        }

        it('an explicit save() writes nothing either, and sets no cookie that would replace the real one', async () => {
          const { server, fault } = await outageApp(host, { onStoreError: 'anonymous' })
          const cookie = cookiePair(await server.request('/login'))
          fault.faults.get = 'reject'
          const before = { ...fault.calls }
          const save = await server.request('/save', { cookie })
          assert.equal(save.status, 200)
          assert.deepEqual(save.cookies, [])
          assert.equal(writesSince(fault, before), 0, 'nothing written')
          fault.faults.get = undefined
          assert.equal((await server.request('/me', { cookie })).body, 'ann')
        })
      })

      describe("when it is 'fail' (the default) and the store's read fails", () => {
        it('answers 503 before the handler runs', async () => {
          const { server, fault, reached } = await outageApp(host, {})
          const cookie = cookiePair(await server.request('/login'))
          fault.faults.get = 'reject'
          const me = await server.request('/me', { cookie })
          assert.equal(me.status, 503)
          assert.deepEqual(me.cookies, [])
          assert.deepEqual(reached, ['login'])
        })
      })

      describe('when it is invalid', () => {
        it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
          for (const onStoreError of ['ignore', true, 503]) {
            assert.throws(
              () => session({ secret: SECRET, onStoreError: onStoreError as any }),
              (err: any) => err instanceof InvalidOptionError && err.option === 'onStoreError',
            )
          }
        })
      })
    })
  }
})

describe('circuitBreaker', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      const breaker = { failures: 3, cooldown: 5_000 }

      it('after `failures` consecutive failures, fails fast without calling the store for `cooldown`, then calls it again', async (t) => {
        const clock = freezeClock(t, T0)
        const { server, fault, events } = await outageApp(host, { circuitBreaker: breaker })
        const cookie = cookiePair(await server.request('/login'))
        fault.faults.get = 'reject'
        const before = fault.calls.get
        for (let i = 0; i < breaker.failures; i++) assert.equal((await server.request('/me', { cookie })).status, 503)
        assert.equal(fault.calls.get - before, breaker.failures, 'each failure called the store')

        // open: the store is not called, even once it works again
        fault.faults.get = undefined
        for (let i = 0; i < 5; i++) {
          const reply = await server.request('/me', { cookie })
          assert.equal(reply.status, 503)
          assert.deepEqual(reply.cookies, [])
        }
        assert.equal(fault.calls.get - before, breaker.failures, 'no call while open')
        const last = server.errors.at(-1)
        assert.ok(last instanceof StoreUnavailableError)
        assert.equal(last.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
        assert.equal(events.store_error.length, breaker.failures + 5)

        clock.advance(breaker.cooldown - 1)
        assert.equal((await server.request('/me', { cookie })).status, 503)
        assert.equal(fault.calls.get - before, breaker.failures, 'still open a millisecond before the cooldown ends')

        // after the cooldown: called again, and a success closes it
        clock.advance(1)
        const me = await server.request('/me', { cookie })
        assert.equal(me.status, 200)
        assert.equal(me.body, 'ann')
        assert.equal(fault.calls.get - before, breaker.failures + 1)
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
        assert.equal(fault.calls.get - before, breaker.failures + 2)
      })

      it('after the cooldown, one more failure opens it again at once', async (t) => {
        const clock = freezeClock(t, T0)
        const { server, fault } = await outageApp(host, { circuitBreaker: breaker })
        const cookie = cookiePair(await server.request('/login'))
        fault.faults.get = 'reject'
        for (let i = 0; i < breaker.failures; i++) await server.request('/me', { cookie })
        clock.advance(breaker.cooldown)
        const before = fault.calls.get
        assert.equal((await server.request('/me', { cookie })).status, 503)
        assert.equal(fault.calls.get - before, 1, 'the trial call reached the store')
        assert.equal((await server.request('/me', { cookie })).status, 503)
        assert.equal(fault.calls.get - before, 1, 'and its failure reopened the breaker')
      })

      it('counts consecutive failures only: a success in between starts the count again', async (t) => {
        freezeClock(t, T0)
        const { server, fault } = await outageApp(host, { circuitBreaker: breaker })
        const cookie = cookiePair(await server.request('/login'))
        const before = fault.calls.get
        for (let round = 0; round < 3; round++) {
          fault.faults.get = 'reject'
          for (let i = 0; i < breaker.failures - 1; i++) assert.equal((await server.request('/me', { cookie })).status, 503)
          fault.faults.get = undefined
          assert.equal((await server.request('/me', { cookie })).body, 'ann')
        }
        assert.equal(fault.calls.get - before, 3 * breaker.failures, 'every request reached the store')
      })

      it('fails writes fast too while open: a new session is neither created nor given a cookie', async (t) => {
        freezeClock(t, T0)
        const { server, fault } = await outageApp(host, { circuitBreaker: breaker })
        const cookie = cookiePair(await server.request('/login'))
        fault.faults.get = 'reject'
        for (let i = 0; i < breaker.failures; i++) await server.request('/me', { cookie })
        const before = { ...fault.calls }
        const login = await server.request('/login')
        assert.equal(login.status, 503)
        assert.equal(sessionCookie(login), undefined)
        assert.deepEqual(fault.calls, before, 'no store call at all')
      })

      it("with onStoreError 'anonymous', serves requests without a session while open, without calling the store", async (t) => {
        freezeClock(t, T0)
        const { server, fault } = await outageApp(host, { circuitBreaker: breaker, onStoreError: 'anonymous' })
        const cookie = cookiePair(await server.request('/login'))
        fault.faults.get = 'reject'
        for (let i = 0; i < breaker.failures; i++) assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
        const before = { ...fault.calls }
        const me = await server.request('/me', { cookie })
        assert.equal(me.status, 200)
        assert.equal(me.body, 'anonymous')
        assert.deepEqual(me.cookies, [])
        assert.deepEqual(fault.calls, before, 'no store call at all')
      })

      for (const onStoreError of ['fail', 'anonymous'] as const) {
        it(`never counts a store refusing one request's data (SessionDataError): twelve at once, and everyone is still served (onStoreError '${onStoreError}')`, async (t) => {
          freezeClock(t, T0)
          const { server, fault, events } = await outageApp(host, { circuitBreaker: breaker, onStoreError })
          const cookie = cookiePair(await server.request('/login'))
          fault.faults.update = 'data'
          fault.faults.create = 'data'
          const refused = await Promise.all([
            ...Array.from({ length: 12 }, () => server.request('/change', { cookie })),
            ...Array.from({ length: 12 }, () => server.request('/login')),
          ])
          assert.deepEqual(new Set(refused.map((reply) => reply.status)), new Set([500]))
          assert.deepEqual(new Set(server.errors.map((err) => err.code)), new Set(['ERR_TESSERA_SESSION_DATA']))
          assert.equal(fault.calls.update + fault.calls.create, 1 + 24, 'every write reached the store')
          assert.equal(events.store_error.length, 0)
          assert.equal(events.malformed_data.length, 24)

          // the breaker is closed: the signed-in user reads, a new visitor signs in
          fault.faults.update = undefined
          fault.faults.create = undefined
          const me = await server.request('/me', { cookie })
          assert.equal(me.status, 200)
          assert.equal(me.body, 'ann')
          const login = await server.request('/login')
          assert.equal(login.status, 200)
          assert.ok(sessionCookie(login))
        })
      }

      it('throws ERR_TESSERA_INVALID_OPTION at construction for an invalid value', () => {
        for (const circuitBreaker of [{ failures: 0 }, { failures: 1.5 }, { failures: -1 }, { cooldown: -1 }, { cooldown: 0 }, 'on', null]) {
          assert.throws(
            () => session({ secret: SECRET, circuitBreaker: circuitBreaker as any }),
            (err: any) => err instanceof InvalidOptionError && String(err.option).startsWith('circuitBreaker'),
            JSON.stringify(circuitBreaker),
          )
        }
      })
    })
  }
})

describe('maxStoreCalls', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('fails fast with 503 past the limit of store calls in flight, and serves again once they settle', async () => {
        const inner = memoryStore()
        // reads wait for `hold`: resolved while logging in, then a gate the test opens
        let hold: Promise<void> = Promise.resolve()
        let calls = 0
        const slow = new Proxy(inner, {
          get(target, property, receiver) {
            if (property === 'get') {
              return async (...args: Parameters<typeof inner.get>) => {
                calls++
                await hold
                return target.get(...args)
              }
            }
            const value = Reflect.get(target, property, receiver)
            return typeof value === 'function' ? value.bind(target) : value
          },
        })
        const middleware = session({ secret: SECRET, store: slow, maxStoreCalls: 2, storeTimeout: 5_000 })
        const server = await serve(host, (app) => {
          app.use(middleware)
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
        })
        const login = await server.request('/login')
        const cookie = cookiePair(login)
        const closed = gate()
        hold = closed.promise
        const held = [server.request('/me', { cookie }), server.request('/me', { cookie })]
        while (calls < 2) await delay(5)
        const refused = await server.request('/me', { cookie })
        assert.equal(refused.status, 503)
        assert.equal(calls, 2, 'the third request never reached the store')
        closed.open()
        for (const reply of await Promise.all(held)) assert.equal(reply.body, 'ann')
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
      })
    })
  }
})
