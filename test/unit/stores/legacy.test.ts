import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { fromCallbackStore, META_KEY, toCallbackStore } from '../../../src/stores/legacy.ts'
import { MemoryStore } from '../../../src/stores/memory.ts'
import { isContractStore, type SessionMeta } from '../../../src/stores/contract.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as { MemoryStore: new () => any; Store: new () => any }

const DAY = 86_400_000
const open: MemoryStore[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

function memory(): MemoryStore {
  const store = new MemoryStore()
  open.push(store)
  return store
}

/** Calls a callback-style method; resolves [err, value] and whether the callback came synchronously. */
function callback(run: (cb: (err?: unknown, value?: unknown) => void) => void): Promise<{ err: unknown; value: unknown; sync: boolean }> {
  return new Promise((resolve) => {
    let returned = false
    run((err, value) => resolve({ err: err ?? null, value, sync: !returned }))
    returned = true
  })
}

function meta(): SessionMeta {
  return { createdAt: Date.now(), absoluteExpiresAt: Date.now() + DAY, idleTimeout: 60_000 }
}

const cookieIn = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' })

const DOWN = new Error('down')

/** A callback store whose every method calls back with DOWN. */
function brokenStore(): any {
  const store = new expressSession.Store()
  const fail = (...args: any[]) => args.at(-1)?.(DOWN)
  Object.assign(store, { get: fail, set: fail, destroy: fail, touch: fail })
  return store
}

describe('legacy adapter', () => {
  describe('toCallbackStore', () => {
    it("has express-session's store face (an EventEmitter with the callback methods) over the built-in store", () => {
      const store = memory()
      const face = toCallbackStore(store)
      assert.ok(face instanceof EventEmitter)
      for (const method of ['get', 'set', 'destroy', 'touch', 'all', 'length', 'clear']) assert.equal(typeof (face as any)[method], 'function', method)
      assert.equal(face.store, store)
    })

    it('set then get round-trips the whole object, calling back asynchronously', async () => {
      const face = toCallbackStore(memory())
      const sess = { cookie: cookieIn(60_000), user: 'ann', cart: ['apple'] }
      const set = await callback((cb) => face.set('id', sess as any, cb))
      assert.equal(set.err, null)
      assert.equal(set.sync, false)
      const got = await callback((cb) => face.get('id', cb as any))
      assert.equal(got.sync, false)
      assert.deepEqual({ ...(got.value as object) }, JSON.parse(JSON.stringify(sess)))
    })

    it("answers undefined for a missing session, as express-session's MemoryStore does", async () => {
      const got = await callback((cb) => toCallbackStore(memory()).get('missing', cb as any))
      assert.deepEqual([got.err, got.value], [null, undefined])
    })

    it('replaces the whole object on set (keys left out are removed)', async () => {
      const face = toCallbackStore(memory())
      await callback((cb) => face.set('id', { cookie: cookieIn(60_000), a: 1, b: 2 } as any, cb))
      await callback((cb) => face.set('id', { cookie: cookieIn(60_000), a: 1 } as any, cb))
      const got = await callback((cb) => face.get('id', cb as any))
      assert.equal((got.value as any).b, undefined)
    })

    it("takes the expiry from cookie.expires, or one day (defaultTtl) for a browser-session cookie", async () => {
      const store = memory()
      const face = toCallbackStore(store, { defaultTtl: 5000 })
      await callback((cb) => face.set('persistent', { cookie: cookieIn(60_000) } as any, cb))
      await callback((cb) => face.set('browser', { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' } } as any, cb))
      const persistent = (await store.get('persistent'))?.expiresAt ?? 0
      const browser = (await store.get('browser'))?.expiresAt ?? 0
      assert.ok(Math.abs(persistent - (Date.now() + 60_000)) < 1000)
      assert.ok(Math.abs(browser - (Date.now() + 5000)) < 1000)
    })

    it('does not recreate a session destroyed moments ago', async () => {
      const store = memory()
      const face = toCallbackStore(store)
      await callback((cb) => face.set('id', { cookie: cookieIn(60_000), a: 1 } as any, cb))
      await callback((cb) => face.destroy('id', cb))
      await callback((cb) => face.set('id', { cookie: cookieIn(60_000), a: 2 } as any, cb))
      assert.equal(await store.get('id'), null)
    })

    it('touch stores the new cookie and expiry', async () => {
      const store = memory()
      const face = toCallbackStore(store)
      await callback((cb) => face.set('id', { cookie: cookieIn(60_000), a: 1 } as any, cb))
      const later = cookieIn(120_000)
      await callback((cb) => face.touch!('id', { cookie: later, a: 1 } as any, cb))
      assert.ok(Math.abs(((await store.get('id'))?.expiresAt ?? 0) - (Date.now() + 120_000)) < 1000)
      assert.deepEqual((await store.get('id'))?.data.cookie, later)
    })

    it('gives a session the main entry wrote a cookie, so express-session can rebuild it', async () => {
      const store = memory()
      const expiresAt = Date.now() + 60_000
      await store.create('id', { data: { user: 'ann' }, meta: meta(), userId: 'u1', expiresAt })
      const got = await callback((cb) => toCallbackStore(store).get('id', cb as any))
      const value = got.value as any
      assert.equal(value.user, 'ann')
      assert.equal(value.cookie.expires, new Date(expiresAt).toISOString())
    })

    it(
      'gives express-session a plain object even when a store hands out a top-level __proto__ key',
      async () => {
        const store = memory()
        const data: Record<string, unknown> = Object.create(null)
        data.user = 'eve'
        data['__proto__'] = { isAdmin: true }
        store.get = async () => ({ data, meta: null, userId: null, expiresAt: Date.now() + 60_000, version: 1 })
        const got = await callback((cb) => toCallbackStore(store).get('id', cb as any))
        const value = got.value as any
        assert.equal(Object.getPrototypeOf(value), Object.prototype)
        assert.equal(value.isAdmin, undefined)
      },
    )

    it('exposes all, length and clear of the store', async () => {
      const face = toCallbackStore(memory())
      await callback((cb) => face.set('a', { cookie: cookieIn(60_000), n: 1 } as any, cb))
      await callback((cb) => face.set('b', { cookie: cookieIn(60_000), n: 2 } as any, cb))
      assert.equal((await callback((cb) => face.length!(cb as any))).value, 2)
      const all = (await callback((cb) => face.all!(cb as any))).value as Record<string, any>
      assert.deepEqual(Object.keys(all).sort(), ['a', 'b'])
      assert.equal(all.a.n, 1)
      await callback((cb) => face.clear!(cb))
      assert.equal((await callback((cb) => face.length!(cb as any))).value, 0)
    })

    it('calls back with SessionDataError, asynchronously, for a session JSON cannot hold, instead of throwing into the middleware', async () => {
      const face = toCallbackStore(memory())
      const cyclic: Record<string, unknown> = { cookie: cookieIn(60_000) }
      cyclic.self = cyclic
      for (const sess of [cyclic, { cookie: cookieIn(60_000), big: 10n }]) {
        let set: Awaited<ReturnType<typeof callback>> | undefined
        assert.doesNotThrow(() => void callback((cb) => face.set('id', sess as any, cb)).then((result) => (set = result)))
        await new Promise((resolve) => setImmediate(resolve))
        assert.equal((set?.err as { code?: string } | undefined)?.code, 'ERR_TESSERA_SESSION_DATA')
        assert.equal(set?.sync, false)
      }
      assert.equal((await callback((cb) => face.get('id', cb as any))).value, undefined)
    })

    it('passes store failures to the callback', async () => {
      const store = memory()
      store.get = () => Promise.reject(DOWN)
      const got = await callback((cb) => toCallbackStore(store).get('id', cb as any))
      assert.equal(got.err, DOWN)
    })
  })

  describe('fromCallbackStore', () => {
    it('is a contract store', () => {
      assert.ok(isContractStore(fromCallbackStore(new expressSession.MemoryStore())))
    })

    it('writes whole objects with a cookie and the metadata, and reads them back without either', async () => {
      const legacy = new expressSession.MemoryStore()
      const store = fromCallbackStore(legacy)
      const expiresAt = Date.now() + 60_000
      const m = meta()
      assert.equal(await store.create('id', { data: { user: 'ann' }, meta: m, userId: 'u1', expiresAt }), 'ok')
      const raw = JSON.parse(legacy.sessions.id)
      assert.equal(raw.user, 'ann')
      assert.equal(raw.cookie.expires, new Date(expiresAt).toISOString())
      assert.deepEqual(raw[META_KEY], { meta: m, userId: 'u1' })

      const found = await store.get('id')
      assert.deepEqual({ ...found?.data }, { user: 'ann' })
      assert.deepEqual(found?.meta, m)
      assert.equal(found?.userId, 'u1')
      assert.equal(found?.expiresAt, expiresAt)
    })

    it('reads a session express-session wrote: no metadata, no owner', async () => {
      const legacy = new expressSession.MemoryStore()
      legacy.sessions.id = JSON.stringify({ cookie: cookieIn(60_000), user: 'ann' })
      const found = await fromCallbackStore(legacy).get('id')
      assert.deepEqual({ ...found?.data }, { user: 'ann' })
      assert.equal(found?.meta, null)
      assert.equal(found?.userId, null)
    })

    it('answers null for a missing or expired session', async () => {
      const legacy = new expressSession.MemoryStore()
      const store = fromCallbackStore(legacy)
      assert.equal(await store.get('missing'), null)
      // a store that does not check expiry itself
      const lax = new expressSession.Store()
      Object.assign(lax, {
        get: (_id: string, cb: any) => cb(null, { cookie: { expires: new Date(Date.now() - 1000).toISOString() }, user: 'ann' }),
        set: (_id: string, _s: unknown, cb: any) => cb(),
        destroy: (_id: string, cb: any) => cb(),
      })
      assert.equal(await fromCallbackStore(lax).get('id'), null)
    })

    it("update writes the patch's whole object with the new expiry", async () => {
      const legacy = new expressSession.MemoryStore()
      const store = fromCallbackStore(legacy)
      await store.create('id', { data: { a: 1, b: 1 }, meta: meta(), userId: null, expiresAt: Date.now() + 60_000 })
      const expiresAt = Date.now() + 120_000
      assert.equal(await store.update('id', { set: { a: 2 }, unset: ['b'], whole: { a: 2 } }, expiresAt), 'ok')
      const found = await store.get('id')
      assert.deepEqual({ ...found?.data }, { a: 2 })
      assert.equal(found?.expiresAt, expiresAt)
    })

    it('touch calls the store touch when there is one, and is a no-op otherwise', async () => {
      const calls: string[] = []
      const legacy = new expressSession.Store()
      Object.assign(legacy, {
        get: (_id: string, cb: any) => cb(null, null),
        set: (_id: string, _s: unknown, cb: any) => cb(),
        destroy: (_id: string, cb: any) => cb(),
        touch: (id: string, _s: unknown, cb: any) => {
          calls.push(id)
          cb()
        },
      })
      await fromCallbackStore(legacy).touch('id', Date.now() + 1000)
      assert.deepEqual(calls, ['id'])
      delete (legacy as any).touch
      await fromCallbackStore(legacy).touch('id', Date.now() + 1000)
      assert.deepEqual(calls, ['id'])
    })

    it('destroy deletes the session', async () => {
      const legacy = new expressSession.MemoryStore()
      const store = fromCallbackStore(legacy)
      await store.create('id', { data: {}, meta: meta(), userId: null, expiresAt: Date.now() + 60_000 })
      await store.destroy('id')
      assert.equal(legacy.sessions.id, undefined)
    })

    it('rejects with the error the store called back with', async () => {
      const store = fromCallbackStore(brokenStore())
      const isDown = (err: unknown) => err === DOWN
      await assert.rejects(store.get('id'), isDown)
      await assert.rejects(store.create('id', { data: {}, meta: meta(), userId: null, expiresAt: Date.now() + 1000 }), isDown)
      await assert.rejects(store.destroy('id'), isDown)
    })

    it('keeps the stored __proto__ key out of the prototype chain', async () => {
      const lax = new expressSession.Store()
      Object.assign(lax, {
        get: (_id: string, cb: any) => cb(null, JSON.parse(`{"cookie":${JSON.stringify(cookieIn(60_000))},"__proto__":{"polluted":"yes"},"user":"ann"}`)),
        set: (_id: string, _s: unknown, cb: any) => cb(),
        destroy: (_id: string, cb: any) => cb(),
      })
      const found = await fromCallbackStore(lax).get('id')
      assert.equal(Object.getPrototypeOf(found?.data), null)
      assert.equal((found?.data as any).polluted, undefined)
      assert.equal(({} as any).polluted, undefined)
    })
  })
})
