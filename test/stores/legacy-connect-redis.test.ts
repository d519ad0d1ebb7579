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

  describe('a read that asks for a slide', () => {
    /** The adapter around a connect-redis store whose touch calls are counted. */
    function counted() {
      const legacy = new ConnectRedis({ client, prefix })
      const touch = legacy.touch.bind(legacy) as (...args: any[]) => unknown
      const counter = { touches: 0 }
      ;(legacy as { touch: unknown }).touch = (...args: any[]) => {
        counter.touches++
        return touch(...args)
      }
      return { adapter: fromCallbackStore(legacy as never), counter }
    }

    it('slides through touch when the expiry is before slideIfBefore, and not when it is after (the throttle)', { skip }, async () => {
      const { adapter, counter } = counted()
      const id = newId()
      await adapter.create(id, { data: { a: 1 }, meta: meta(), userId: null, expiresAt: Date.now() + HOUR })
      const notDue = await adapter.get(id, { slideTo: Date.now() + 2 * HOUR, slideIfBefore: Date.now() + HOUR / 2 })
      assert.equal(counter.touches, 0)
      assert.ok(notDue !== null && notDue.expiresAt <= Date.now() + HOUR)
      const due = await adapter.get(id, { slideTo: Date.now() + 2 * HOUR, slideIfBefore: Date.now() + 2 * HOUR })
      assert.equal(counter.touches, 1)
      assert.ok(due !== null && due.expiresAt <= Date.now() + HOUR, 'the record as it was before the slide')
      const ttl = await client.pTTL(`${prefix}${id}`)
      assert.ok(ttl > 1.9 * HOUR && ttl <= 2 * HOUR, `TTL follows the slide: ${ttl}`)
      // the slid expiry is remembered although the stored cookie still has the old one: not due again
      const after = await adapter.get(id, { slideTo: Date.now() + 2 * HOUR, slideIfBefore: Date.now() + 1.5 * HOUR })
      assert.equal(counter.touches, 1)
      assert.ok(after !== null && after.expiresAt > Date.now() + 1.9 * HOUR)
      assert.equal((await client.get(`${prefix}${id}`))?.includes('"a":1'), true, 'the data is intact')
    })

    it('never slides past the absolute deadline', { skip }, async () => {
      const { adapter } = counted()
      const id = newId()
      const m = { ...meta(), absoluteExpiresAt: Date.now() + 90 * 60_000 }
      await adapter.create(id, { data: { a: 1 }, meta: m, userId: null, expiresAt: Date.now() + HOUR })
      await adapter.get(id, { slideTo: Date.now() + 3 * HOUR, slideIfBefore: Date.now() + 3 * HOUR })
      const ttl = await client.pTTL(`${prefix}${id}`)
      assert.ok(ttl > 85 * 60_000 && ttl <= 90 * 60_000, `TTL capped at the absolute deadline: ${ttl}`)
    })

    it('reads a record another process slid (its stored cookie has passed, the store still has it) as live and due for a slide', { skip }, async () => {
      const { adapter, counter } = counted()
      const id = newId()
      const m = meta()
      // as written an hour ago with a half-hour expiry, then touched by another process: Redis keeps it
      const whole = { cookie: { originalMaxAge: null, expires: new Date(Date.now() - HOUR / 2).toISOString(), httpOnly: true, path: '/' }, a: 1, __tessera: { meta: m, userId: null } }
      await client.set(`${prefix}${id}`, JSON.stringify(whole), { expiration: { type: 'EX', value: 600 } })
      const found = await adapter.get(id, { slideTo: Date.now() + HOUR, slideIfBefore: Date.now() + HOUR / 2 })
      assert.equal(found?.data.a, 1)
      assert.ok(found !== null && found.expiresAt > Date.now() - 1000 && found.expiresAt < Date.now() + HOUR / 2, 'reported due for a slide')
      assert.equal(counter.touches, 1)
    })
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
