/**
 * `migrateStore` over two real MemoryStores: what the store-migration integration tests cannot
 * stage on a server (a destroyed id in the new store while a copy is still in the old one).
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, migrateStore } from '../../src/index.ts'
import { kContractStore, kKeepsExpiry, type NewSession } from '../../src/stores/contract.ts'

const stores: MemoryStore[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
})
function memory(): MemoryStore {
  const store = new MemoryStore()
  stores.push(store)
  return store
}

const HOUR = 3_600_000
const record = (userId: string | null = null): NewSession => ({
  data: Object.assign(Object.create(null), { user: 'ann' }),
  meta: { createdAt: Date.now(), absoluteExpiresAt: Date.now() + 12 * HOUR, idleTimeout: HOUR },
  userId,
  expiresAt: Date.now() + HOUR,
})

describe('migrateStore', () => {
  it('moves a session on its first read: written to `to` under the same key, deleted from `from`', async () => {
    const from = memory()
    const to = memory()
    await from.create('key-1', record())
    const found = await migrateStore({ from, to }).get('key-1')
    assert.equal(found?.data.user, 'ann')
    assert.equal((await to.get('key-1'))?.data.user, 'ann')
    assert.equal(await from.get('key-1'), null)
  })

  it('slides the moved session as `to` slides any read', async () => {
    const from = memory()
    const to = memory()
    const old = record()
    await from.create('key-1', old)
    const slideTo = Date.now() + 2 * HOUR
    await migrateStore({ from, to }).get('key-1', { slideTo, slideIfBefore: slideTo })
    assert.equal((await to.get('key-1'))?.expiresAt, slideTo)
  })

  it('never brings back a session `to` destroyed: a copy left in `from` is not used, and is deleted', async () => {
    const from = memory()
    const to = memory()
    await to.create('key-1', record())
    await to.destroy('key-1')
    await from.create('key-1', record())
    assert.equal(await migrateStore({ from, to }).get('key-1'), null)
    assert.equal(await from.get('key-1'), null)
  })

  it("keeps expiries on updates (kKeepsExpiry) when `to` does, as every update goes to `to`", async () => {
    const from = memory()
    assert.equal(migrateStore({ from, to: memory() })[kKeepsExpiry], true)
    const to = { [kContractStore]: true as const, get: async () => null, create: async () => 'ok' as const, update: async () => 'ok' as const, touch: async () => 'ok' as const, destroy: async () => {} }
    assert.equal(migrateStore({ from, to })[kKeepsExpiry], undefined)
  })

  it('destroy deletes from both stores', async () => {
    const from = memory()
    const to = memory()
    await from.create('key-1', record())
    await to.create('key-1', record())
    await migrateStore({ from, to }).destroy('key-1')
    assert.equal(await from.get('key-1'), null)
    assert.equal(await to.get('key-1'), null)
  })

  it("has `to`'s per-user index, which a moved session joins", async () => {
    const from = memory()
    const to = memory()
    await from.create('key-1', record('ann'))
    const store = migrateStore({ from, to })
    assert.deepEqual(await store.listByUser?.('ann'), [])
    await store.get('key-1')
    assert.deepEqual((await store.listByUser?.('ann'))?.map((info) => info.id), ['key-1'])
    assert.equal(await store.destroyByUser?.('ann'), 1)
  })
})
