/**
 * The store contract: what a built-in store implements and what the engine calls. Promise-based,
 * one round trip per method. Expected outcomes are values (`'gone'`, `'collision'`); errors are
 * failures of the store itself and make the request fail closed.
 */

/** Top-level session keys and their JSON-compatible values. Null-prototype when it comes from a store. */
export type SessionValues = Record<string, unknown>

/** Engine-owned facts about a session, stored beside the data and never mixed into it (R10, R23). */
export interface SessionMeta {
  /** Epoch ms the session was created (reset by `login`). */
  createdAt: number
  /** Epoch ms after which the session is dead whatever its activity (absolute timeout). */
  absoluteExpiresAt: number
  /** The idle window (ms) the session's `expiresAt` was computed with. */
  idleTimeout: number
  /** Epoch ms of the last authentication, when the app used `login`. */
  authTime?: number
  /** What the `describeClient` option said of the client at `login` ("Firefox on Linux"). */
  client?: string
  /** A per-session cookie lifetime (ms) the app chose (`req.session.cookie.maxAge = …`), if any. */
  cookieMaxAge?: number | null
  /** Keyed hash of the client binding (R26), when a binding policy is on. */
  binding?: string
  /** Epoch ms the id was last renewed (renewal rotation keeps the data and the absolute deadline). */
  renewedAt?: number
  /** Epoch ms this id was replaced by a renewal: it still reads during the grace period, never writes. */
  retiredAt?: number
}

/** A session as a store returns it. */
export interface StoredSession {
  data: SessionValues
  meta: SessionMeta | null
  /** The user the session belongs to, for the per-user index. */
  userId: string | null
  /** Epoch ms the record dies (idle deadline, never past `meta.absoluteExpiresAt`). */
  expiresAt: number
  /** Increases with every `update`; starts at 1. */
  version: number
}

/** What `create` writes. */
export interface NewSession {
  data: SessionValues
  meta: SessionMeta | null
  userId: string | null
  expiresAt: number
}

/** A field-level change: only what changed is written, so overlapping requests on different keys both survive. */
export interface SessionPatch {
  /** Keys whose value changed, with the new value. */
  set: SessionValues
  /** Keys that were removed. */
  unset: readonly string[]
  /** `set` is the whole data: every other stored key is removed (whole-object writes of the legacy face). */
  replace?: boolean | undefined
  /** New metadata, when it changed (field-level stores write only this). */
  meta?: SessionMeta | undefined
  /**
   * Sent only to a store that declares `kKeepsExpiry`: the stored expiry is late enough already (it
   * was at most `touchAfter` before the update's `expiresAt` when the engine last saw it, and an expiry
   * only moves forwards), and the store leaves it as it is. That spares it the write of its expiry
   * index: a SQLite update without it writes one page to the WAL instead of three.
   */
  keepExpiry?: boolean | undefined
  /**
   * The session's metadata and owner after the change, changed or not, when the writer knows them:
   * for stores that rewrite whole records (the legacy adapter), which must not lose them when `meta`
   * and `userId` are absent. Field-level stores ignore it.
   */
  current?: { meta: SessionMeta | null; userId: string | null } | undefined
  /** New owner for the per-user index; `undefined` leaves it as it is, `null` clears it. */
  userId?: string | null | undefined
  /**
   * The whole session after the change. Field-level stores ignore it; stores that can only write
   * whole objects (express-session callback stores, through the legacy adapter) write it instead.
   */
  whole: SessionValues
}

/**
 * Sliding expiry in the read's round trip. The store moves the expiry to `slideTo` only when the
 * current expiry is before `slideIfBefore` (the throttle), never backwards, and never past the
 * session's `meta.absoluteExpiresAt`. `get` returns the record with the expiry it had before the slide.
 */
export interface GetOptions {
  slideTo?: number
  slideIfBefore?: number
}

export interface UpdateOptions {
  /** Refuse the write (`'conflict'`) unless the stored version equals this. */
  expectVersion?: number
}

