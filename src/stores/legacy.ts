import { Store, type Session, type StoredSessionData } from '../express-store.ts'
import { isSafeKey, parseJson, stringifyJson } from '../safe-json.ts'
import {
  kContractStore,
  type CreateResult,
  type GetOptions,
  type NewSession,
  type SessionMeta,
  type SessionPatch,
  type SessionStore,
  type SessionValues,
  type StoredSession,
  type UpdateResult,
} from './contract.ts'
import { checkMeta } from './record.ts'

/**
 * The one place where the two store interfaces meet:
 * - `toCallbackStore(store)` gives a built-in store express-session's callback face, so it works
 *   under express-session itself and under the compat entry;
 * - `fromCallbackStore(store)` lets the main entry use any express-session store (connect-redis,
 *   connect-pg-simple, …). Such stores write whole objects: concurrent writes are last-writer-wins
 *   and a write racing a destroy can recreate the session. Use a built-in store to avoid both.
 */

/** The key under which the main entry's metadata travels inside a whole-object session. */
export const META_KEY = '__tessera'
const DAY = 86_400_000

/** Calls back outside the promise chain, so an exception thrown by the callback is not swallowed. */
function settle<T>(promise: Promise<T>, onValue: (value: T) => void, onError: (err: unknown) => void): void {
  promise.then(
    (value) => process.nextTick(onValue, value),
    (err: unknown) => process.nextTick(onError, err),
  )
}

function expiryOf(cookie: StoredSessionData['cookie'] | undefined, defaultTtl: number): number {
  const expires = cookie?.expires
  if (expires != null) {
    const at = typeof expires === 'string' ? Date.parse(expires) : +expires
    if (!Number.isNaN(at)) return at
  }
  return Date.now() + defaultTtl
}

export interface CallbackStoreOptions {
  /** Lifetime (ms) of sessions whose cookie has no `expires` (browser-session cookies). Default one day. */
  defaultTtl?: number
}

/** A built-in store seen through express-session's callback interface. */
export interface CallbackStore extends Store {
  /** The built-in store behind this face. */
  readonly store: SessionStore
}

/**
 * Gives a built-in store express-session's callback interface (`get/set/destroy/touch`, plus
 * `all/length/clear` when the store has them).
 *
 * @example
 * import expressSession from 'express-session'
 * import { toCallbackStore } from 'tessera-session'
 * app.use(expressSession({ secret, store: toCallbackStore(new SqliteStore({ path: 'sessions.db' })) }))
 */
export function toCallbackStore(store: SessionStore, options: CallbackStoreOptions = {}): CallbackStore {
  const face = Object.create(Store.prototype) as Store
  Store.call(face)
  return installCallbackFace(face, store, options)
}

/** Gives `face`, an already constructed `Store`, the callback methods of `store`. */
export function installCallbackFace(face: Store, store: SessionStore, options: CallbackStoreOptions = {}): CallbackStore {
  const defaultTtl = options.defaultTtl ?? DAY
  Object.defineProperty(face, 'store', { value: store, enumerable: false })

  face.get = (sid, callback) => {
    // compat: a missing session is `undefined`, as from express-session's MemoryStore
    settle(store.get(sid), (found) => callback(null, found === null ? undefined : toWholeObject(found)), callback)
  }
  face.set = (sid, session, callback) => {
    // compat: like express-session's MemoryStore, the session is serialized when `set` is called;
    // what JSON cannot hold is the callback's error, not a throw into the middleware's end-of-response hook
    let data: SessionValues & StoredSessionData
    try {
      data = parseJson(stringifyJson(session, undefined) as string) as SessionValues & StoredSessionData
    } catch (err) {
      process.nextTick(() => callback?.(err))
      return
    }
    const expiresAt = expiryOf(data.cookie, defaultTtl)
    const patch: SessionPatch = { set: data, unset: [], replace: true, whole: data }
    const write = store.update(sid, patch, expiresAt).then((result) => {
      return result === 'gone' ? store.create(sid, { data, meta: null, userId: null, expiresAt }) : result
    })
    settle(write, () => callback?.(), (err) => callback?.(err))
  }
  face.destroy = (sid, callback) => {
    settle(store.destroy(sid), () => callback?.(), (err) => callback?.(err))
  }
  face.touch = (sid, session, callback) => {
    // compat: express-session's MemoryStore stores the touched cookie, not only a new expiry
    const cookie = parseJson(JSON.stringify(session.cookie)) as StoredSessionData['cookie']
    const patch: SessionPatch = { set: { cookie }, unset: [], whole: { ...(session as Session), cookie } }
    settle(store.update(sid, patch, expiryOf(cookie, defaultTtl)), () => callback?.(), (err) => callback?.(err))
  }
  const { all, length, clear } = store as SessionStore & {
    all?: () => Promise<Array<[string, StoredSession]>>
    length?: () => Promise<number>
    clear?: () => Promise<void>
  }
  if (typeof all === 'function') {
    face.all = (callback) => {
      const sessions = all.call(store).then((entries) => {
        const byId: Record<string, StoredSessionData> = Object.create(null)
        for (const [id, found] of entries) byId[id] = toWholeObject(found)
        return byId
      })
      settle(sessions, (byId) => callback(null, byId), callback)
    }
  }
  if (typeof length === 'function') {
    face.length = (callback) => settle(length.call(store), (n) => callback(null, n), callback)
  }
  if (typeof clear === 'function') {
    face.clear = (callback) => settle(clear.call(store), () => callback?.(), (err) => callback?.(err))
  }
  return face as CallbackStore
}

