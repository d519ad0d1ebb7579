import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidOptionError, SessionDataError } from './errors.ts'
import type { SessionEventName, SessionEvents } from './events.ts'
import { resolvePolicy, type SessionOptions } from './options.ts'
import { Engine, taggedStoreKeyOf } from './engine/engine.ts'
import { RequestContext, type NextFunction } from './engine/context.ts'
import { readSessionId, type PresentedId } from './engine/read.ts'
import { Rotations, type Successor } from './engine/rotate.ts'
import { originalPathname, pathMatches } from './engine/path.ts'
import { lastSeenAt } from './engine/last-seen.ts'
import { MemoryStore } from './stores/memory.ts'
import { isContractStore, type SessionStore, type StoredSession, type UserSessionInfo } from './stores/contract.ts'
import { fromCallbackStore } from './stores/legacy.ts'
import type { Store as CallbackStore } from './compat/store.ts'
import { isWellFormedId } from './signing.ts'
import { debug } from './debug.ts'
import { announceSetup, describeStore } from './startup-line.ts'

function noop(): void {}

const kContext = Symbol('tessera-session.request')
const kReadOnly = Symbol.for('tessera-session.read-only')

interface SessionRequest extends IncomingMessage {
  [kContext]?: RequestContext
  [kReadOnly]?: boolean
  session?: unknown
  sessionStore?: SessionStore
}

// shared accessor descriptors: a request defines them, it allocates no closures for them
const SESSION_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: SessionRequest) {
    return this[kContext]?.getSession()
  },
  set(this: SessionRequest, value: unknown) {
    this[kContext]?.setSession(value)
  },
}
const SESSION_ID_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: SessionRequest) {
    return this[kContext]?.getSessionId()
  },
}

/** The middleware `session()` returns, with the session events and the per-user operations. */
export interface SessionHandler {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void
  /** The store in use (a callback store given in the options is wrapped). */
  readonly store: SessionStore
  on<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): SessionHandler
  off<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): SessionHandler
  /**
   * The live sessions of a user (those signed in with `req.session.login(userId)`). Each has an
   * opaque `handle` (not its id: ids never leave the cookie) for `revokeUserSession`; pass the
   * current request's `req.sessionID` as `currentId` to have that one marked `current`.
   */
  listUserSessions(userId: string, options?: { currentId?: string }): Promise<UserSession[]>
  /** Destroys every session of a user, but `exceptId` (e.g. `req.sessionID`); resolves how many. */
  revokeUserSessions(userId: string, options?: { exceptId?: string }): Promise<number>
  /** Destroys one session of a user by the `handle` `listUserSessions` gave; resolves whether it was that user's. */
  revokeUserSession(userId: string, handle: string): Promise<boolean>
}

/** One of a user's sessions, as `listUserSessions` lists it. */
export interface UserSession {
  /** Opaque, stable for the session's id; for `revokeUserSession`. */
  handle: string
  /** Whether it is the session whose id was given as `currentId`. */
  current: boolean
  /** Epoch ms it expires unless used. */
  expiresAt: number
  /** Epoch ms it was created (or signed in). */
  createdAt: number | undefined
  /** Epoch ms of the sign-in, for `login()` sessions. */
  authTime: number | undefined
  /**
   * Epoch ms the session was last used, as fresh as its expiry slides: within `touchAfter` of the last
   * request (requests marked `readOnly` do not count). Undefined for a record without our metadata.
   */
  lastSeenAt: number | undefined
  /** What the `describeClient` option said of the client at sign-in; undefined when it is off or said nothing. */
  client: string | undefined
}

/** Marks a request read-only when mounted before the session middleware: it never writes or slides the session. */
export function readOnly(req: IncomingMessage, _res: ServerResponse, next: NextFunction): void {
  ;(req as SessionRequest)[kReadOnly] = true
  next()
}

