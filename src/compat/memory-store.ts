import { inherits } from 'node:util'
import { InvalidOptionError } from '../errors.ts'
import { Store, type StoredSessionData } from '../express-store.ts'

type Callback = (err?: unknown) => void

export interface CompatMemoryStoreOptions {
  /** Most sessions kept; past it the least recently written is evicted. Default 100 000. */
  max?: number
  /** How often (ms) expired sessions are swept, a chunk at a time. Default 60 000. */
  sweepInterval?: number
  /** How many sessions one sweep looks at. Default 1 000. */
  sweepBatch?: number
}

/** express-session's MemoryStore, with a bound and a background sweep. */
export interface CompatMemoryStore extends Store {
  /** Session JSON by id, as in express-session (read it; write through the methods). */
  sessions: Record<string, string>
  get(sid: string, callback: (err: unknown, session?: StoredSessionData | null) => void): void
  set(sid: string, session: StoredSessionData | object, callback?: Callback): void
  destroy(sid: string, callback?: Callback): void
  touch(sid: string, session: StoredSessionData | object, callback?: Callback): void
  all(callback: (err: unknown, sessions?: Record<string, StoredSessionData>) => void): void
  length(callback: (err: unknown, length?: number) => void): void
  clear(callback?: Callback): void
  /** Stops the sweep timer (it is unref'd: it never keeps the process alive). */
  close(): void
}

export interface CompatMemoryStoreConstructor {
  new (options?: CompatMemoryStoreOptions): CompatMemoryStore
  (this: CompatMemoryStore, options?: CompatMemoryStoreOptions): void
  prototype: CompatMemoryStore
}

interface Internals {
  /** Ids in write order (oldest first), for eviction past `max`. */
  order: Set<string>
  max: number
  sweepBatch: number
  cursor: Iterator<string> | undefined
  timer: NodeJS.Timeout | undefined
}

const kInternals = Symbol('tessera-session.compat-memory')

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError(option, 'must be a positive integer')
  return value
}

/**
 * `session.MemoryStore` of the compat entry: express-session's MemoryStore, method for method
 * (JSON strings in `sessions`, expiry checked on read, callbacks on `setImmediate`), plus what keeps
 * it from growing without limit: expired sessions are swept in small chunks on an unref'd timer, and
 * past `max` sessions the least recently written one is evicted.
 */
export const MemoryStore = function MemoryStore(this: CompatMemoryStore, options: CompatMemoryStoreOptions = {}) {
  Store.call(this)
  this.sessions = Object.create(null)
  const internals: Internals = {
    order: new Set(),
    max: positive('max', options.max, 100_000),
    sweepBatch: positive('sweepBatch', options.sweepBatch, 1_000),
    cursor: undefined,
    timer: undefined,
  }
  Object.defineProperty(this, kInternals, { value: internals })
  internals.timer = setInterval(() => sweep(this), positive('sweepInterval', options.sweepInterval, 60_000))
  internals.timer.unref()
} as unknown as CompatMemoryStoreConstructor

inherits(MemoryStore, Store)

function internalsOf(store: CompatMemoryStore): Internals {
  return (store as unknown as { [kInternals]: Internals })[kInternals]
}

/** The stored session, or undefined; an expired one is deleted on the way (express-session's getSession). */
function getSession(store: CompatMemoryStore, sessionId: string): StoredSessionData | undefined {
  const json = store.sessions[sessionId]
  if (!json) return undefined
  const sess = JSON.parse(json) as StoredSessionData
  if (sess.cookie) {
    const expires = typeof sess.cookie.expires === 'string' ? new Date(sess.cookie.expires) : sess.cookie.expires
    if (expires && +expires <= Date.now()) {
      remove(store, sessionId)
      return undefined
    }
  }
  return sess
}

function remove(store: CompatMemoryStore, sessionId: string): void {
  delete store.sessions[sessionId]
  internalsOf(store).order.delete(sessionId)
}

function write(store: CompatMemoryStore, sessionId: string, json: string): void {
  const internals = internalsOf(store)
  store.sessions[sessionId] = json
  internals.order.delete(sessionId)
  internals.order.add(sessionId)
  while (internals.order.size > internals.max) {
    const oldest = internals.order.values().next()
    if (oldest.done) break
    remove(store, oldest.value)
  }
}

function sweep(store: CompatMemoryStore): void {
  const internals = internalsOf(store)
  internals.cursor ??= internals.order.values()
  for (let i = 0; i < internals.sweepBatch; i++) {
    const next = internals.cursor.next()
    if (next.done) {
      internals.cursor = undefined
      return
    }
    // reading it deletes it when expired
    getSession(store, next.value)
  }
}

const proto = MemoryStore.prototype

proto.all = function all(this: CompatMemoryStore, callback) {
  const sessions: Record<string, StoredSessionData> = Object.create(null)
  for (const sessionId of Object.keys(this.sessions)) {
    const session = getSession(this, sessionId)
    if (session) sessions[sessionId] = session
  }
  if (callback) setImmediate(callback, null, sessions)
}

proto.clear = function clear(this: CompatMemoryStore, callback) {
  this.sessions = Object.create(null)
  const internals = internalsOf(this)
  internals.order.clear()
  internals.cursor = undefined
  if (callback) setImmediate(callback)
}

proto.destroy = function destroy(this: CompatMemoryStore, sessionId, callback) {
  remove(this, sessionId)
  if (callback) setImmediate(callback)
}

proto.get = function get(this: CompatMemoryStore, sessionId, callback) {
  setImmediate(callback, null, getSession(this, sessionId))
}

proto.set = function set(this: CompatMemoryStore, sessionId, session, callback) {
  write(this, sessionId, JSON.stringify(session))
  if (callback) setImmediate(callback)
}

proto.length = function length(this: CompatMemoryStore, callback) {
  this.all((err, sessions) => {
    if (err) return callback(err)
    callback(null, Object.keys(sessions as object).length)
  })
}

proto.touch = function touch(this: CompatMemoryStore, sessionId, session, callback) {
  const current = getSession(this, sessionId)
  if (current) {
    // update the expiration only
    current.cookie = (session as StoredSessionData).cookie
    write(this, sessionId, JSON.stringify(current))
  }
  if (callback) setImmediate(callback)
}

proto.close = function close(this: CompatMemoryStore) {
  clearInterval(internalsOf(this).timer)
}
