import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { StoreTimeoutError, StoreUnavailableError } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, faultStore, recordEvents, serve, type Fault, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function faultyApp(host: Host) {
  const fault = faultStore()
  const middleware = session({ secret: SECRET, store: fault.store, storeTimeout: 50 })
  const events = recordEvents(middleware, ['store_error'])
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
      res.send('changed')
    })
  })
  return { server, fault, events, reached }
}

const FAILURES: Array<[Exclude<Fault, undefined>, string, new (...args: any[]) => Error]> = [
  ['reject', 'ERR_TESSERA_STORE_UNAVAILABLE', StoreUnavailableError],
  ['hang', 'ERR_TESSERA_STORE_TIMEOUT', StoreTimeoutError],
]

describe('store failures', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [fault, code, ErrorClass] of FAILURES) {
        describe(`when the store's get ${fault === 'reject' ? 'rejects' : 'never answers'}`, () => {
          it(`answers 503 with ${code} before the handler runs, with no Set-Cookie`, async () => {
            const { server, fault: store, events, reached } = await faultyApp(host)
            const cookie = cookiePair(await server.request('/login'))
            store.faults.get = fault
            const reply = await server.request('/me', { cookie })
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.deepEqual(reached, ['login'])
            assert.equal(server.errors[0]?.code, code)
            assert.ok(server.errors[0] instanceof ErrorClass)
            assert.deepEqual(
              events.store_error.map((e) => e.operation),
              ['get'],
            )
          })
        })

        describe(`when the store's create ${fault === 'reject' ? 'rejects' : 'never answers'}`, () => {
          it(`answers 503 with ${code}, sends no cookie and issues no id`, async () => {
            const { server, fault: store, events } = await faultyApp(host)
            store.faults.create = fault
            const reply = await server.request('/login')
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.equal(server.errors[0]?.code, code)
            assert.equal(await store.inner.length(), 0)
            assert.equal(events.store_error.length, 1)
          })
        })

        describe(`when the store's update ${fault === 'reject' ? 'rejects' : 'never answers'}`, () => {
          it(`answers 503 with ${code} and sends no cookie; the stored session is unchanged`, async () => {
            const { server, fault: store, events } = await faultyApp(host)
            const cookie = cookiePair(await server.request('/login'))
            store.faults.update = fault
            const reply = await server.request('/change', { cookie })
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.equal(server.errors[0]?.code, code)
            assert.equal(events.store_error.length, 1)
            store.faults.update = undefined
            assert.equal((await server.request('/me', { cookie })).body, 'ann')
          })
        })
      }
    })
  }
})
