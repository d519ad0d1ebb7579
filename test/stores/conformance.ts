/**
 * One conformance suite for every store of the contract (src/stores/contract.ts). It knows nothing
 * of Redis or SQL: a store test file gives it a factory and, where it can, ways to corrupt a record
 * and to cut the connection.
 */
import { after, afterEach, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { kKeepsExpiry, type SessionMeta, type SessionPatch, type SessionStore, type SessionValues } from '../../src/stores/contract.ts'
import { SessionDataError } from '../../src/errors.ts'
import { nestedArray, nestedObject } from '../support/unstorable.ts'

export interface ConformanceOptions {
  /** A fresh, empty store (own prefix/table); called once per test. */
  make: () => Promise<SessionStore> | SessionStore
  /** Releases what `make` created (dropping tables, deleting keys); called after each test. */
  dispose?: (store: SessionStore) => Promise<void> | void
  /** Writes unreadable data for `id` behind the store's back. */
  corrupt?: (store: SessionStore, id: string) => Promise<void>
  /** Replaces the stored metadata of `id` with this JSON text, straight in the backend. */
  writeMeta?: (store: SessionStore, id: string, json: string) => Promise<void>
  /** Makes the store's connection fail (stop or close it); `restore` undoes it. */
  outage?: { cut: (store: SessionStore) => Promise<void>; restore: (store: SessionStore) => Promise<void> }
  /** Skip the whole suite with this reason (a server is not running). */
  skip?: string | false
  /** The store enforces expiry with a server clock (Redis TTL) rather than `Date.now()`: wait instead of mocking. */
  serverClock?: boolean
  /** The store declares `kKeepsExpiry`: it leaves the expiry on an update whose patch says `keepExpiry`. */
  keepsExpiry?: boolean
}

export function newId(): string {
  return randomBytes(32).toString('base64url')
}

function meta(overrides: Partial<SessionMeta> = {}): SessionMeta {
  const now = Date.now()
  return { createdAt: now, absoluteExpiresAt: now + 12 * 3_600_000, idleTimeout: 1_800_000, ...overrides }
}

function patch(set: SessionValues, unset: string[] = [], extra: Partial<SessionPatch> = {}): SessionPatch {
  return { set, unset, whole: set, ...extra }
}

const HOUR = 3_600_000

/** Values `JSON.stringify` produces that every store must give back exactly. */
const ROUND_TRIPS: Array<[string, () => SessionValues]> = [
  ['U+0000 in strings, at every depth', () => ({ s: 'a\u0000b', nested: { t: '\u0000', list: ['\u0000x', { u: 'y\u0000' }] } })],
  ['U+0000 in nested keys', () => ({ o: { 'a\u0000b': 1, '\u0000': { '\u0000\u0000': 2 } } })],
  ['lone surrogates in strings and nested keys', () => ({ s: '\ud800', t: 'x\udc00y', o: { '\udfff': '\ud83d', n: ['\udbff'] } })],
  ['unicode: accents, symbols, astral characters, in values and keys', () => ({ 'é☃𝄞': '𝄞 ☃ é', 'ключ': { '键': 'значение', '🔑': ['🗝'] } })],
  ['escapes and control characters', () => ({ s: '"\\/\b\f\n\r\t\u0001\u001f\u007f\u2028\u2029', '"quoted" \\ key': 1 })],
  ['an array nested 1,001 levels deep', () => ({ deep: nestedArray(1001) })],
  ['an object nested 1,001 levels deep', () => ({ deep: nestedObject(1001) })],
  ['the order of keys inside nested objects', () => ({ o: { z: 1, a: 2, m: { yy: 1, b: 2, aaa: 3, c: { z: 0, y: 0 } } }, list: [{ b: 1, a: 2 }, { '10': 1, '2': 2, x: 3 }] })],
  [
    'numbers: 1e21, -0, the smallest and largest doubles, fractions, big integers',
    () => ({ n: [1e21, -0, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 0.1 + 0.2, 1.5e-7, 123456789012345680000, 2 ** 53, -1, 0] }),
  ],
  ['very long strings (1 MB, with U+0000 and astral characters)', () => ({ long: 'x'.repeat(1_000_000) + '\u0000' + '𝄞☃'.repeat(1000) })],
  ['empty and falsy values', () => ({ e: '', z: 0, f: false, n: null, a: [], o: {} })],
]

/** Stored metadata the engine cannot judge a session by; each row gives its JSON text at `now`. */
const MALFORMED_META: Array<[string, (now: number) => string]> = [
  ['{} (no deadlines at all)', () => '{}'],
  ['without absoluteExpiresAt', (now) => JSON.stringify({ createdAt: now, idleTimeout: 1_800_000 })],
  ['without createdAt', (now) => JSON.stringify({ absoluteExpiresAt: now + HOUR, idleTimeout: 1_800_000 })],
  ['without idleTimeout', (now) => JSON.stringify({ createdAt: now, absoluteExpiresAt: now + HOUR })],
  ['with a deadline as text', (now) => JSON.stringify({ createdAt: now, absoluteExpiresAt: String(now + HOUR), idleTimeout: 1_800_000 })],
  ['with a retiredAt that is not a number', (now) => JSON.stringify({ createdAt: now, absoluteExpiresAt: now + HOUR, idleTimeout: 1_800_000, retiredAt: true })],
  ['with a binding that is not text', (now) => JSON.stringify({ createdAt: now, absoluteExpiresAt: now + HOUR, idleTimeout: 1_800_000, binding: 1 })],
  ['that is an array', () => '[]'],
  ['that is a number', () => '42'],
]

/** Values every store may refuse (with SessionDataError, writing nothing) rather than hold. */
const MAY_REFUSE: Array<[string, () => SessionValues]> = [
  ['an array nested 5,000 levels deep', () => ({ deep: nestedArray(5000) })],
  ['an object nested 5,000 levels deep', () => ({ deep: nestedObject(5000) })],
  ['a top-level key with U+0000', () => ({ 'a\u0000b': 1 })],
  ['a top-level key with a lone surrogate', () => ({ 'a\ud800': 1 })],
]

/** Values JSON cannot hold. */
const UNSERIALIZABLE: Array<[string, () => SessionValues]> = [
  [
    'a cycle',
    () => {
      const node: Record<string, unknown> = { name: 'a' }
      node.self = node
      return { node }
    },
  ],
  ['a BigInt', () => ({ big: 10n })],
  [
    'a value whose toJSON throws',
    () => ({
      custom: {
        toJSON() {
          throw new Error('toJSON failed')
        },
      },
    }),
  ],
]

export function runConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} store conformance`, { skip: options.skip || false }, () => {
    let store: SessionStore
    const open: SessionStore[] = []

    async function fresh(): Promise<SessionStore> {
      store = await options.make()
      open.push(store)
      return store
    }

    afterEach(async () => {
      while (open.length > 0) {
        const s = open.pop() as SessionStore
        await options.dispose?.(s)
      }
    })

    async function created(data: SessionValues = { user: 'ann' }, extra: { userId?: string | null; expiresAt?: number; meta?: SessionMeta } = {}): Promise<string> {
      const id = newId()
      const result = await store.create(id, {
        data,
        meta: extra.meta ?? meta(),
        userId: extra.userId ?? null,
        expiresAt: extra.expiresAt ?? Date.now() + HOUR,
      })
      assert.equal(result, 'ok')
      return id
    }

    describe('create and get', () => {
      before(async () => {})
      it('returns what was created, with version 1', async () => {
        await fresh()
        const m = meta()
        const expiresAt = Date.now() + HOUR
        const id = newId()
        assert.equal(await store.create(id, { data: { user: 'ann', cart: [1, 2], nested: { a: { b: null } } }, meta: m, userId: 'u1', expiresAt }), 'ok')
        const got = await store.get(id)
        assert.ok(got)
        assert.deepEqual({ ...got.data }, { user: 'ann', cart: [1, 2], nested: { a: { b: null } } })
        assert.deepEqual(got.meta, m)
        assert.equal(got.userId, 'u1')
        assert.equal(got.version, 1)
        assert.ok(Math.abs(got.expiresAt - expiresAt) < 1000, `expiresAt ${got.expiresAt} vs ${expiresAt}`)
      })

      it('keeps JSON values exactly: big numbers, floats, empty arrays and objects, unicode', async () => {
        await fresh()
        const data = { n: 12345678901234568, f: 0.30000000000000004, empty: [], obj: {}, s: 'é ☃ 𝄞 "q" \\ \n', t: true, z: null }
        const id = await created(data)
        const got = await store.get(id)
        assert.deepEqual({ ...got?.data }, data)
      })

      it('answers null for an unknown id', async () => {
        await fresh()
        assert.equal(await store.get(newId()), null)
      })

      it('never overwrites an existing id: collision', async () => {
        await fresh()
        const id = await created({ user: 'ann' })
        assert.equal(await store.create(id, { data: { user: 'eve' }, meta: meta(), userId: null, expiresAt: Date.now() + HOUR }), 'collision')
        assert.equal((await store.get(id))?.data.user, 'ann')
      })

      it('refuses to re-create an id destroyed moments ago (tombstone)', async () => {
        await fresh()
        const id = await created()
        await store.destroy(id)
        assert.equal(await store.create(id, { data: { user: 'eve' }, meta: meta(), userId: null, expiresAt: Date.now() + HOUR }), 'collision')
        assert.equal(await store.get(id), null)
      })

      it('does not let stored keys pollute prototypes', async () => {
        await fresh()
        const data = JSON.parse('{"a":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}},"b":[{"__proto__":{"polluted":3}}]}') as SessionValues
        const id = await created(data)
        const got = await store.get(id)
        assert.ok(got)
        assert.equal(({} as Record<string, unknown>).polluted, undefined)
        const a = got.data.a as Record<string, unknown>
        assert.equal(Object.getPrototypeOf(a), Object.prototype)
        assert.equal(Object.hasOwn(a, '__proto__'), false)
        assert.equal((a as { polluted?: unknown }).polluted, undefined)
      })
    })

    describe('JSON values', () => {
      /** Every key's value as JSON: nested key order included (a store may order the top-level keys its own way). */
      const asJson = (data: SessionValues) => Object.fromEntries(Object.keys(data).map((key) => [key, JSON.stringify(data[key])]))

      for (const [what, data] of ROUND_TRIPS) {
        it(`round-trips ${what} exactly, through create and through update`, async () => {
          await fresh()
          const id = await created(data())
          assert.deepEqual(asJson((await store.get(id))?.data ?? {}), asJson(data()))
          const patched = await created({})
          assert.equal(await store.update(patched, patch(data()), Date.now() + HOUR), 'ok')
          assert.deepEqual(asJson((await store.get(patched))?.data ?? {}), asJson(data()))
          assert.equal(await store.update(patched, patch({ other: 1 }, Object.keys(data())), Date.now() + HOUR), 'ok')
          assert.deepEqual({ ...(await store.get(patched))?.data }, { other: 1 })
        })
      }

      for (const [what, data] of MAY_REFUSE) {
        it(`round-trips ${what}, or refuses it with SessionDataError and writes nothing`, async () => {
          await fresh()
          const id = newId()
          const outcome = await store.create(id, { data: data(), meta: meta(), userId: null, expiresAt: Date.now() + HOUR }).then(
            () => 'stored',
            (err: unknown) => err,
          )
          if (outcome === 'stored') assert.deepEqual(asJson((await store.get(id))?.data ?? {}), asJson(data()))
          else {
            assert.ok(outcome instanceof SessionDataError, String(outcome))
            assert.equal(await store.get(id), null)
          }
          const patched = await created({ user: 'ann' })
          const updated = await store.update(patched, patch(data()), Date.now() + HOUR).then(
            () => 'stored',
            (err: unknown) => err,
          )
          if (updated === 'stored') assert.deepEqual(asJson((await store.get(patched))?.data ?? {}), asJson({ user: 'ann', ...data() }))
          else {
            assert.ok(updated instanceof SessionDataError, String(updated))
            assert.deepEqual({ ...(await store.get(patched))?.data }, { user: 'ann' })
          }
        })
      }

      for (const [what, data] of UNSERIALIZABLE) {
        it(`refuses ${what} with SessionDataError and writes nothing`, async () => {
          await fresh()
          const id = newId()
          await assert.rejects(store.create(id, { data: data(), meta: meta(), userId: null, expiresAt: Date.now() + HOUR }), SessionDataError)
          assert.equal(await store.get(id), null)
          const patched = await created({ user: 'ann' })
          await assert.rejects(store.update(patched, patch({ user: 'bob', ...data() }), Date.now() + HOUR), SessionDataError)
          assert.deepEqual({ ...(await store.get(patched))?.data }, { user: 'ann' })
        })
      }
    })

    describe('expiry', () => {
      it('never returns a record past its expiresAt', async () => {
        await fresh()
        const id = await created({ user: 'ann' }, { expiresAt: Date.now() + 300 })
        assert.ok(await store.get(id))
        await new Promise((resolve) => setTimeout(resolve, 450))
        assert.equal(await store.get(id), null)
      })

      it('slides the expiry on get only when due, and returns the expiry from before the slide', async () => {
        await fresh()
        const now = Date.now()
        const id = await created({ user: 'ann' }, { expiresAt: now + 10 * 60_000 })
        // not due: the current expiry is after slideIfBefore
        const first = await store.get(id, { slideTo: now + 30 * 60_000, slideIfBefore: now + 5 * 60_000 })
        assert.ok(first && Math.abs(first.expiresAt - (now + 10 * 60_000)) < 1000)
        assert.ok(Math.abs(((await store.get(id))?.expiresAt ?? 0) - (now + 10 * 60_000)) < 1000)
        // due
        const second = await store.get(id, { slideTo: now + 30 * 60_000, slideIfBefore: now + 20 * 60_000 })
        assert.ok(second && Math.abs(second.expiresAt - (now + 10 * 60_000)) < 1000, 'get returns the expiry it had before the slide')
        assert.ok(Math.abs(((await store.get(id))?.expiresAt ?? 0) - (now + 30 * 60_000)) < 1000)
      })

      it('never slides past the absolute deadline', async () => {
        await fresh()
        const now = Date.now()
        const absolute = now + 20 * 60_000
        const id = await created({ user: 'ann' }, { expiresAt: now + 5 * 60_000, meta: meta({ absoluteExpiresAt: absolute }) })
        await store.get(id, { slideTo: now + 60 * 60_000, slideIfBefore: now + 50 * 60_000 })
        const got = await store.get(id)
        assert.ok(got)
        assert.ok(got.expiresAt <= absolute + 1000, `slid to ${got.expiresAt - now} ms, past the absolute deadline ${absolute - now}`)
        assert.ok(got.expiresAt >= absolute - 1000)
      })

      it('touch moves the expiry of a live session and does nothing to a missing one', async () => {
        await fresh()
        const id = await created({ user: 'ann' }, { expiresAt: Date.now() + 60_000 })
        const to = Date.now() + 2 * HOUR
        await store.touch(id, to)
        assert.ok(Math.abs(((await store.get(id))?.expiresAt ?? 0) - to) < 1000)
        const missing = newId()
        await store.touch(missing, to)
        assert.equal(await store.get(missing), null)
      })

      it("touch answers 'ok' for a live session and 'gone' for a missing or destroyed one (and does not recreate it)", async () => {
        await fresh()
        const to = Date.now() + 2 * HOUR
        const live = await created({ user: 'ann' }, { expiresAt: Date.now() + 60_000 })
        assert.equal(await store.touch(live, to), 'ok')
        assert.equal(await store.touch(newId(), to), 'gone')
        const destroyed = await created({ user: 'bob' }, { expiresAt: Date.now() + 60_000 })
        await store.destroy(destroyed)
        assert.equal(await store.touch(destroyed, to), 'gone')
        assert.equal(await store.get(destroyed), null)
      })

      it('prune removes only expired records', { skip: false }, async (t) => {
        await fresh()
        if (typeof store.prune !== 'function') {
          t.skip('this store expires records natively and has no prune()')
          return
        }
        const live = await created({ user: 'live' }, { expiresAt: Date.now() + HOUR })
        const dead: string[] = []
        for (let i = 0; i < 5; i++) dead.push(await created({ i }, { expiresAt: Date.now() + 100 }))
        await new Promise((resolve) => setTimeout(resolve, 200))
        const removed = await store.prune()
        assert.equal(removed, 5)
        assert.equal((await store.get(live))?.data.user, 'live')
        for (const id of dead) assert.equal(await store.get(id), null)
      })
    })

    describe('update', () => {
      it('sets and unsets only the given keys, bumps the version and moves the expiry', async () => {
        await fresh()
        const id = await created({ user: 'ann', cart: [1], flash: 'hi' })
        const expiresAt = Date.now() + 2 * HOUR
        assert.equal(await store.update(id, patch({ cart: [1, 2] }, ['flash']), expiresAt), 'ok')
        const got = await store.get(id)
        assert.ok(got)
        assert.deepEqual({ ...got.data }, { user: 'ann', cart: [1, 2] })
        assert.equal(got.version, 2)
        assert.ok(Math.abs(got.expiresAt - expiresAt) < 1000)
      })

      it('declares kKeepsExpiry when it leaves the expiry on an update that says keepExpiry, and then leaves it', async () => {
        await fresh()
        assert.equal(store[kKeepsExpiry] === true, options.keepsExpiry === true)
        if (options.keepsExpiry !== true) return
        const before = Date.now() + HOUR
        const id = await created({ user: 'ann' }, { expiresAt: before })
        assert.equal(await store.update(id, { ...patch({ n: 1 }), keepExpiry: true }, before + 5 * 60_000), 'ok')
        const got = await store.get(id)
        assert.ok(got)
        assert.deepEqual({ ...got.data }, { user: 'ann', n: 1 })
        assert.equal(got.version, 2)
        assert.ok(Math.abs(got.expiresAt - before) < 1000, `expiry ${got.expiresAt}, written as ${before}`)
      })

      it('replace: the patch is the whole data', async () => {
        await fresh()
        const id = await created({ user: 'ann', cart: [1] })
        assert.equal(await store.update(id, patch({ other: true }, [], { replace: true }), Date.now() + HOUR), 'ok')
        assert.deepEqual({ ...(await store.get(id))?.data }, { other: true })
      })

      it('writes metadata and the owner when given, keeps them when not', async () => {
        await fresh()
        const id = await created({ user: 'ann' }, { userId: 'u1' })
        const m = meta({ authTime: 42, cookieMaxAge: 1000 })
        assert.equal(await store.update(id, patch({ a: 1 }, [], { meta: m }), Date.now() + HOUR), 'ok')
        let got = await store.get(id)
        assert.deepEqual(got?.meta, m)
        assert.equal(got?.userId, 'u1')
        assert.equal(await store.update(id, patch({ a: 2 }, [], { userId: 'u2' }), Date.now() + HOUR), 'ok')
        got = await store.get(id)
        assert.equal(got?.userId, 'u2')
        assert.deepEqual(got?.meta, m)
      })

      it("answers 'gone' for a missing id and does not create it", async () => {
        await fresh()
        const id = newId()
        assert.equal(await store.update(id, patch({ user: 'eve' }), Date.now() + HOUR), 'gone')
        assert.equal(await store.get(id), null)
      })

      it("never resurrects a destroyed session: 'gone'", async () => {
        await fresh()
        const id = await created({ user: 'ann' })
        await store.destroy(id)
        assert.equal(await store.update(id, patch({ user: 'ann', cart: [1] }), Date.now() + HOUR), 'gone')
        assert.equal(await store.get(id), null)
      })

      it("answers 'gone' for an expired session", async () => {
        await fresh()
        const id = await created({ user: 'ann' }, { expiresAt: Date.now() + 200 })
        await new Promise((resolve) => setTimeout(resolve, 350))
        assert.equal(await store.update(id, patch({ x: 1 }), Date.now() + HOUR), 'gone')
        assert.equal(await store.get(id), null)
      })

      it("answers 'conflict' when expectVersion does not match, and writes nothing", async () => {
        await fresh()
        const id = await created({ n: 0 })
        assert.equal(await store.update(id, patch({ n: 1 }), Date.now() + HOUR, { expectVersion: 1 }), 'ok')
        assert.equal(await store.update(id, patch({ n: 99 }), Date.now() + HOUR, { expectVersion: 1 }), 'conflict')
        const got = await store.get(id)
        assert.equal(got?.data.n, 1)
        assert.equal(got?.version, 2)
      })

      it('keeps 50 overlapping updates of disjoint keys, with a strictly increasing version', async () => {
        await fresh()
        const id = await created({ base: true })
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.update(id, patch({ [`k${i}`]: i }), Date.now() + HOUR)))
        assert.deepEqual(new Set(results), new Set(['ok']))
        const got = await store.get(id)
        assert.ok(got)
        for (let i = 0; i < 50; i++) assert.equal(got.data[`k${i}`], i, `key k${i} lost`)
        assert.equal(got.data.base, true)
        assert.equal(got.version, 51)
      })

      it('same key from two writers: the last write wins', async () => {
        await fresh()
        const id = await created({ color: 'red' })
        await store.update(id, patch({ color: 'green' }), Date.now() + HOUR)
        await store.update(id, patch({ color: 'blue' }), Date.now() + HOUR)
        assert.equal((await store.get(id))?.data.color, 'blue')
      })
    })

    describe('destroy', () => {
      it('deletes the session; destroying a missing one is fine', async () => {
        await fresh()
        const id = await created()
        await store.destroy(id)
        assert.equal(await store.get(id), null)
        await store.destroy(newId())
      })
    })

    describe('per-user index', () => {
      it('lists the live sessions of a user and destroys them, but one', async (t) => {
        await fresh()
        if (typeof store.listByUser !== 'function' || typeof store.destroyByUser !== 'function') {
          t.skip('no per-user index')
          return
        }
        const a = await created({ n: 1 }, { userId: 'ann' })
        const b = await created({ n: 2 }, { userId: 'ann' })
        const c = await created({ n: 3 }, { userId: 'bob' })
        const d = await created({ n: 4 })
        assert.equal(await store.update(d, patch({}, [], { userId: 'ann' }), Date.now() + HOUR), 'ok')
        const listed = await store.listByUser('ann')
        assert.deepEqual(listed.map((s) => s.id).sort(), [a, b, d].sort())
        for (const entry of listed) assert.ok(entry.expiresAt > Date.now())
        assert.equal(await store.destroyByUser('ann', b), 2)
        assert.equal(await store.get(a), null)
        assert.equal(await store.get(d), null)
        assert.ok(await store.get(b))
        assert.ok(await store.get(c))
        assert.deepEqual((await store.listByUser('ann')).map((s) => s.id), [b])
        // a destroyed session leaves the index
        await store.destroy(b)
        assert.deepEqual(await store.listByUser('ann'), [])
      })

      it('lists each session with its metadata as written and the expiry its last slide set', async (t) => {
        await fresh()
        if (typeof store.listByUser !== 'function') {
          t.skip('no per-user index')
          return
        }
        // what a "your devices" page shows: the client description and the sign-in time from the
        // metadata, and the last use read from the expiry (engine/last-seen.ts)
        const now = Date.now()
        const laptop = meta({ authTime: now - 5_000, client: 'Firefox on Linux — 𝄞 "quoted" \\ ünïcode' })
        const phone = meta({ authTime: now - 9_000, client: 'Safari on iPhone', cookieMaxAge: 2 * HOUR })
        const a = await created({ n: 1 }, { userId: 'dee', meta: laptop, expiresAt: now + 10 * 60_000 })
        const b = await created({ n: 2 }, { userId: 'dee', meta: phone, expiresAt: now + 2 * HOUR })
        await store.get(a, { slideTo: now + 30 * 60_000, slideIfBefore: now + 20 * 60_000 })
        await store.touch(b, now + 3 * HOUR)
        const listed = new Map((await store.listByUser('dee')).map((entry) => [entry.id, entry]))
        assert.deepEqual(listed.get(a)?.meta, laptop)
        assert.deepEqual(listed.get(b)?.meta, phone)
        assert.ok(Math.abs((listed.get(a)?.expiresAt ?? 0) - (now + 30 * 60_000)) < 1000, 'the slide of the read')
        assert.ok(Math.abs((listed.get(b)?.expiresAt ?? 0) - (now + 3 * HOUR)) < 1000, 'the touch')
      })

      it('drops expired sessions from the listing', async (t) => {
        await fresh()
        if (typeof store.listByUser !== 'function') {
          t.skip('no per-user index')
          return
        }
        await created({ n: 1 }, { userId: 'cat', expiresAt: Date.now() + 150 })
        const live = await created({ n: 2 }, { userId: 'cat' })
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.deepEqual((await store.listByUser('cat')).map((s) => s.id), [live])
      })
    })

    describe('bad data and failures', () => {
      it('unreadable stored data rejects with SessionDataError, not a crash', async (t) => {
        await fresh()
        if (options.corrupt === undefined) {
          t.skip('no way to corrupt this store from outside')
          return
        }
        const id = await created({ user: 'ann' })
        await options.corrupt(store, id)
        await assert.rejects(store.get(id), (err: unknown) => err instanceof SessionDataError && err.code === 'ERR_TESSERA_SESSION_DATA')
      })

      describe('stored metadata', () => {
        for (const [what, json] of MALFORMED_META) {
          it(`metadata ${what} rejects with SessionDataError: no deadline is skipped`, async (t) => {
            await fresh()
            if (options.writeMeta === undefined) {
              t.skip('no way to write this store from outside')
              return
            }
            const id = await created({ user: 'ann' }, { userId: 'ann' })
            await options.writeMeta(store, id, json(Date.now()))
            await assert.rejects(store.get(id), (err: unknown) => err instanceof SessionDataError && err.code === 'ERR_TESSERA_SESSION_DATA')
            await assert.rejects(store.get(id, { slideTo: Date.now() + 2 * HOUR }), (err: unknown) => err instanceof SessionDataError)
          })
        }

        it('a session whose metadata is unreadable is still listed for its owner, with none', async (t) => {
          await fresh()
          if (options.writeMeta === undefined || store.listByUser === undefined) {
            t.skip('no way to write this store from outside, or no per-user index')
            return
          }
          const damaged = await created({ user: 'ann' }, { userId: 'ann' })
          const intact = await created({ user: 'ann' }, { userId: 'ann' })
          await options.writeMeta(store, damaged, '{}')
          const listed = await store.listByUser('ann')
          assert.deepEqual(listed.map((info) => info.id).sort(), [damaged, intact].sort())
          assert.equal(listed.find((info) => info.id === damaged)?.meta, null)
        })

        it('complete metadata written from outside reads back as written, unknown fields kept', async (t) => {
          await fresh()
          if (options.writeMeta === undefined) {
            t.skip('no way to write this store from outside')
            return
          }
          const id = await created({ user: 'ann' })
          const written = { ...meta(), cookieMaxAge: null, client: 'Firefox', retiredAt: Date.now(), later: 'a field of a later version' }
          await options.writeMeta(store, id, JSON.stringify(written))
          assert.deepEqual({ ...(await store.get(id))?.meta }, written)
        })
      })

      it('an outage rejects (the engine turns it into 503) and loses nothing acknowledged', async (t) => {
        await fresh()
        if (options.outage === undefined) {
          t.skip('no way to cut this store')
          return
        }
        const id = await created({ user: 'ann', n: 1 })
        assert.equal(await store.update(id, patch({ n: 2 }), Date.now() + HOUR), 'ok')
        await options.outage.cut(store)
        try {
          // a read may still succeed (SQLite readers do not wait for a locked writer), but only with acknowledged data
          const read = await store.get(id).then(
            (value) => value,
            () => 'rejected' as const,
          )
          if (read !== 'rejected') assert.equal(read?.data.n, 2)
          await assert.rejects(store.update(id, patch({ n: 3 }), Date.now() + HOUR))
        } finally {
          await options.outage.restore(store)
        }
        const got = await store.get(id)
        assert.equal(got?.data.n, 2)
        assert.equal(got?.data.user, 'ann')
      })
    })

    after(async () => {
      for (const s of open) await options.dispose?.(s)
    })
  })
}