function resolveStore(store: SessionOptions['store'], production: boolean): SessionStore {
  if (store === undefined) {
    if (production) {
      process.emitWarning('tessera-session: no store given, sessions live in this process only (MemoryStore); use SqliteStore, RedisStore or PostgresStore', {
        code: 'TESSERA_MEMORY_STORE',
      })
    }
    return new MemoryStore()
  }
  if (isContractStore(store)) return store
  const legacy = store as unknown as CallbackStore
  if (typeof legacy.get === 'function' && typeof legacy.set === 'function' && typeof legacy.destroy === 'function') {
    return fromCallbackStore(legacy)
  }
  throw new InvalidOptionError('store', 'must be a built-in store or an express-session store (get/set/destroy)')
}

/**
 * The session middleware: secure defaults, lazy sessions, field-level writes, idle and absolute
 * timeouts, Promise methods.
 *
 * @example
 * import express from 'express'
 * import session from 'tessera-session'
 * const app = express()
 * app.use(session({ secret: process.env.SESSION_SECRET }))
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1
 *   res.send(`views: ${req.session.views}`)
 * })
 */
export function createSessionMiddleware(options: SessionOptions): SessionHandler {
  const policy = resolvePolicy(options)
  const store = resolveStore(options.store, policy.production)
  const engine = new Engine(policy, store)
  announceSetup(policy, describeStore(options.store))
  if (!isContractStore(options.store) && options.store !== undefined) {
    const emitter = options.store as unknown as CallbackStore
    engine.lastWriterWins = true
    if (typeof emitter.on === 'function') {
      emitter.on('disconnect', () => (engine.storeReady = false))
      emitter.on('connect', () => (engine.storeReady = true))
    }
  }
  const rotations = new Rotations(engine)
  const staticPath = policy.staticCookie?.path

  const handler = function session(request: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const req = request as SessionRequest
    if (req.session) {
      next()
      return
    }
    let path = staticPath
    if (path === undefined) {
      try {
        path = policy.cookieFor(req).path
      } catch (err) {
        next(err)
        return
      }
    }
    if (!pathMatches(originalPathname(req) || '/', path)) {
      next()
      return
    }
    const context = new RequestContext(engine, req, res, next)
    req[kContext] = context
    Object.defineProperty(req, 'session', SESSION_PROPERTY)
    Object.defineProperty(req, 'sessionID', SESSION_ID_PROPERTY)
    req.sessionStore = store
    context.readOnly = req[kReadOnly] === true || (policy.readOnly !== undefined && policy.readOnly(req))

    const presented = readSessionId(req.headers.cookie, policy.name, policy.secrets, engine.verified)
    if (presented === undefined) {
      finish(context, next)
      return
    }
    if ('rejected' in presented) {
      // the debug log names reasons and outcomes, never an id, a cookie value or a secret
      debug('cookie rejected: %s', presented.rejected)
      context.noteRejectedCookie()
      engine.emit('rejected', () => ({ reason: presented.rejected }))
      finish(context, next)
      return
    }
    const now = Date.now()
    const slideIfBefore = now + policy.idleTimeout - policy.touchAfter
    const slideKnownNotDue = presented.expiresAt !== undefined && presented.expiresAt >= slideIfBefore
    const slide = context.readOnly || slideKnownNotDue ? undefined : { slideTo: now + policy.idleTimeout, slideIfBefore }
    // express-session's records are stored under the raw id; ours under a hash of it (R5)
    let key = (presented.key ??= presented.format === 'legacy' ? presented.id : engine.storeKey(presented.id))
    const read = async (s: SessionStore): Promise<StoredSession | null> => {
      const record = await s.get(key, slide)
      if (record !== null || presented.format === 'legacy') return record
      // a session stored before ids were fully random is under its tagged key until it expires or is renewed
      const other = engine.otherStoreKey(presented.id, key)
      if (other === undefined) return null
      key = other
      return s.get(key, slide)
    }
    engine.call('get', read).then(
      (record) => {
        // R3/R5: a legacy (`s:`) cookie opens only an express-session record (one without our metadata), never
        // one of ours: otherwise a store key read from the store and signed by cookie-parser would be a credential.
        // A retired record never opens itself: it leads to the successor derived from the presented id and its format
        const foreign = record !== null && presented.format === 'legacy' && record.meta !== null && record.meta.retiredAt === undefined && isWellFormedId(presented.id)
        const judged = record === null || foreign ? 'unknown' : judge(record, now)
        const verdict = judged === 'live' ? checkBinding(record as StoredSession, req, presented.id) : judged
        if (verdict !== 'live') {
          debug('stored session not used: %s', verdict)
          context.noteRejectedCookie()
          const idHash = engine.idHash(presented.id)
          if (verdict === 'unknown') engine.emit('rejected', () => ({ reason: 'unknown', idHash }))
          else {
            if (verdict === 'binding' || verdict === 'revoked') engine.emit('destroyed', () => ({ idHash, reason: verdict }))
            else engine.emit('expired', () => ({ idHash, kind: verdict }))
            // the store still held it (its TTL is longer than our deadline), or its client changed: delete it, fail-safe
            engine.call('destroy', (s) => s.destroy(key)).catch(noop)
          }
          finish(context, next)
          return
        }
        const live = record as StoredSession
        // renewal, migration, or an id one of them replaced: the request takes the successor
        const replacing = rotations.successorOf(presented, key, live, context.readOnly)
        if (replacing !== undefined) {
          replacing.then(
            (successor) => adoptSuccessor(context, presented, successor),
            (err: unknown) => loadFailed(context, presented, key, err),
          )
          return
        }
        const moved = slide !== undefined && live.expiresAt < slide.slideIfBefore
        const ownLifetime = live.meta?.cookieMaxAge != null
        const slidTo = moved && !ownLifetime ? Math.min(slide.slideTo, live.meta?.absoluteExpiresAt ?? slide.slideTo) : undefined
        presented.expiresAt = slidTo ?? live.expiresAt
        presented.key = key
        context.adopt(presented, key, live, slidTo)
        // the store slid by the policy's idle window a session with a lifetime of its own: the end of the response puts its own expiry back
        if (moved && ownLifetime) context.requestTouch()
        next()
      },
      (err: unknown) => loadFailed(context, presented, key, err),
    )
  }

  /** The load (or the rotation after it) failed. */
  function loadFailed(context: RequestContext, presented: PresentedId, key: string, err: unknown): void {
    const next = context.next
    if (err instanceof SessionDataError) {
      // unreadable stored data means no session (and the record goes), never a crash
      context.noteRejectedCookie()
      engine.emit('malformed_data', () => ({ idHash: engine.idHash(presented.id), error: err }))
      engine.call('destroy', (s) => s.destroy(key)).catch(noop)
      finish(context, next)
      return
    }
    debug('store read failed: %s', (err as Error)?.message)
    if (policy.onStoreError === 'anonymous') {
      // availability over the session: served without one, and nothing is written or set
      context.readOnly = true
      next()
      return
    }
    // fail closed: no session, no new id, no cookie; the error becomes a 503
    delete (context.req as SessionRequest)[kContext]
    next(err)
  }

  /** The presented id was rotated (by this request or another): its successor is the session, or there is none any more. */
  function adoptSuccessor(context: RequestContext, presented: PresentedId, successor: Successor | null): void {
    if (successor === null || judge(successor.record, Date.now()) !== 'live') {
      // ended since (a logout, a revocation, its deadline): the old id leads nowhere
      debug('stored session not used: its successor is gone')
      context.noteRejectedCookie()
      engine.emit('rejected', () => ({ reason: 'unknown', idHash: engine.idHash(presented.id) }))
      finish(context, context.next)
      return
    }
    context.adoptSuccessor(presented, successor)
    context.next()
  }

  /** 'live', or why a stored session must not be used (R10): the store's TTL is not trusted alone. */
  function judge(record: StoredSession, now: number): 'live' | 'idle' | 'absolute' | 'revoked' {
    const meta = record.meta
    if (meta !== null && (now >= meta.absoluteExpiresAt || now >= meta.createdAt + policy.absoluteTimeout)) return 'absolute'
    // R14: every session created before the app's revocation epoch is over
    if (meta !== null && policy.revokedBefore !== undefined && meta.createdAt < policy.revokedBefore()) return 'revoked'
    if (record.expiresAt <= now) return 'idle'
    // a record a renewal replaced reads for the grace period only: the read's slide must not extend it
    if (meta?.retiredAt !== undefined && now >= meta.retiredAt + policy.renewalGrace) return 'idle'
    if (meta !== null && record.expiresAt < meta.absoluteExpiresAt) {
      // the idle window may have been shortened since the record was written
      const lastSeen = record.expiresAt - (meta.cookieMaxAge ?? meta.idleTimeout)
      if (lastSeen + (meta.cookieMaxAge ?? policy.idleTimeout) <= now) return 'idle'
    }
    return 'live'
  }

  /** R26: a session used from another client than the one it was created for. */
  function checkBinding(record: StoredSession, req: IncomingMessage, id: string): 'live' | 'binding' {
    const binding = policy.binding
    const bound = record.meta?.binding
    if (binding === undefined || bound === undefined || bound === engine.bindingOf(req)) return 'live'
    engine.emit('binding_mismatch', () => ({ idHash: engine.idHash(id), action: binding.action }))
    return binding.action === 'destroy' ? 'binding' : 'live'
  }

  function finish(context: RequestContext, next: NextFunction): void {
    if (policy.saveUninitialized && !context.readOnly) {
      try {
        context.getSession()
      } catch (err) {
        next(err)
        return
      }
    }
    next()
  }

  const api = handler as unknown as SessionHandler & { store: SessionStore }
  Object.defineProperty(api, 'store', { value: store, enumerable: true })
  api.on = (event, listener) => {
    engine.events.on(event, listener)
    return api
  }
  api.off = (event, listener) => {
    engine.events.off(event, listener)
    return api
  }
  const listByUser = (userId: string): Promise<UserSessionInfo[]> => {
    if (typeof store.listByUser !== 'function') return Promise.reject(new InvalidOptionError('store', 'does not keep a per-user index (listByUser)'))
    return engine.call('listByUser', (s) => (s.listByUser as (u: string) => Promise<UserSessionInfo[]>)(userId))
  }
  api.listUserSessions = async (userId, listOptions) => {
    const currentId = listOptions?.currentId
    // the current session may still be under its tagged key (stored before ids were fully random)
    const currentKeys = currentId === undefined ? [] : [engine.storeKey(currentId), taggedStoreKeyOf(currentId)]
    const sessions = await listByUser(userId)
    const now = Date.now()
    // a record a renewal replaced is still listed during its grace period: not a session of its own
    return sessions
      .filter((info) => info.meta?.retiredAt === undefined)
      .map((info) => ({
        handle: info.id,
        current: currentKeys.includes(info.id),
        expiresAt: info.expiresAt,
        createdAt: info.meta?.createdAt,
        authTime: info.meta?.authTime,
        lastSeenAt: lastSeenAt(info.expiresAt, info.meta, policy.idleTimeout, now),
        client: info.meta?.client,
      }))
  }
  api.revokeUserSessions = async (userId, revokeOptions) => {
    if (typeof store.destroyByUser !== 'function') throw new InvalidOptionError('store', 'does not keep a per-user index (destroyByUser)')
    const exceptKey = revokeOptions?.exceptId === undefined ? undefined : await engine.heldKey(revokeOptions.exceptId)
    return engine.call('destroyByUser', (s) => (s.destroyByUser as (u: string, e?: string) => Promise<number>)(userId, exceptKey))
  }
  api.revokeUserSession = async (userId, handle) => {
    // only a handle of this user's: a handle from elsewhere must not destroy another user's session
    const sessions = await listByUser(userId)
    if (!sessions.some((info) => info.id === handle)) return false
    await engine.call('destroy', (s) => s.destroy(handle))
    return true
  }
  return api
}