/** A stored session as express-session sees it: data plus `cookie`. */
function toWholeObject(found: StoredSession): StoredSessionData {
  const data = found.data
  // a plain object, as JSON.parse gives it (stores hand out null-prototype data; the keys are safe)
  const whole = {} as StoredSessionData
  if (typeof data.cookie !== 'object' || data.cookie === null) {
    // written by the main entry: express-session needs a cookie to rebuild the session
    whole.cookie = { originalMaxAge: found.meta?.cookieMaxAge ?? null, expires: new Date(found.expiresAt).toISOString(), httpOnly: true, path: '/' }
  }
  // `__proto__` would become the object's prototype: never copied
  for (const key of Object.keys(data)) if (isSafeKey(key)) whole[key] = data[key]
  return whole
}

/** How many slid expiries `fromCallbackStore` remembers (the oldest is forgotten first): enough for the sessions active within one slide interval. */
const REMEMBERED_SLIDES = 10_000

function noop(): void {}

/** Runs a callback-style call as a promise. */
function call<T>(run: (done: (err: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((err, value) => (err ? reject(err) : resolve(value)))
  })
}

/**
 * The expiry this process last gave each record through `touch`: the stored cookie no longer says it,
 * and without it every read of a slid session would look due for another slide.
 */
class Slides {
  readonly #at = new Map<string, number>()

  get(id: string): number | undefined {
    return this.#at.get(id)
  }