/**
 * `'collision'`: the id exists, or was destroyed moments ago (its tombstone). `'revoked'`: a revocation of
 * the new session's owner (`destroyByUser`) reached the id before its create did, which a store whose
 * index and sessions are written in separate steps (Redis Cluster) can tell: the login came before the
 * revocation, and is revoked with the others.
 */
export type CreateResult = 'ok' | 'collision' | 'revoked'
export type UpdateResult = 'ok' | 'gone' | 'conflict'
/** `'gone'`: there was no live session to touch (destroyed or expired meanwhile). */
export type TouchResult = 'ok' | 'gone'

/** Summary of one session of a user, as `listByUser` gives it. */
export interface UserSessionInfo {
  id: string
  expiresAt: number
  meta: SessionMeta | null
}

/**
 * Marks a store that honours `SessionPatch.keepExpiry`. The engine leaves the expiry of other stores
 * to each update as before: a store that moved it anyway would hold it later than the request knows,
 * and a persistent cookie would then not be re-sent to match it.
 */
export const kKeepsExpiry: unique symbol = Symbol.for('tessera-session.keeps-expiry')

/** Marks an object as a contract store (as opposed to an express-session callback store). */
export const kContractStore: unique symbol = Symbol.for('tessera-session.contract-store')

export interface SessionStore {
  readonly [kContractStore]: true
  /** Leaves the expiry on an update that says `keepExpiry` (see `kKeepsExpiry`). */
  readonly [kKeepsExpiry]?: true
  /** The live session, or null when it is missing, expired or destroyed. May slide the expiry (see options). */
  get(id: string, options?: GetOptions): Promise<StoredSession | null>
  /** Writes a new session; never overwrites an existing or recently destroyed id (see `CreateResult`). */
  create(id: string, session: NewSession): Promise<CreateResult>
  /** Applies a patch to a live session; never recreates a destroyed or expired one. */
  update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult>
  /**
   * Moves a live session's expiry; a no-op when it is gone, which it answers with `'gone'` (a
   * request then sends no cookie for it). A store that cannot tell resolves nothing.
   */
  touch(id: string, expiresAt: number): Promise<TouchResult | void>
  /** Deletes the session and leaves a short-lived tombstone so earlier readers cannot write it back. */
  destroy(id: string): Promise<void>
  /** The live sessions of a user. */
  listByUser?(userId: string): Promise<UserSessionInfo[]>
  /** Destroys every session of a user but `exceptId`; resolves how many were destroyed. */
  destroyByUser?(userId: string, exceptId?: string): Promise<number>
  /** Deletes expired records; resolves how many. */
  prune?(): Promise<number>
  /** Releases what the store opened itself (timers, connections it created). */
  close?(): Promise<void>
}

/**
 * A store whose calls finish synchronously (MemoryStore, SqliteStore) also offers its read, create
 * and update without a promise under this symbol, so that a request loads its session in the same
 * turn as its cookie, and the end of its response writes it in the same turn as `res.end`.
 */
export const kSync: unique symbol = Symbol.for('tessera-session.sync')

/** A store's synchronous calls (see `kSync`), bound to the store. */
export interface SyncAccess {
  /**
   * The methods these calls stand for: the engine uses `read` only while the store's `get` is this
   * very function (`insert` while its `create` is, `write` while its `update` is), so a subclass, an
   * instrumentation or a proxy that replaces one is called through it.
   */
  readonly get: SessionStore['get']
  readonly create: SessionStore['create']
  readonly update: SessionStore['update']
  /** What `get(id, options)` resolves, without a promise. */
  read(id: string, options?: GetOptions): StoredSession | null
  /** What `create(id, session)` resolves, without a promise. */
  insert(id: string, session: NewSession): CreateResult
  /** What `update(id, patch, expiresAt)` resolves, without a promise. */
  write(id: string, patch: SessionPatch, expiresAt: number): UpdateResult
}

export interface SyncStore {
  readonly [kSync]: SyncAccess
}

export function isContractStore(value: unknown): value is SessionStore {
  return typeof value === 'object' && value !== null && (value as { [kContractStore]?: unknown })[kContractStore] === true
}
