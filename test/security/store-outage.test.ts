/**
 * Store outages (R22): a store that rejects or never answers fails the request closed (503, the
 * right code, no Set-Cookie, no new id, a `store_error` event) instead of serving it without a
 * session or minting ids the store never saw; when the store recovers, the same cookies work again.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore } from '../../src/index.ts'
import { HOSTS, cleanup, cookiePair, faultStore, spyOn, type Fault, type Host } from '../http/helpers.ts'
import { target, userOf } from './helpers.ts'

afterEach(cleanup)

async function outageTarget(host: Host) {
  const spy = spyOn()
  const fault = faultStore(spy.store)
  const app = await target(host, { store: fault.store, storeTimeout: 50 })
  return { ...app, spy, fault }
}

const FAULTS: Array<[Exclude<Fault, undefined>, string]> = [
  ['reject', 'ERR_TESSERA_STORE_UNAVAILABLE'],
  ['hang', 'ERR_TESSERA_STORE_TIMEOUT'],
]

describe('store outages', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [fault, code] of FAULTS) {
        const what = fault === 'reject' ? 'is down (rejects)' : 'hangs (never answers; storeTimeout 50 ms)'
        describe(`when the store ${what}`, () => {
          it(`R22: a signed-in client gets 503 ${code} with no Set-Cookie and no new id; after recovery the same cookie works`, async () => {
            const app = await outageTarget(host)
            const cookie = cookiePair(await app.server.request('/login'))
            app.events.created.length = 0
            app.spy.reset()
            app.fault.faults.get = fault
            const started = Date.now()
            const reply = await app.server.request('/me', { cookie, timeout: 5_000 })
            assert.ok(Date.now() - started < 2_000, 'bounded by storeTimeout, not the client')
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.equal(app.server.errors[0]?.code, code)
            assert.deepEqual(
              app.events.store_error.map((e) => e.operation),
              ['get'],
            )
            assert.deepEqual(app.events.created, [])
            assert.equal(app.spy.count('create'), 0)
            app.fault.faults.get = undefined
            assert.equal(userOf(await app.server.request('/me', { cookie })), 'ann')
          })

          it(`R22: a new visitor whose session cannot be created gets 503 ${code}, no cookie and no id the store never saw`, async () => {
            const app = await outageTarget(host)
            app.fault.faults.create = fault
            const reply = await app.server.request('/login', { timeout: 5_000 })
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.equal(app.server.errors[0]?.code, code)
            assert.equal(await app.spy.store.length(), 0)
            assert.deepEqual(
              app.events.store_error.map((e) => e.operation),
              ['create'],
            )
            app.fault.faults.create = undefined
            const retry = await app.server.request('/login')
            assert.equal(retry.status, 200)
            assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(retry) })), 'ann')
          })

          it(`R22: a write to a stored session that fails gets 503 ${code}, no cookie, and the stored data is unchanged`, async () => {
            const app = await outageTarget(host)
            const cookie = cookiePair(await app.server.request('/login'))
            const key = app.spy.of('create')[0]?.args[0] as string
            app.fault.faults.update = fault
            const reply = await app.server.request('/login?user=mallory', { cookie, timeout: 5_000 })
            assert.equal(reply.status, 503)
            assert.deepEqual(reply.cookies, [])
            assert.equal(app.server.errors[0]?.code, code)
            assert.deepEqual({ ...(await MemoryStore.prototype.get.call(app.spy.store, key))?.data }, { user: 'ann' })
            app.fault.faults.update = undefined
            assert.equal(userOf(await app.server.request('/me', { cookie })), 'ann')
          })
        })
      }

      it('R22: a failed read never runs the handler anonymously (no fail-open)', async () => {
        const app = await outageTarget(host)
        const cookie = cookiePair(await app.server.request('/login'))
        app.fault.faults.get = 'reject'
        const reply = await app.server.request('/me', { cookie })
        assert.equal(reply.status, 503)
        assert.ok(!reply.body.includes('"user"'), 'the route answered without the session')
      })

      it('R22: a logout whose destroy fails answers 503 and the session is not reported destroyed', async () => {
        const app = await outageTarget(host)
        const cookie = cookiePair(await app.server.request('/login'))
        app.fault.faults.destroy = 'reject'
        const reply = await app.server.request('/logout', { cookie })
        assert.equal(reply.status, 503)
        assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
        assert.deepEqual(app.events.destroyed, [])
        app.fault.faults.destroy = undefined
        await app.server.request('/logout', { cookie })
        assert.equal(userOf(await app.server.request('/me', { cookie })), null)
      })

      it(
        'R22: a logout whose destroy fails raises store_error',
        async () => {
          const app = await outageTarget(host)
          const cookie = cookiePair(await app.server.request('/login'))
          app.fault.faults.destroy = 'reject'
          await app.server.request('/logout', { cookie })
          assert.deepEqual(
            app.events.store_error.map((e) => e.operation),
            ['destroy'],
          )
        },
      )
    })
  }
})