  remember(id: string, expiresAt: number): void {
    this.#at.delete(id)
    this.#at.set(id, expiresAt)
    if (this.#at.size > REMEMBERED_SLIDES) this.#at.delete(this.#at.keys().next().value as string)
  }

  forget(id: string): void {
    this.#at.delete(id)
  }
}

/** What `fromCallbackStore` works with: the store, its default lifetime, the slides it gave. */
interface Adapted {
  legacy: Store
  defaultTtl: number
  slides: Slides
}

/** Slides a record through the store's `touch`, with the whole session: some stores implement touch as a write of what they are given. */
function touchLegacy(adapted: Adapted, id: string, whole: StoredSessionData, expiresAt: number): Promise<unknown> {
  const touched = { ...whole, cookie: { ...whole.cookie, expires: new Date(expiresAt).toISOString() } }
  return call((done) => (adapted.legacy.touch as NonNullable<Store['touch']>)(id, touched, done)).then(() => adapted.slides.remember(id, expiresAt))
}

/** The whole object a session is written as: our metadata and owner under META_KEY, the expiry in the cookie. */
function wholeObject(data: SessionValues, meta: SessionMeta | null, userId: string | null, expiresAt: number): StoredSessionData {
  const maxAge = meta?.cookieMaxAge ?? null
  const whole = { cookie: { originalMaxAge: maxAge, expires: new Date(expiresAt).toISOString(), httpOnly: true, path: '/' } } as StoredSessionData
  for (const key of Object.keys(data)) if (key !== 'cookie' && key !== META_KEY) whole[key] = data[key]
  whole[META_KEY] = { meta, userId }
  return whole
}

/** A record read from the store, judged by its stored cookie and the slides this process gave it, and slid when due. */
async function readLegacy(adapted: Adapted, id: string, slide: GetOptions | undefined): Promise<StoredSession | null> {
  const { legacy, defaultTtl, slides } = adapted
  // methods are looked up at call time: apps patch their stores
  const loaded = await call<StoredSessionData | null>((done) => legacy.get(id, done))
  if (!loaded || typeof loaded !== 'object') return null
  // whatever the third-party store parsed, it goes through our parser: no `__proto__` keys at any depth
  const found = parseJson(JSON.stringify(loaded)) as StoredSessionData
  const now = Date.now()
  const canTouch = typeof legacy.touch === 'function'
  let expiresAt = Math.max(expiryOf(found.cookie, defaultTtl), slides.get(id) ?? -Infinity)
  if (expiresAt <= now) {
    if (!canTouch) {
      // expired, and the store still holds it: removed, so that it neither lingers nor reads again
      slides.forget(id)
      await call((done) => legacy.destroy(id, done)).catch(noop)
      return null
    }
    // slid by another process (the store's touch moved its own expiry): live, until an unknown time, so due for a slide
    expiresAt = now + 1
  }
  const data: SessionValues = Object.create(null)
  for (const key of Object.keys(found)) if (key !== 'cookie' && key !== META_KEY) data[key] = found[key]
  const extra = found[META_KEY] as { meta?: SessionMeta | null; userId?: string | null } | undefined
  const meta = checkMeta('callback store', extra?.meta ?? null)
  const slideTo = Math.min(slide?.slideTo ?? -Infinity, meta?.absoluteExpiresAt ?? Infinity)
  if (canTouch && expiresAt < (slide?.slideIfBefore ?? Infinity) && slideTo > expiresAt) await touchLegacy(adapted, id, found, slideTo)
  return { data, meta, userId: extra?.userId ?? null, expiresAt, version: 1 }
}

/**
 * Lets the main entry use an express-session store. Every write is a whole-object `set`
 * (last writer wins); `create` cannot refuse an existing id; there are no versions. A read slides
 * the expiry through the store's `touch` when the engine asks for it. Such a store keeps its own
 * expiry (a TTL, a column), which `touch` moves without rewriting the stored cookie: a record whose
 * stored `cookie.expires` has passed is still live if the store has `touch` and returns it (its
 * expiry is the store's, as under express-session); without `touch` nothing can have moved it, and
 * it is destroyed.
 */
export function fromCallbackStore(legacy: Store, options: CallbackStoreOptions = {}): SessionStore {
  const adapted: Adapted = { legacy, defaultTtl: options.defaultTtl ?? DAY, slides: new Slides() }
  const { slides } = adapted
  return {
    [kContractStore]: true,
    get: (id, slide) => readLegacy(adapted, id, slide),
    async create(id, session: NewSession): Promise<CreateResult> {
      slides.forget(id)
      await call((done) => legacy.set(id, wholeObject(session.data, session.meta, session.userId, session.expiresAt), done))
      return 'ok'
    },
    async update(id, patch, expiresAt): Promise<UpdateResult> {
      const extra = patch.whole[META_KEY] as { meta?: SessionMeta | null; userId?: string | null } | undefined
      const meta = patch.meta ?? patch.current?.meta ?? extra?.meta ?? null
      const userId = patch.userId !== undefined ? patch.userId : (patch.current?.userId ?? extra?.userId ?? null)
      // the stored cookie carries the expiry again
      slides.forget(id)
      await call((done) => legacy.set(id, wholeObject(patch.whole, meta, userId, expiresAt), done))
      return 'ok'
    },
    async touch(id, expiresAt) {
      if (typeof legacy.touch !== 'function') return
      const session = { cookie: { expires: new Date(expiresAt).toISOString(), originalMaxAge: null, httpOnly: true, path: '/' } }
      await call((done) => legacy.touch!(id, session as StoredSessionData, done))
      slides.remember(id, expiresAt)
    },
    async destroy(id) {
      slides.forget(id)
      await call((done) => legacy.destroy(id, done))
    },
  }
}
