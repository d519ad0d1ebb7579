/**
 * The callback-store adapter (`fromCallbackStore`) around connect-redis on the local Redis: what the
 * contract guarantees through it, and — as a record of the documented limitation — what whole-object
 * stores cannot guarantee (concurrent writes are last-writer-wins, a late write recreates a destroyed session).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { RedisStore as ConnectRedis } from 'connect-redis'
import { createClient } from 'redis'
import { fromCallbackStore } from '../../src/stores/legacy.ts'
import type { SessionPatch, SessionStore } from '../../src/stores/contract.ts'
import { REDIS_URL, redisSkip, uniqueName } from '../support/services.ts'
import { newId } from './conformance.ts'

const HOUR = 3_600_000
const meta = () => ({ createdAt: Date.now(), absoluteExpiresAt: Date.now() + 12 * HOUR, idleTimeout: 30 * 60_000 })
const patch = (set: Record<string, unknown>, whole: Record<string, unknown>, unset: string[] = []): SessionPatch => ({ set, unset, whole })

describe('fromCallbackStore around connect-redis', async () => {
  const skip = await redisSkip()
  let client: ReturnType<typeof createClient>
  let store: SessionStore
  let prefix: string
  before(async () => {
    if (skip) return
    client = createClient({ url: REDIS_URL })
    await client.connect()
    prefix = uniqueName('tess:lcr') + ':'
    store = fromCallbackStore(new ConnectRedis({ client, prefix }) as never)
  })
  after(async () => {
    if (!client?.isOpen) return
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await client.del(keys)
    await client.quit()
  })

  it('creates, reads, updates, touches and destroys', { skip }, async () => {
    const id = newId()
    const m = meta()
    assert.equal(await store.create(id, { data: { user: 'ann' }, meta: m, userId: 'u1', expiresAt: Date.now() + HOUR }), 'ok')
    let got = await store.get(id)
    assert.deepEqual({ ...got?.data }, { user: 'ann' })
    assert.deepEqual(got?.meta, m)
    assert.equal(got?.userId, 'u1')
    // unchanged metadata and owner travel only as `current`, which a whole-object write must keep
    assert.equal(await store.update(id, { ...patch({ cart: [1] }, { user: 'ann', cart: [1] }), current: { meta: m, userId: 'u1' } }, Date.now() + 2 * HOUR), 'ok')
    got = await store.get(id)
    assert.deepEqual({ ...got?.data }, { user: 'ann', cart: [1] })
    assert.deepEqual(got?.meta, m)
    assert.equal(got?.userId, 'u1')
    await store.touch(id, Date.now() + 3 * HOUR)
    const ttl = await client.pTTL(`${prefix}${id}`)
    assert.ok(ttl > 2.9 * HOUR && ttl <= 3 * HOUR, `TTL follows touch: ${ttl}`)
    await store.destroy(id)
    assert.equal(await store.get(id), null)
  })

  it('sets the Redis TTL from the expiry', { skip }, async () => {
    const id = newId()
    await store.create(id, { data: { a: 1 }, meta: meta(), userId: null, expiresAt: Date.now() + 60_000 })
    const ttl = await client.pTTL(`${prefix}${id}`)
    assert.ok(ttl > 55_000 && ttl <= 60_000, `TTL ${ttl}`)
  })

  describe('documented limitations of whole-object stores', () => {
    it('overlapping writes of different keys: the last writer wins, the other key is lost', { skip }, async () => {
      const id = newId()
      await store.create(id, { data: { base: 1 }, meta: meta(), userId: null, expiresAt: Date.now() + HOUR })
      // two requests loaded { base: 1 } and each added its own key
      await Promise.all([
        store.update(id, patch({ a: 1 }, { base: 1, a: 1 }), Date.now() + HOUR),
        store.update(id, patch({ b: 2 }, { base: 1, b: 2 }), Date.now() + HOUR),
      ])
      const data = (await store.get(id))?.data ?? {}
      assert.equal(Object.hasOwn(data, 'a') && Object.hasOwn(data, 'b'), false, 'one of the two writes is lost')
    })

    it('a late write recreates a destroyed session', { skip }, async () => {
      const id = newId()
      await store.create(id, { data: { user: 'ann' }, meta: meta(), userId: null, expiresAt: Date.now() + HOUR })
      await store.destroy(id)
      assert.equal(await store.update(id, patch({ n: 1 }, { user: 'ann', n: 1 }), Date.now() + HOUR), 'ok')
      assert.equal((await store.get(id))?.data.user, 'ann')
    })
  })
})
