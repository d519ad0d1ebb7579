import type { Cookie } from './cookie.ts'
import type { SessionStore, SessionValues } from './stores/contract.ts'
import { isSafeKey } from './safe-json.ts'

type Callback = (err?: unknown) => void

/** Options of `login()`. */
export interface LoginOptions {
  /** Keys of the current session to carry into the new one (everything else is dropped). */
  keep?: readonly string[]
}

/**
 * What `req.session`'s methods do to their request's state (engine/operations.ts implements them).
 * The session only carries the state to them: it knows nothing of what the state holds, so this
 * module depends on no part of the engine.
 */
export interface SessionOperations<State> {
  save(state: State): Promise<void>
  reload(state: State): Promise<void>
  destroy(state: State): Promise<void>
  regenerate(state: State): Promise<void>
  login(state: State, userId: string, options?: LoginOptions): Promise<void>
  /** Asks for the expiry to slide on this response, whatever the `touchAfter` throttle says. */
  touch(state: State): void
}

/**
 * Application data kept in a session. Extend it by declaration merging:
 *
 * @example
 * declare module 'tessera-session' {
 *   interface SessionData { userId: string; cart: string[] }
 * }
 */
export interface SessionData {}

/** Runs a Promise-returning operation in callback style when a callback is given. */
function settle(session: object, run: Promise<void>, callback: Callback | undefined): object | Promise<void> {
  if (typeof callback !== 'function') return run
  run.then(
    () => process.nextTick(callback),
    (err: unknown) => process.nextTick(callback, err),
  )
  return session
}

/**
 * `req.session` of the main entry. The same shape as express-session's: `id` is read-only and not
 * enumerable, the methods live on the prototype, so `Object.keys(req.session)` is `cookie` plus your
 * data. Every method returns a Promise when called without a callback.
 */
export class ManagedSession<State = unknown> {
  declare cookie: Cookie;
  [key: string]: unknown
  // private fields, not defineProperty: a session is built on every request that uses one, and
  // defining non-enumerable own properties cost several times more than the rest of the constructor
  readonly #operations: SessionOperations<State>
  readonly #state: State
  readonly #id: string

  constructor(operations: SessionOperations<State>, state: State, id: string, cookie: Cookie, data: SessionValues | null) {
    this.#operations = operations
    this.#state = state
    this.#id = id
    this.cookie = cookie
    if (data !== null) {
      for (const key of Object.keys(data)) {
        // stored keys that would shadow the methods or `id` are dropped, as express-session does;
        // `login` is not an express-session method, and apps migrating from it may store such a key
        if (isSafeKey(key) && (!(key in this) || key === 'login')) this[key] = data[key]
      }
    }
  }

  /** The session id (the cookie carries it, signed). */
  get id(): string {
    return this.#id
  }

  /** Slides the expiry on this response, whatever the `touchAfter` throttle says. */
  touch(): this {
    this.resetMaxAge()
    this.#operations.touch(this.#state)
    return this
  }

  /** Restarts the cookie's lifetime (`cookie.maxAge = cookie.originalMaxAge`). */
  resetMaxAge(): this {
    const original = this.cookie.originalMaxAge
    this.cookie.maxAge = original
    this.cookie.originalMaxAge = original
    return this
  }

  /** Writes what changed now rather than at the end of the response. */
  save(): Promise<void>
  save(callback: Callback): this
  save(callback?: Callback): this | Promise<void> {
    return settle(this, this.#operations.save(this.#state), callback) as this | Promise<void>
  }

  /** Replaces `req.session` with the stored copy; rejects with `SessionGoneError` when it is gone. */
  reload(): Promise<void>
  reload(callback: Callback): this
  reload(callback?: Callback): this | Promise<void> {
    return settle(this, this.#operations.reload(this.#state), callback) as this | Promise<void>
  }

  /** Deletes the session from the store and clears the cookie in the browser. */
  destroy(): Promise<void>
  destroy(callback: Callback): this
  destroy(callback?: Callback): this | Promise<void> {
    return settle(this, this.#operations.destroy(this.#state), callback) as this | Promise<void>
  }

  /** A new id and an empty session; the old one is deleted from the store first. */
  regenerate(): Promise<void>
  regenerate(callback: Callback): this
  regenerate(callback?: Callback): this | Promise<void> {
    return settle(this, this.#operations.regenerate(this.#state), callback) as this | Promise<void>
  }

  /**
   * Signs a user in: a new id (against fixation), the `keep` keys carried over, the user recorded
   * for `listUserSessions`/`revokeUserSessions`, the absolute deadline restarted.
   */
  login(userId: string, options?: LoginOptions): Promise<void> {
    return this.#operations.login(this.#state, userId, options)
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The session (created on first access). `null` after `destroy()` or `req.session = null`. */
      session: ManagedSession & Partial<SessionData>
      /** The session id (accessing it creates the session, like `req.session`). */
      sessionID: string
      /** The store of the session middleware that handled this request. */
      sessionStore: SessionStore
    }
  }
}
