import type { IncomingMessage, ServerResponse } from 'node:http'
import { Cookie, serializeCookie } from '../cookie.ts'
import { InvalidOptionError, InvalidSessionStateError, SessionDataError, SessionGoneError } from '../errors.ts'
import { generateId } from '../id.ts'
import type { CookieAttributes } from '../options.ts'
import { MAX_COOKIE_LIFETIME } from '../options.ts'
import { isWellFormedId, signLegacy, signV1 } from '../signing.ts'
import type { SessionMeta, SessionPatch, SessionValues, StoredSession } from '../stores/contract.ts'
import { ManagedSession } from '../managed-session.ts'
import { isStorableText } from '../safe-json.ts'
import { appendSetCookie, guardFirstWrite, holdEnd, onHeaders, type EndWork } from './commit.ts'
import { describeClient } from './client-description.ts'
import { baselineOf, diffSession, hasChanges, type SessionDiff } from './dirty.ts'
import type { Engine } from './engine.ts'
import type { PresentedId } from './read.ts'
import type { Successor } from './rotate.ts'
import { debug } from '../debug.ts'
import { diagnose } from '../diagnostics.ts'
import { checkSessionCookie } from './misconfiguration.ts'

export type NextFunction = (err?: unknown) => void

/** The maxAge a handler set: `originalMaxAge` reads it back as the time left, a few ms under (nearest second). */
function asSet(maxAge: number): number {
  return Math.round(maxAge / 1000) * 1000
}

/** Options of `login()`. */
export interface LoginOptions {
  /** Keys of the current session to carry into the new one (everything else is dropped). */
  keep?: readonly string[]
}

const EXPIRED_COOKIE = new Date(0)
function noop(): void {}

/**
 * One request's session state: created by the middleware, reached by `req.session`'s accessor and
 * the session's methods. It reads top to bottom: adopt (a loaded record) → materialize (first
 * access) → change (methods) → commit (headers, then end of response).
 */
export class RequestContext {
  readonly engine: Engine
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly next: NextFunction
  /** Read-only requests never write nor slide (long polls, SSE, static files). */
  readOnly = false

  /** The id the client presented and we verified, if any. */
  #presented: PresentedId | undefined
  /** The client sent a session cookie, valid or not: a logout should clear it. */
  #cookieSeen = false
  #record: StoredSession | null = null
  /** undefined: not materialized yet; null: removed by the app (`req.session = null`) or destroyed. */
  #session: ManagedSession | null | undefined = undefined
  #id: string | undefined
  /** The key #id is stored under: a hash of it (R5), or the raw id of an express-session record. */
  #key: string | undefined
  /** The store key of the id the client presented, when a renewal or migration replaced it: ended with the session. */
  #replacedKey: string | undefined
  /** Serialized form of each top-level key as stored; the base of dirty tracking. */
  #baseline = new Map<string, string>()
  #meta: SessionMeta | undefined
  #metaDirty = false
  #userId: string | null | undefined = undefined
  #expiresAt = 0
  /** The session exists in the store under #id. */
  #stored = false
  #expiryMoved = false
  #reissue = false
  #touchRequested = false
  #destroyed = false
  /** regenerate/login deleted the session the client's cookie names: that cookie is replaced or cleared. */
  #rotatedAway = false
  #gone = false
  #failed = false
  #hooked = false
  /** The store write `save()` started, until it settles: later writes wait for it. */
  #writing: Promise<void> | undefined
  /** Our Set-Cookie went out with this response's headers. */
  #cookieSent = false
  /** The end-of-response work has run. */
  #committed = false
  #cookieAttrs: CookieAttributes | undefined
  #loadedMaxAge: number | null | undefined

  constructor(engine: Engine, req: IncomingMessage, res: ServerResponse, next: NextFunction) {
    this.engine = engine
    this.req = req
    this.res = res
    this.next = next
  }

