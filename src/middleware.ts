import type { IncomingMessage, ServerResponse } from 'node:http'
import { debug } from './debug.ts'
import { Engine } from './engine/engine.ts'
import { hookResponse } from './engine/commit.ts'
import { loadSession, type Loaded } from './engine/load.ts'
import { getSession, getSessionId, setSession } from './engine/operations.ts'
import { originalPathname, pathMatches } from './engine/path.ts'
import { readPresented, readPresentedHeader, type Presented } from './engine/read.ts'
import { Rotations } from './engine/rotate.ts'
import { adopt, adoptSuccessor, RequestState, type NextFunction } from './engine/state.ts'
import { InvalidOptionError } from './errors.ts'
import { askOption } from './option-function.ts'
import type { SessionEventName, SessionEvents } from './events.ts'
import type { Store as CallbackStore } from './express-store.ts'
import { resolvePolicy, type SessionOptions } from './options.ts'
import { announceSetup, describeStore } from './startup-line.ts'
import { isContractStore, type SessionStore } from './stores/contract.ts'
import { fromCallbackStore } from './stores/legacy.ts'
import { MemoryStore } from './stores/memory.ts'
import { userSessions, type UserSessions } from './user-sessions.ts'

const kState = Symbol('tessera-session.request')
const kReadOnly = Symbol.for('tessera-session.read-only')

interface SessionRequest extends IncomingMessage {
  [kState]?: RequestState
  [kReadOnly]?: boolean
  session?: unknown
  sessionStore?: SessionStore
}

// shared accessor descriptors: a request defines them, it allocates no closures for them
const SESSION_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: SessionRequest) {
    const state = this[kState]
    return state === undefined ? undefined : getSession(state)
  },
  set(this: SessionRequest, value: unknown) {
    const state = this[kState]
    if (state !== undefined) setSession(state, value)
  },
}
const SESSION_ID_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: SessionRequest) {
    const state = this[kState]
    return state === undefined ? undefined : getSessionId(state)
  },
}

/** The middleware `session()` returns, with the session events and the per-user operations. */
export interface SessionHandler extends UserSessions {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void
  /** The store in use (a callback store given in the options is wrapped). */
  readonly store: SessionStore
  /** Adds a listener. One that throws or rejects never affects the request: it is reported as a `TESSERA_LISTENER_ERROR` process warning. */
  on<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): SessionHandler
  off<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): SessionHandler
}

/** Marks a request read-only when mounted before the session middleware: it never writes or slides the session. */
export function readOnly(req: IncomingMessage, _res: ServerResponse, next: NextFunction): void {
  ;(req as SessionRequest)[kReadOnly] = true
  next()
}

/**
 * The session middleware: secure defaults, lazy sessions, field-level writes, idle and absolute
 * timeouts, Promise methods. Everything is resolved here, once; a request then goes read (the
 * cookie) → load (one store call) → use (`req.session`, engine/operations.ts) → commit (engine/commit.ts).
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
  if (!isContractStore(options.store) && options.store !== undefined) followCallbackStore(engine, options.store as unknown as CallbackStore)
  const rotations = new Rotations(engine)
  const staticPath = policy.staticCookie?.path
  const headerField = policy.header?.field

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
    let state: RequestState
    try {
      state = attach(engine, req, res, next)
    } catch (err) {
      // the app's readOnly function failed, before anything was attached to the request
      next(err)
      return
    }
    // header mode reads only its header, cookie mode only the cookie: an id is accepted only where it is issued
    const presented = headerField === undefined ? readPresented(req.headers.cookie, engine) : readPresentedHeader(req.headers[headerField], engine)
    if (presented === undefined) finish(state)
    else if ('rejected' in presented) {
      // the debug log names reasons and outcomes, never an id, a cookie value or a secret
      debug('presented id rejected: %s', presented.rejected)
      state.clientCookie = 'sent'
      engine.emit('rejected', () => ({ reason: presented.rejected }))
      finish(state)
    } else {
      const loaded = loadSession(state, presented, rotations)
      if (!(loaded instanceof Promise)) onLoaded(state, presented, loaded)
      else
        loaded.then(
          (answer) => onLoaded(state, presented, answer),
          (err: unknown) => failClosed(state, err),
        )
    }
  }
  return describeHandler(handler, engine)
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

/** An express-session store: its `create` overwrites, and its `disconnect`/`connect` events stop and resume store calls. */
function followCallbackStore(engine: Engine, emitter: CallbackStore): void {
  engine.lastWriterWins = true
  if (typeof emitter.on === 'function') {
    emitter.on('disconnect', () => (engine.storeReady = false))
    emitter.on('connect', () => (engine.storeReady = true))
  }
}

/** The request's state, reachable from `req.session`'s accessors; throws, attaching nothing, when the `readOnly` function fails. */
function attach(engine: Engine, req: SessionRequest, res: ServerResponse, next: NextFunction): RequestState {
  const readOnlyOption = engine.policy.readOnly
  const readOnly = req[kReadOnly] === true || (readOnlyOption !== undefined && Boolean(askOption('readOnly', 'a boolean', readOnlyOption, req)))
  const state = new RequestState(engine, { req, res, next })
  state.readOnly = readOnly
  req[kState] = state
  Object.defineProperty(req, 'session', SESSION_PROPERTY)
  Object.defineProperty(req, 'sessionID', SESSION_ID_PROPERTY)
  req.sessionStore = engine.store
  return state
}

/** The load's answer becomes the request's session (or none), and the request goes on. */
function onLoaded(state: RequestState, presented: Presented, loaded: Loaded): void {
  switch (loaded.kind) {
    case 'live':
      adopt(state, presented, loaded)
      hookResponse(state)
      // the store slid by the policy's idle window a session with a lifetime of its own: the end of the response puts its own expiry back
      if (loaded.touch) state.touchRequested = true
      state.next()
      return
    case 'successor':
      adoptSuccessor(state, presented, loaded.successor)
      hookResponse(state)
      state.next()
      return
    case 'none':
      if (state.engine.policy.header === undefined) state.clientCookie = 'sent'
      else {
        // header mode tells the client its id is dead (an empty header), which needs the response hooked
        state.clientCookie = 'dead'
        hookResponse(state)
      }
      finish(state)
      return
    case 'unavailable':
      if (state.engine.policy.onStoreError === 'anonymous') {
        // availability over the session: served without one, and nothing is written or set
        state.readOnly = true
        state.next()
        return
      }
      // the error becomes a 503
      failClosed(state, loaded.error)
  }
}

/**
 * The load failed (the store, or the app's `revokedBefore`: a rejection here would otherwise be
 * unhandled and end the process): no session, no new id, no cookie, and the error goes to `next()`.
 */
function failClosed(state: RequestState, err: unknown): void {
  delete (state.req as SessionRequest)[kState]
  state.next(err)
}

/** The request goes on without a loaded session; with `saveUninitialized` it gets a new one at once. */
function finish(state: RequestState): void {
  if (state.engine.policy.saveUninitialized && !state.readOnly) {
    try {
      getSession(state)
    } catch (err) {
      state.next(err)
      return
    }
  }
  state.next()
}

/** The handler as the app sees it: the store, the events, the per-user operations. */
function describeHandler(handler: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void, engine: Engine): SessionHandler {
  const api = handler as unknown as SessionHandler
  Object.defineProperty(api, 'store', { value: engine.store, enumerable: true })
  api.on = (event, listener) => {
    engine.events.on(event, listener)
    return api
  }
  api.off = (event, listener) => {
    engine.events.off(event, listener)
    return api
  }
  Object.assign(api, userSessions(engine))
  return api
}
