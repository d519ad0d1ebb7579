import type { Cookie } from './cookie.ts'
import type { CompatRequest } from './compat/request.ts'

type Callback = (err?: unknown) => void

/**
 * `req.session` as express-session builds it: `id` and `req` are non-enumerable, non-writable own
 * properties and the methods live on the prototype, so the own enumerable keys are exactly `cookie`
 * and the application's data, and `JSON.stringify(req.session)` is the stored form.
 */
export class Session {
  declare readonly id: string
  declare readonly req: CompatRequest
  declare cookie: Cookie;
  [key: string]: unknown

  constructor(req: CompatRequest, data?: object | null) {
    Object.defineProperty(this, 'req', { value: req })
    Object.defineProperty(this, 'id', { value: req.sessionID })
    if (typeof data === 'object' && data !== null) {
      // compat: a stored key that is already `in` the session (a method, `id`, an Object.prototype
      // name such as `constructor` or `__proto__`) is dropped
      for (const prop in data) {
        if (!(prop in this)) this[prop] = (data as Record<string, unknown>)[prop]
      }
    }
  }

  /** Alias of `resetMaxAge()`. */
  touch(): this {
    return this.resetMaxAge()
  }

  /** Restarts the cookie's lifetime: `cookie.maxAge = cookie.originalMaxAge`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge
    return this
  }

  /** Writes the whole session to the store. */
  save(fn?: Callback): this {
    this.req.sessionStore.set(this.id, this, fn || noop)
    return this
  }

  /** Replaces `req.session` with the stored copy. The callback is required, as in express-session. */
  reload(fn: Callback): this {
    const req = this.req
    const store = req.sessionStore
    store.get(this.id, (err, sess) => {
      if (err) return fn(err)
      if (!sess) return fn(new Error('failed to load session'))
      store.createSession(req, sess)
      fn()
    })
    return this
  }

  /** Removes `req.session` and deletes the stored session. */
  destroy(fn?: Callback): this {
    delete (this.req as { session?: unknown }).session
    this.req.sessionStore.destroy(this.id, fn)
    return this
  }

  /** Destroys the session and generates a new one with a new id. The callback is required. */
  regenerate(fn: Callback): this {
    this.req.sessionStore.regenerate(this.req, fn)
    return this
  }
}

function noop(): void {}