  get cookieAttributes(): CookieAttributes {
    return (this.#cookieAttrs ??= this.engine.policy.cookieFor(this.req))
  }

  /** A cookie named ours arrived but gave no session. */
  noteRejectedCookie(): void {
    this.#cookieSeen = true
  }

  /** Takes a verified, live record as this request's session. */
  adopt(presented: PresentedId, key: string, record: StoredSession, slidTo: number | undefined): void {
    const policy = this.engine.policy
    this.#presented = presented
    this.#cookieSeen = true
    this.#record = record
    this.#id = presented.id
    this.#key = key
    this.#stored = true
    this.#reissue = presented.reissue
    this.#userId = record.userId
    this.#expiresAt = slidTo ?? record.expiresAt
    this.#expiryMoved = slidTo !== undefined
    if (record.meta === null) {
      // a session written by express-session (migration): its deadlines start now and are stored at the end
      const now = Date.now()
      this.#meta = { createdAt: now, absoluteExpiresAt: now + policy.absoluteTimeout, idleTimeout: policy.idleTimeout }
      this.#metaDirty = true
    } else {
      this.#meta = record.meta
      this.#distrustFuture()
    }
    this.#hook()
    if (record.meta?.retiredAt !== undefined) {
      // replaced by a renewal moments ago: requests still in flight may read it, none may write it
      this.readOnly = true
      return
    }
  }

  /**
   * Timestamps written by a clock that was ahead (since moved back, or another host's) count as now:
   * elapsed time is never negative, so the idle window and the absolute deadline run from now at the
   * latest, never later than stored. This response's write stores the correction. A skew within
   * `touchAfter` (hosts a little apart) is left alone, so that it does not cost a write per request.
   */
  #distrustFuture(): void {
    const policy = this.engine.policy
    const meta = this.#meta as SessionMeta
    const now = Date.now()
    const limit = now + policy.touchAfter
    const window = meta.cookieMaxAge ?? policy.idleTimeout
    const stamps = [meta.createdAt, meta.renewedAt, meta.authTime, meta.retiredAt]
    // the last activity is the expiry less the window it was computed with
    if (stamps.every((at) => at === undefined || at <= limit) && this.#expiresAt - window <= limit) return
    const createdAt = Math.min(meta.createdAt, now)
    const corrected: SessionMeta = { ...meta, createdAt, absoluteExpiresAt: Math.min(meta.absoluteExpiresAt, createdAt + policy.absoluteTimeout) }
    if (meta.renewedAt !== undefined) corrected.renewedAt = Math.min(meta.renewedAt, now)
    if (meta.authTime !== undefined) corrected.authTime = Math.min(meta.authTime, now)
    if (meta.retiredAt !== undefined) corrected.retiredAt = Math.min(meta.retiredAt, now)
    this.#meta = corrected
    this.#expiresAt = Math.min(this.#expiresAt, now + window, corrected.absoluteExpiresAt)
    this.#metaDirty = true
  }

  /**
   * Takes the session that replaced the presented id (R12: a renewal or migration, done by this
   * request or by a concurrent one): the response sends its id's cookie.
   */
  adoptSuccessor(presented: PresentedId, successor: Successor): void {
    this.adopt(presented, successor.key, successor.record, successor.created ? successor.record.expiresAt : undefined)
    this.#id = successor.id
    this.#replacedKey = successor.replacedKey
  }

  // -- materialize ---------------------------------------------------------------------------------

  getSession(): ManagedSession | null | undefined {
    if (this.#session === undefined) this.#materialize()
    return this.#session
  }

  setSession(value: unknown): void {
    if (value === null || value === undefined) {
      this.#session = null
      return
    }
    if (value instanceof ManagedSession && value === this.#session) return
    throw new InvalidSessionStateError('req.session can only be set to null (or left as it is); use its methods to change it')
  }

  getSessionId(): string | undefined {
    if (this.#session === undefined) this.#materialize()
    return this.#id
  }

  #materialize(): void {
    if (this.#record !== null) {
      this.#session = this.#build(this.#record.data)
      this.#snapshot()
      return
    }
    this.#startNew()
  }

  /** A new, empty, unsaved session with a fresh id. */
  #startNew(meta?: SessionMeta): void {
    const policy = this.engine.policy
    const now = Date.now()
    // random and nothing else, signed-in or not (R1): an id must not tell whose session it is
    this.#id = this.#newId()
    this.#key = this.engine.storeKey(this.#id)
    this.#stored = false
    this.#meta = meta ?? { createdAt: now, absoluteExpiresAt: now + policy.absoluteTimeout, idleTimeout: policy.idleTimeout }
    const binding = this.engine.bindingOf(this.req)
    if (binding !== undefined) this.#meta.binding = binding
    this.#metaDirty = true
    this.#expiresAt = this.#nextExpiry(now)
    this.#session = this.#build(null)
    this.#baseline = new Map()
    this.#hook()
  }

  #newId(): string {
    const genid = this.engine.policy.genid
    if (genid === undefined) return generateId()
    const id = genid(this.req)
    // 120, under the 128 an id may have: ids of earlier versions put an 8-character user tag in front of it
    if (typeof id !== 'string' || id.length > 120 || !isWellFormedId(id)) {
      throw new InvalidOptionError('genid', 'must return 22 to 120 base64url characters (at least 128 random bits)')
    }
    return id
  }

  #build(data: SessionValues | null): ManagedSession {
    const attrs = this.cookieAttributes
    const maxAge = this.#cookieMaxAge(attrs)
    const cookie = new Cookie({ path: attrs.path, httpOnly: attrs.httpOnly, domain: attrs.domain, sameSite: attrs.sameSite || undefined, priority: attrs.priority })
    if (attrs.secure !== false) cookie.secure = attrs.secure === 'auto' ? this.engine.isSecure(this.req) : true
    if (attrs.partitioned) cookie.partitioned = true
    if (maxAge !== null) {
      cookie.expires = new Date(this.#expiresAt)
      cookie.originalMaxAge = maxAge
    }
    this.#loadedMaxAge = cookie.originalMaxAge
    return new ManagedSession(this, this.#id as string, cookie, data)
  }

  #snapshot(): void {
    const session = this.#session
    this.#baseline = session ? baselineOf(session) : new Map()
  }

  /** The expiry a write or slide made now gives: the idle window from now, never past the absolute deadline. */
  #nextExpiry(now: number): number {
    const meta = this.#meta as SessionMeta
    const window = meta.cookieMaxAge ?? this.engine.policy.idleTimeout
    return Math.min(now + window, meta.absoluteExpiresAt)
  }

