import { afterEach, describe, it, mock, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidOptionError } from '../../../src/errors.ts'
import { MemoryStore, type MemoryStoreOptions } from '../../../src/stores/memory.ts'
import type { NewSession, SessionMeta } from '../../../src/stores/contract.ts'

const T0 = Date.UTC(2030, 0, 1)
const open: MemoryStore[] = []

function makeStore(options?: MemoryStoreOptions): MemoryStore {
  const store = new MemoryStore(options)
  open.push(store)
  return store
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

/** `Date.now` stands at T0 for the rest of the test, until advanced. */
function clock(t: TestContext) {
  let now = T0
  t.mock.method(Date, 'now', () => now)
  return { advance: (ms: number) => void (now += ms) }
}

function meta(): SessionMeta {
  return { createdAt: Date.now(), absoluteExpiresAt: Date.now() + 3_600_000, idleTimeout: 60_000 }
}

function session(data: Record<string, unknown> = {}, ttl = 60_000, userId: string | null = null): NewSession {
  return { data, meta: meta(), userId, expiresAt: Date.now() + ttl }
}

describe('MemoryStore', () => {
  describe('options', () => {
    for (const option of ['max', 'sweepInterval', 'sweepBatch', 'tombstoneTtl'] as const) {
      it(`rejects a ${option} that is not a positive integer`, () => {
        for (const value of [0, -1, 1.5, Number.NaN]) {
          assert.throws(
            () => new MemoryStore({ [option]: value }),
            (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === option,
          )
        }
      })
    }
  })

  describe('sweepInterval', () => {
    it('rejects a delay too long for a timer (Node would run the sweep every millisecond)', () => {
      assert.throws(
        () => new MemoryStore({ sweepInterval: 2 ** 31 }),
        (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === 'sweepInterval',
      )
    })
  })

  describe('expiry', () => {
    describe('when a record is read past its expiresAt', () => {
      it('answers null and forgets the record', async (t) => {
        const { advance } = clock(t)
        const store = makeStore()
        await store.create('a'.repeat(43), session({ n: 1 }, 1000))
        assert.ok(await store.get('a'.repeat(43)))
        advance(1000)
        assert.equal(await store.get('a'.repeat(43)), null)
        assert.equal(await store.length(), 0)
        assert.equal(await store.prune(), 0, 'already removed by the read')
      })
    })
  })

  describe('data', () => {
    it('keeps a copy: mutating what was written or read does not change the store', async () => {
      const store = makeStore()
      const data = { cart: ['apple'] }
      await store.create('id', session(data))
      data.cart.push('pear')
      const first = await store.get('id')
      ;(first?.data.cart as string[]).push('plum')
      assert.deepEqual((await store.get('id'))?.data.cart, ['apple'])
    })

    it('never keeps a top-level __proto__ key, on create or update', async () => {
      const store = makeStore()
      await store.create('id', session(JSON.parse('{"a":1,"__proto__":{"isAdmin":true}}')))
      await store.update('id', { set: JSON.parse('{"b":2,"__proto__":{"isAdmin":true}}'), unset: [], whole: {} }, Date.now() + 60_000)
      const data = (await store.get('id'))?.data
      assert.deepEqual(Object.keys(data ?? {}), ['a', 'b'])
      assert.equal(Object.hasOwn(data ?? {}, '__proto__'), false)
    })

    it('applies an update key by key: removed, replaced, added and kept keys, in the order first written', async () => {
      const store = makeStore()
      await store.create('id', session({ a: 1, b: { deep: [1, 2] }, c: 'three', d: 4 }))
      await store.update('id', { set: { c: 'new', e: [5], d: undefined }, unset: ['a'], whole: {} }, Date.now() + 60_000)
      assert.deepEqual(Object.entries((await store.get('id'))?.data ?? {}), [
        ['b', { deep: [1, 2] }],
        ['c', 'new'],
        ['e', [5]],
      ])
      await store.update('id', { set: { f: null }, unset: [], replace: true, whole: {} }, Date.now() + 60_000)
      assert.deepEqual({ ...(await store.get('id'))?.data }, { f: null })
    })

    it('drops keys whose value JSON cannot hold (undefined, functions)', async () => {
      const store = makeStore()
      await store.create('id', session({ a: 1, b: undefined, c: () => 1 }))
      assert.deepEqual({ ...(await store.get('id'))?.data }, { a: 1 })
    })
  })

  describe('max', () => {
    describe('when more sessions than max are created', () => {
      it('evicts the least recently used, counting reads and updates as use', async () => {
        const store = makeStore({ max: 3 })
        for (const id of ['a', 'b', 'c']) await store.create(id, session())
        await store.get('a')
        await store.update('b', { set: { n: 1 }, unset: [], whole: { n: 1 } }, Date.now() + 60_000)
        await store.create('d', session())
        assert.equal(await store.get('c'), null, 'c was the least recently used')
        for (const id of ['a', 'b', 'd']) assert.ok(await store.get(id), id)
        assert.equal(await store.length(), 3)
      })

      it('moves a session read far from the recent end there, so it outlives the sessions created after it', async () => {
        const store = makeStore({ max: 80 })
        for (let i = 0; i < 80; i++) await store.create(`s${i}`, session())
        assert.ok(await store.get('s0'))
        for (let i = 80; i < 159; i++) await store.create(`s${i}`, session())
        assert.ok(await store.get('s0'), 's0 was read after the 79 sessions that were evicted since')
        assert.equal(await store.get('s1'), null)
      })

      it('leaves a session read near the recent end where it is: eviction may take it up to max/8 creations early', async () => {
        const store = makeStore({ max: 80 })
        for (let i = 0; i < 80; i++) await store.create(`s${i}`, session())
        // s75 went to the recent end 4 creations ago, fewer than 80/8: the read does not move it
        assert.ok(await store.get('s75'))
        for (let i = 80; i < 156; i++) await store.create(`s${i}`, session())
        assert.equal(await store.get('s75'), null, 'an exact LRU would have kept s75 for four more creations')
        assert.ok(await store.get('s76'))
      })

      it('drops an evicted session from its user index', async () => {
        const store = makeStore({ max: 1 })
        await store.create('a', session({}, 60_000, 'u1'))
        await store.create('b', session({}, 60_000, 'u2'))
        assert.deepEqual(await store.listByUser('u1'), [])
      })
    })
  })

  describe('prune()', () => {
    it('removes every expired session now and says how many', async (t) => {
      const { advance } = clock(t)
      const store = makeStore()
      await store.create('short1', session({}, 1000))
      await store.create('short2', session({}, 1000, 'u1'))
      await store.create('long', session({}, 10_000))
      advance(5000)
      assert.equal(await store.prune(), 2)
      assert.equal(await store.prune(), 0)
      assert.ok(await store.get('long'))
      assert.deepEqual(await store.listByUser('u1'), [])
    })

    it('removes expired tombstones, so the id can be created again', async (t) => {
      const { advance } = clock(t)
      const store = makeStore({ tombstoneTtl: 1000 })
      await store.create('id', session())
      await store.destroy('id')
      advance(1000)
      await store.prune()
      assert.equal(await store.create('id', session()), 'ok')
    })
  })

  describe('background sweep', () => {
    it('removes expired sessions sweepBatch at a time, every sweepInterval, on an unref-ed timer', async () => {
      mock.timers.enable({ apis: ['setInterval', 'Date'], now: T0 })
      try {
        const store = makeStore({ sweepInterval: 1000, sweepBatch: 2 })
        for (let i = 0; i < 5; i++) await store.create(`s${i}`, session({}, 500))
        mock.timers.tick(1000)
        // one sweep ran and looked at two entries: three expired ones are left for prune
        assert.equal(await store.prune(), 3)
      } finally {
        mock.timers.reset()
      }
    })
  })

  describe('destroy()', () => {
    describe('when an id was destroyed', () => {
      it('blocks create for tombstoneTtl (collision), and update answers gone', async (t) => {
        const { advance } = clock(t)
        const store = makeStore({ tombstoneTtl: 1000 })
        await store.create('id', session({ n: 1 }))
        await store.destroy('id')
        assert.equal(await store.get('id'), null)
        assert.equal(await store.update('id', { set: { n: 2 }, unset: [], whole: { n: 2 } }, Date.now() + 60_000), 'gone')
        assert.equal(await store.create('id', session()), 'collision')
        advance(999)
        assert.equal(await store.create('id', session()), 'collision')
        advance(1)
        assert.equal(await store.create('id', session()), 'ok')
      })

      it('tombstones an id that never existed too (a late writer of an unknown id cannot create it)', async () => {
        const store = makeStore()
        await store.destroy('never')
        assert.equal(await store.create('never', session()), 'collision')
      })
    })
  })

  describe('per-user index', () => {
    it('lists and destroys the live sessions of a user, but the one excepted', async () => {
      const store = makeStore()
      await store.create('phone', session({}, 60_000, 'u1'))
      await store.create('laptop', session({}, 60_000, 'u1'))
      await store.create('other', session({}, 60_000, 'u2'))
      await store.create('anon', session())
      assert.deepEqual((await store.listByUser('u1')).map((s) => s.id).sort(), ['laptop', 'phone'])
      const listed = (await store.listByUser('u1'))[0]
      assert.equal(typeof listed?.expiresAt, 'number')
      assert.ok(listed?.meta)
      assert.equal(await store.destroyByUser('u1', 'laptop'), 1)
      assert.deepEqual((await store.listByUser('u1')).map((s) => s.id), ['laptop'])
      assert.equal(await store.get('phone'), null)
      assert.ok(await store.get('other'))
      assert.equal(await store.destroyByUser('nobody'), 0)
    })

    it('follows owner changes made by update', async () => {
      const store = makeStore()
      await store.create('id', session())
      await store.update('id', { set: {}, unset: [], userId: 'u1', whole: {} }, Date.now() + 60_000)
      assert.deepEqual((await store.listByUser('u1')).map((s) => s.id), ['id'])
      await store.update('id', { set: {}, unset: [], userId: 'u2', whole: {} }, Date.now() + 60_000)
      assert.deepEqual(await store.listByUser('u1'), [])
      assert.deepEqual((await store.listByUser('u2')).map((s) => s.id), ['id'])
      await store.update('id', { set: {}, unset: [], userId: null, whole: {} }, Date.now() + 60_000)
      assert.deepEqual(await store.listByUser('u2'), [])
    })

    it('keeps every session of a user as they come and go (one, then several, then one again)', async () => {
      const store = makeStore()
      const ids = async () => (await store.listByUser('u1')).map((s) => s.id).sort()
      await store.create('a', session({}, 60_000, 'u1'))
      await store.create('a', session({}, 60_000, 'u1'))
      assert.deepEqual(await ids(), ['a'], 'a refused create does not index the id twice')
      await store.create('b', session({}, 60_000, 'u1'))
      await store.create('c', session({}, 60_000, 'u1'))
      assert.deepEqual(await ids(), ['a', 'b', 'c'])
      await store.destroy('b')
      await store.destroy('a')
      assert.deepEqual(await ids(), ['c'])
      await store.create('d', session({}, 60_000, 'u1'))
      assert.deepEqual(await ids(), ['c', 'd'])
      await store.update('c', { set: {}, unset: [], userId: null, whole: {} }, Date.now() + 60_000)
      await store.destroy('d')
      assert.deepEqual(await ids(), [])
      await store.create('e', session({}, 60_000, 'u1'))
      assert.deepEqual(await ids(), ['e'])
    })

    it('leaves expired sessions out of the listing', async (t) => {
      const { advance } = clock(t)
      const store = makeStore()
      await store.create('short', session({}, 1000, 'u1'))
      await store.create('long', session({}, 10_000, 'u1'))
      advance(1000)
      assert.deepEqual((await store.listByUser('u1')).map((s) => s.id), ['long'])
    })
  })

  describe('all(), length() and clear()', () => {
    it('see only live sessions, and clear removes them all', async (t) => {
      const { advance } = clock(t)
      const store = makeStore()
      await store.create('a', session({ n: 1 }, 1000))
      await store.create('b', session({ n: 2 }, 10_000, 'u1'))
      assert.equal(await store.length(), 2)
      advance(1000)
      assert.equal(await store.length(), 1)
      const all = await store.all()
      assert.deepEqual(
        all.map(([id, s]) => [id, { ...s.data }]),
        [['b', { n: 2 }]],
      )
      await store.clear()
      assert.equal(await store.length(), 0)
      assert.deepEqual(await store.all(), [])
      assert.deepEqual(await store.listByUser('u1'), [])
    })
  })

  describe('close()', () => {
    it('stops the timer and leaves the store usable', async () => {
      const store = makeStore()
      await store.close()
      await store.close()
      assert.equal(await store.create('id', session()), 'ok')
      assert.ok(await store.get('id'))
    })
  })
})