  // -- change --------------------------------------------------------------------------------------

  #requireSession(action: string): ManagedSession {
    const session = this.getSession()
    if (!session) throw new InvalidSessionStateError(`cannot ${action}: the session was destroyed or unset in this request`)
    return session
  }

  /** Writes the session now instead of at the end of the response. */
  async save(): Promise<void> {
    this.#requireSession('save')
    // a read-only request (the option, a retired id in its renewal grace, a failed read served anonymously) never writes
    if (this.readOnly) return
    try {
      await this.#afterWrites(() => this.#pendingWrite())
    } catch (err) {
      if (err instanceof SessionDataError) this.#noteUnstorable(err)
      throw err
    }
  }

  /**
   * Runs a write once the writes started before it have settled, deciding what to write only then:
   * a `save()` the handler did not wait for must not make the end of the response create the session twice.
   */
  #afterWrites(decide: () => (() => Promise<void>) | undefined): Promise<void> {
    const previous = this.#writing
    const run = previous === undefined ? Promise.resolve(decide()?.()) : previous.then(noop, noop).then(() => decide()?.())
    this.#writing = run
    const settled = () => {
      if (this.#writing === run) this.#writing = undefined
    }
    run.then(settled, settled)
    return run
  }

  /** Replaces the session with its stored copy. */
  async reload(): Promise<void> {
    this.#requireSession('reload')
    if (!this.#stored) throw new SessionGoneError('failed to load session: it was never saved')
    const key = this.#key as string
    const record = await this.engine.call('get', (store) => store.get(key))
    if (record === null) throw new SessionGoneError('failed to load session: it was destroyed or has expired')
    this.#record = record
    this.#meta = record.meta ?? this.#meta
    this.#userId = record.userId
    this.#expiresAt = record.expiresAt
    this.#session = this.#build(record.data)
    this.#snapshot()
  }

  /** Deletes the stored session now and clears the cookie on this response. */
  async destroy(reason: 'destroy' | 'revoked' = 'destroy'): Promise<void> {
    const id = this.#id
    const key = this.#key
    const wasStored = this.#stored && id !== undefined && key !== undefined
    // R24: a logout on an anonymous client touches no store. The store goes first: if it fails, the
    // session is as it was (alive on the server, so its cookie is not cleared either)
    if (wasStored) await this.engine.call('destroy', (store) => store.destroy(key as string))
    await this.#endReplaced()
    this.#session = null
    this.#record = null
    this.#stored = false
    this.#destroyed = true
    if (wasStored) this.engine.emit('destroyed', () => ({ idHash: this.engine.idHash(id as string), reason }))
  }

  /** The id the client presented, replaced by a renewal or migration in this request, ends with the session. */
  async #endReplaced(): Promise<void> {
    const replaced = this.#replacedKey
    if (replaced === undefined) return
    await this.engine.call('destroy', (store) => store.destroy(replaced))
    this.#replacedKey = undefined
  }

  /** A new id and an empty session; the old record is deleted before the response is sent (R12). */
  async regenerate(): Promise<void> {
    await this.#rotate('regenerate', [], undefined)
  }

  /** Regenerates, carries `keep` keys over, records the user and restarts the absolute deadline. */
  async login(userId: string, options: LoginOptions = {}): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0) throw new InvalidSessionStateError('login needs a non-empty user id string')
    if (!isStorableText(userId)) throw new SessionDataError('a user id must not contain U+0000 or a lone surrogate')
    await this.#rotate('login', options.keep ?? [], userId)
  }

  async #rotate(reason: 'regenerate' | 'login', keep: readonly string[], userId: string | undefined): Promise<void> {
    // asked before anything changes, so that a failing describeClient leaves the session as it was
    const client = reason === 'login' ? describeClient(this.engine.policy, this.req) : undefined
    const previous = this.getSession()
    const carried: SessionValues = Object.create(null)
    if (previous) for (const key of keep) if (Object.hasOwn(previous, key) && key !== 'cookie') carried[key] = previous[key]
    const oldId = this.#id
    const oldKey = this.#key
    const wasStored = this.#stored && oldId !== undefined && oldKey !== undefined
    if (wasStored) await this.engine.call('destroy', (store) => store.destroy(oldKey as string))
    await this.#endReplaced()
    const now = Date.now()
    const policy = this.engine.policy
    const meta: SessionMeta = { createdAt: now, absoluteExpiresAt: now + policy.absoluteTimeout, idleTimeout: policy.idleTimeout }
    if (reason === 'login') meta.authTime = now
    if (client !== undefined) meta.client = client
    this.#record = null
    if (wasStored || this.#destroyed) this.#rotatedAway = true
    this.#destroyed = false
    this.#startNew(meta)
    this.#userId = userId ?? null
    const session = this.#session as ManagedSession
    for (const key of Object.keys(carried)) session[key] = carried[key]
    if (wasStored) {
      const newId = this.#id as string
      this.engine.emit('rotated', () => ({ idHash: this.engine.idHash(newId), previousIdHash: this.engine.idHash(oldId as string), reason }))
    }
  }

  /** Remembers the expiry just written on the verified cookie's cache entry (a hint for the next read's slide). */
  #noteExpiry(expiresAt: number): void {
    const presented = this.#presented
    if (presented !== undefined && presented.id === this.#id) presented.expiresAt = expiresAt
  }

  /** `touch()`: slide the expiry on this response even if the throttle would skip it. */
  requestTouch(): void {
    this.#touchRequested = true
  }

  // -- commit --------------------------------------------------------------------------------------

  #hook(): void {
    if (this.#hooked) return
    this.#hooked = true
    onHeaders(this.res, () => this.#onHeadersGuarded())
    holdEnd(this.res, () => this.#onEnd(), { writeFirst: true, onError: (err) => this.#fail(err) })
    guardFirstWrite(this.res, () => this.#refuseBeforeHeaders(), (err) => this.#fail(err))
  }

  /** Fails the request closed: no Set-Cookie, no new id, the error to Express (503 for store errors). */
  #fail(err: unknown): void {
    this.#failed = true
    // a store failure already raised its store_error event (Engine.call); data no store can hold raises malformed_data
    if (err instanceof SessionDataError) this.#noteUnstorable(err)
    this.next(err)
  }

  /** `malformed_data` for a write refused because of the session's data: one request's problem, not the store's. */
  #noteUnstorable(err: SessionDataError): void {
    const id = this.#id
    if (id !== undefined) this.engine.emit('malformed_data', () => ({ idHash: this.engine.idHash(id), error: err }))
  }

  /**
   * The app starts its response with `write`, `writeHead` or `flushHeaders`: a write the end of the
   * response would refuse (data no store can hold, too large) fails the request now, while its
   * headers can still become an error response; from then on nothing is written or set.
   */
  #refuseBeforeHeaders(): unknown {
    const session = this.#session
    if (!session || this.#failed || this.#gone || this.readOnly) return undefined
    try {
      diffSession(session, this.#baseline, this.engine.policy.maxSessionBytes)
    } catch (err) {
      this.#failed = true
      return err
    }
    return undefined
  }

  /**
   * The header-time decision runs inside `writeHead`, where a throw would reach whoever wrote the
   * response (a timer, a stream: an uncaught exception). Whatever it meets fails the session instead:
   * no more writes, and the error to Express once the headers are out.
   */
  #onHeadersGuarded(): void {
    try {
      this.#onHeaders()
    } catch (err) {
      this.#failed = true
      setImmediate(this.#fail.bind(this), err)
    }
  }

  /** What the end of the response must write, or undefined. */
  #onEnd(): EndWork | undefined {
    let work: (() => Promise<void>) | undefined
    // the headers wait for the store: a re-sent cookie can wait for the store to confirm its session
    const confirm = !this.res.headersSent
    try {
      work = this.#writing === undefined ? this.#endWork(confirm) : () => this.#afterWrites(() => this.#endWork(confirm))
    } catch (err) {
      // a value JSON cannot hold (a cycle, a BigInt): fail the request with it, rather than leave it hanging with res.end spent
      return (done) => done(err)
    }
    if (work === undefined) {
      this.#committed = true
      return undefined
    }
    return (done) => {
      work().then(
        () => {
          this.#committed = true
          done()
        },
        (err: unknown) => done(err),
      )
    }
  }

  #endWork(confirm = false): (() => Promise<void>) | undefined {
    if (this.#failed || this.readOnly) return undefined
    if (this.#session === null) {
      if (this.#destroyed || !this.#stored || !this.engine.policy.unsetDestroy) return undefined
      const id = this.#id as string
      const key = this.#key as string
      return async () => {
        this.#stored = false
        this.#destroyed = true
        await this.engine.call('destroy', (store) => store.destroy(key))
        await this.#endReplaced()
        this.engine.emit('destroyed', () => ({ idHash: this.engine.idHash(id), reason: 'unset' }))
      }
    }
    return this.#pendingWrite(confirm)
  }

  /** The write the session needs now (create, patch or touch), or undefined; `confirm`: see `#touchIfDue`. */
  #pendingWrite(confirm = false): (() => Promise<void>) | undefined {
    // destroyed by another request meanwhile (an update answered 'gone'): nothing more is written, ever
    if (this.#gone) return undefined
    const session = this.#session
    const policy = this.engine.policy
    const now = Date.now()
    if (session === undefined) {
      // never accessed: only a due slide, or metadata a migrated session still lacks
      if (!this.#stored) return undefined
      if (this.#metaDirty) return () => this.#update({}, [], now)
      return this.#touchIfDue(now, confirm)
    }
    if (session === null) return undefined

    let diff: SessionDiff
    try {
      diff = diffSession(session, this.#baseline, policy.maxSessionBytes)
    } catch (err) {
      // data no store can hold, or too much of it: refused before any store call, never thrown from a response hook
      return () => Promise.reject(err)
    }
    const { set, unset, current, changed } = diff
    this.#noteCookieLifetime(session)
    if (!this.#stored) {
      // a signed-in session is worth storing even before it holds data: the user id is its content
      if (!changed && !this.#userId && !policy.saveUninitialized) return undefined
      // a new session whose cookie could not be sent any more would be an orphan: not stored
      if (this.res.headersSent && !this.#cookieSent) return undefined
      return () => this.#create(set, current, now)
    }
    if (changed || this.#metaDirty || this.#userId !== this.#record?.userId) {
      return () => this.#update(set, unset, now, current)
    }
    return this.#touchIfDue(now, confirm)
  }

  /** `req.session.cookie.maxAge = …` on this request: remember the per-session lifetime. */
  #noteCookieLifetime(session: ManagedSession): void {
    // compat: `maxAge = null` and `expires = false` (or null) both make a browser-session cookie, as in express-session
    const maxAge = typeof session.cookie.originalMaxAge === 'number' ? session.cookie.originalMaxAge : null
    const loaded = this.#loadedMaxAge
    // setting maxAge makes originalMaxAge the time left, a few ms under the value set: a second of slack
    if (maxAge === loaded || (typeof maxAge === 'number' && typeof loaded === 'number' && Math.abs(maxAge - loaded) < 1000)) return
    const { cookieMaxAge: _previous, ...meta } = this.#meta as SessionMeta
    // null: a browser-session cookie; a number: the session's own lifetime; neither (0, negative, not finite): the configured cookie
    if (maxAge === null) this.#meta = { ...meta, cookieMaxAge: null }
    else if (Number.isFinite(maxAge) && maxAge > 0) this.#meta = { ...meta, cookieMaxAge: Math.min(Math.floor(maxAge), MAX_COOKIE_LIFETIME) }
    else this.#meta = meta
    if (maxAge !== null && maxAge > this.engine.policy.absoluteTimeout) diagnose(this.engine, 'TESSERA_MAXAGE_OVER_ABSOLUTE', { maxAge: asSet(maxAge), absoluteTimeout: this.engine.policy.absoluteTimeout })
    this.#loadedMaxAge = maxAge
    this.#metaDirty = true
  }

  /** The cookie's lifetime: the session's own (null for a browser-session cookie), else the configured one. */
  #cookieMaxAge(attrs: CookieAttributes): number | null {
    const own = this.#meta?.cookieMaxAge
    return own !== undefined ? own : attrs.maxAge
  }

  /**
   * A touch when the slide is due, or, with `confirm`, when the response re-sends the cookie of the
   * session the client presented: that cookie goes out only once the store has found the session
   * still there, or a logout that completed while this request ran would get the dead id back (over
   * its clearing cookie, or over the cookie of a login that followed it).
   */
  #touchIfDue(now: number, confirm = false): (() => Promise<void>) | undefined {
    const policy = this.engine.policy
    const next = this.#nextExpiry(now)
    const due = (this.#touchRequested || next - this.#expiresAt > policy.touchAfter) && !this.#expiryMoved
    if (!due && !(confirm && this.#refreshesCookie())) return undefined
    const key = this.#key as string
    const id = this.#id as string
    return async () => {
      const result = await this.engine.call('touch', (store) => store.touch(key, next))
      if (result === 'gone') {
        debug('touch answered gone')
        // destroyed by another request meanwhile: no cookie for it, nothing more written
        this.#gone = true
        this.#stored = false
        this.engine.emit('conflict', () => ({ idHash: this.engine.idHash(id), result }))
        return
      }
      this.#expiresAt = next
      this.#expiryMoved = true
      this.#noteExpiry(next)
    }
  }

  async #create(data: SessionValues, serialized: Map<string, string>, now: number): Promise<void> {
    const id = this.#id as string
    const expiresAt = this.#nextExpiry(now)
    const meta = this.#meta as SessionMeta
    const userId = this.#userId ?? null
    const key = this.#key as string
    const result = await this.engine.call('create', (store) => store.create(key, { data, meta, userId, expiresAt }))
    if (result === 'collision') {
      // 256 random bits do not collide; a custom genid might. Never overwrite another session.
      throw new InvalidSessionStateError('session id collision: genid returned an id that is already in use')
    }
    this.#stored = true
    this.#metaDirty = false
    this.#expiresAt = expiresAt
    this.#expiryMoved = true
    this.#baseline = serialized
    this.#record = { data, meta, userId, expiresAt, version: 1 }
    // as stored (null, not undefined): an unchanged owner is not a change for a later save or the end of the response
    this.#userId = userId
    this.engine.emit('created', () => ({ idHash: this.engine.idHash(id) }))
    debug('session created')
  }

  async #update(set: SessionValues, unset: readonly string[], now: number, serialized?: Map<string, string>): Promise<void> {
    const id = this.#id as string
    const expiresAt = this.#nextExpiry(now)
    const session = this.#session
    const record = this.#record
    // the whole session, for stores that can only write whole objects (the legacy adapter)
    const whole: SessionValues = Object.create(null)
    if (session) {
      for (const key of Object.keys(session)) if (key !== 'cookie') whole[key] = session[key]
    } else if (record) {
      Object.assign(whole, record.data)
    }
    const userId = this.#userId
    const patch: SessionPatch = {
      set,
      unset,
      // every change of the metadata marks it dirty: unchanged metadata is not sent again
      meta: this.#metaDirty ? this.#meta : undefined,
      userId: userId === record?.userId ? undefined : userId,
      current: { meta: this.#meta ?? null, userId: userId ?? null },
      whole,
    }
    const key = this.#key as string
    const result = await this.engine.call('update', (store) => store.update(key, patch, expiresAt))
    if (result !== 'ok') {
      debug('update answered %s', result)
      // destroyed (or changed) by another request meanwhile: never resurrected, no cookie for it
      this.#gone = true
      this.#stored = false
      this.engine.emit('conflict', () => ({ idHash: this.engine.idHash(id), result }))
      return
    }
    this.#metaDirty = false
    this.#expiresAt = expiresAt
    this.#expiryMoved = true
    this.#noteExpiry(expiresAt)
    if (serialized !== undefined) this.#baseline = serialized
    if (this.#record) this.#record.userId = userId ?? null
  }

  /** At header time: Set-Cookie or not (a new or re-issued cookie, or the clearing one after destroy). */
  #onHeaders(): void {
    if (this.#failed || this.#gone) return
    const session = this.#session
    const attrs = this.cookieAttributes
    if (session === null) {
      if ((this.#destroyed || this.#endWork() !== undefined) && this.#cookieSeen) this.#clearCookie(attrs)
      // kept, but moved to a new id in this request (renewal, migration): the client's old id leads there only for the grace
      else if (this.#stored && this.#replacedKey !== undefined) this.#setSessionCookie(attrs)
      return
    }
    if (!this.#stored && session === undefined) return
    const isNew = this.#presented === undefined || this.#id !== this.#presented.id
    // a re-sent cookie (rolling, re-signed) goes out once the end of the response confirmed its session (#touchIfDue):
    // not from a read-only request, nor from one whose headers leave first (a later response sends it)
    const send = isNew
      ? this.#stored || this.#willCreate()
      : (this.#committed && this.#refreshesCookie()) || this.#cookieKindChanged(attrs) || (this.#isPersistent(attrs) && this.#expiryWillMove())
    if (send) this.#setSessionCookie(attrs)
    else if ((this.#destroyed || this.#rotatedAway) && this.#cookieSeen) this.#clearCookie(attrs)
  }

  /** The response re-sends the cookie of the session the client presented: rolling, a re-signed cookie, or a persistent cookie whose expiry moved. */
  #refreshesCookie(): boolean {
    if (this.readOnly || this.#presented?.id !== this.#id) return false
    return this.#reissue || this.engine.policy.rolling || (this.#expiryMoved && this.#isPersistent(this.cookieAttributes))
  }

  /** The handler turned the cookie from persistent to browser-session or back: the browser's copy must be replaced. */
  #cookieKindChanged(attrs: CookieAttributes): boolean {
    const session = this.#session
    if (!session || this.readOnly) return false
    this.#noteCookieLifetime(session)
    const loaded = this.#record?.meta?.cookieMaxAge
    return ((loaded !== undefined ? loaded : attrs.maxAge) !== null) !== this.#isPersistent(attrs)
  }

  #isPersistent(attrs: CookieAttributes): boolean {
    return this.#cookieMaxAge(attrs) !== null
  }

  /** The server expiry moved in this request, or the end of the response will move it. */
  #expiryWillMove(): boolean {
    return this.#expiryMoved || (!this.#committed && this.#endWork() !== undefined)
  }

  #willCreate(): boolean {
    if (this.readOnly) return false
    if (this.engine.policy.saveUninitialized || this.#userId) return true
    const session = this.#session
    return session ? hasChanges(session, this.#baseline) : false
  }

  #setSessionCookie(attrs: CookieAttributes): void {
    const id = this.#id as string
    const persistent = this.#isPersistent(attrs)
    const now = Date.now()
    const expiresAt = this.#stored && (this.#expiryMoved || this.#committed) ? this.#expiresAt : this.#nextExpiry(now)
    const secret = this.engine.policy.secrets[0] as string
    // a migrated express-session id that v1 cannot carry stays in express-session's format, or the next request could not read it
    const wellFormed = isWellFormedId(id)
    const value = wellFormed ? signV1(id, this.engine.policy.name, secret) : 's:' + signLegacy(id, secret)
    // the value the client will send back: known, so its next request skips the HMAC and, while fresh, the slide
    if (wellFormed && this.#key !== undefined) this.engine.verified.set(value, { id, reissue: false, format: 'v1', key: this.#key, expiresAt })
    if (persistent) this.#setCookie(value, new Date(expiresAt), attrs, Math.max(0, Math.ceil((expiresAt - now) / 1000)))
    else this.#setCookie(value, undefined, attrs, undefined)
    this.#cookieSent = true
    checkSessionCookie(this.engine, this.req, this.res, { attrs, secure: this.cookieSecure(attrs) })
    if (this.cookieSecure(attrs) && !this.engine.isSecure(this.req)) {
      this.engine.emit('insecure_transport', () => ({ idHash: this.engine.idHash(id) }))
    }
  }

  /** R21: in production `'auto'` still means Secure; a request not known to be HTTPS raises `insecure_transport` instead. */
  cookieSecure(attrs: CookieAttributes): boolean {
    if (attrs.secure !== 'auto') return attrs.secure
    return this.engine.policy.production || this.engine.isSecure(this.req)
  }

  /** The clearing Set-Cookie after a destroy or a rotation away (R13), with `Clear-Site-Data` when configured (R19). */
  #clearCookie(attrs: CookieAttributes): void {
    this.#setCookie('', EXPIRED_COOKIE, attrs, 0)
    const clearSiteData = this.engine.policy.clearSiteData
    if (clearSiteData !== undefined && this.#destroyed && !this.res.hasHeader('Clear-Site-Data')) this.res.setHeader('Clear-Site-Data', clearSiteData)
  }

  #setCookie(value: string, expires: Date | undefined, attrs: CookieAttributes, maxAgeSeconds: number | undefined): void {
    const res = this.res
    try {
      appendSetCookie(
        res,
        serializeCookie(this.engine.policy.name, value, {
          path: attrs.path,
          domain: attrs.domain,
          expires,
          maxAge: maxAgeSeconds,
          httpOnly: attrs.httpOnly,
          secure: this.cookieSecure(attrs),
          partitioned: attrs.partitioned,
          priority: attrs.priority,
          sameSite: attrs.sameSite === 'auto' ? (this.engine.isSecure(this.req) ? 'none' : 'lax') : attrs.sameSite || undefined,
        }),
      )
    } catch (err) {
      setImmediate(this.next, err)
      return
    }
    // R19: a response that carries a session cookie must not be cached and replayed to others
    if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store')
  }
}
