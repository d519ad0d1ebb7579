import {
  kContractStore,
  kKeepsExpiry,
  kSync,
  type CreateResult,
  type GetOptions,
  type NewSession,
  type SessionPatch,
  type SyncAccess,
  type SyncStore,
  type SessionStore,
  type StoredSession,
  type UpdateOptions,
  type TouchResult,
  type UpdateResult,
  type UserSessionInfo,
} from './contract.ts'
import { kStoreKind } from './kind.ts'
import { positiveInteger, timerDelay } from './options.ts'
import { Entry, encodeFields, newFields, patchedFields, toStored } from './memory-entry.ts'
import { checkMeta, listedMeta } from './record.ts'
import { UserIndex } from './user-index.ts'

export interface MemoryStoreOptions {
  /** Most sessions kept; past it the least recently used is evicted (give or take max/8: see `#use`). Default 10 000. */
  max?: number
  /** How often (ms) the background sweep runs. Default 60 000. */
  sweepInterval?: number
  /** How many entries one sweep looks at, so a sweep never blocks the event loop for long. Default 1 000. */
  sweepBatch?: number
  /** How long (ms) a destroyed id stays unusable, so late writers cannot bring it back. Default 60 000. */
  tombstoneTtl?: number
}

const DEFAULTS = { max: 10_000, sweepInterval: 60_000, sweepBatch: 1_000, tombstoneTtl: 60_000 }

/**
 * An in-process store for development, tests and single-process apps. Bounded (`max`, least
 * recently used evicted), expiry enforced on every read, expired entries swept in small chunks on
 * an unref'd timer. Data is kept as JSON per top-level key, so nothing the app mutates later leaks in.
 *
 * @example
 * import session, { MemoryStore } from 'tessera-session'
 * app.use(session({ secret, store: new MemoryStore({ max: 50_000 }) }))
 */
export class MemoryStore implements SessionStore, SyncStore {
  readonly [kContractStore] = true as const
  readonly [kKeepsExpiry] = true as const
  /** `get`, `create` and `update` without a promise, for the middleware (see `kSync`). */
  readonly [kSync]: SyncAccess = {
    get: MemoryStore.prototype.get,
    create: MemoryStore.prototype.create,
    update: MemoryStore.prototype.update,
    read: (id, options) => this.#read(id, options),
    insert: (id, session) => this.#create(id, session),
    write: (id, patch, expiresAt) => this.#update(id, patch, expiresAt, undefined),
  }
  readonly [kStoreKind] = 'memory' as const
  readonly #entries = new Map<string, Entry>()
  readonly #tombstones = new Map<string, number>()
  readonly #byUser = new UserIndex()
  readonly #max: number
  /** How far behind the recent end a read must find an entry before it moves it there (see `#use`). */
  readonly #moveAfter: number
  /** Insertions and moves to the recent end of `#entries`, ever: each entry notes the count at its last one. */
  #moves = 0
  readonly #sweepBatch: number
  readonly #tombstoneTtl: number
  #sweepCursor: Iterator<[string, Entry]> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(options: MemoryStoreOptions = {}) {
    this.#max = positiveInteger('max', options.max, DEFAULTS.max)
    this.#moveAfter = Math.floor(this.#max / 8)
    this.#sweepBatch = positiveInteger('sweepBatch', options.sweepBatch, DEFAULTS.sweepBatch)
    this.#tombstoneTtl = positiveInteger('tombstoneTtl', options.tombstoneTtl, DEFAULTS.tombstoneTtl)
    this.#timer = setInterval(() => this.#sweep(), timerDelay('sweepInterval', options.sweepInterval, DEFAULTS.sweepInterval))
    this.#timer.unref()
  }

  /** Live entry, or undefined; drops an expired entry it meets. */
  #live(id: string, now: number): Entry | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#remove(id, entry)
      return undefined
    }
    return entry
  }

  #remove(id: string, entry: Entry): void {
    this.#entries.delete(id)
    if (entry.userId !== null) this.#byUser.delete(entry.userId, id)
  }

  #setOwner(id: string, entry: Entry, userId: string | null): void {
    if (entry.userId === userId) return
    if (entry.userId !== null) this.#byUser.delete(entry.userId, id)
    entry.userId = userId
    if (userId !== null) this.#byUser.add(userId, id)
  }

  #isTombstoned(id: string, now: number): boolean {
    const until = this.#tombstones.get(id)
    if (until === undefined) return false
    if (until > now) return true
    this.#tombstones.delete(id)
    return false
  }

  /**
   * Marks an entry recently used: moves it to the recent end of `#entries`, the end eviction takes
   * last, unless fewer than max/8 entries went there since it last did. Moving is a delete and an
   * insert in the map, half the cost of a read; skipping it for an entry already near that end means
   * eviction may take a session at most max/8 insertions before an exact LRU would.
   */
  #use(id: string, entry: Entry): void {
    if (this.#moves - entry.moved < this.#moveAfter) return
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    entry.moved = ++this.#moves
  }

  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    return this.#read(id, options)
  }


  #read(id: string, options: GetOptions | undefined): StoredSession | null {
    const now = Date.now()
    const entry = this.#live(id, now)
    if (entry === undefined) return null
    this.#use(id, entry)
    // the record is returned with the expiry it had before the slide, so the engine can judge it
    const stored = toStored(entry)
    const slideTo = options?.slideTo
    if (slideTo !== undefined && (options?.slideIfBefore === undefined || entry.expiresAt < options.slideIfBefore)) {
      const limit = entry.meta?.absoluteExpiresAt ?? Number.POSITIVE_INFINITY
      entry.expiresAt = Math.max(entry.expiresAt, Math.min(slideTo, limit))
    }
    return stored
  }

  async create(id: string, session: NewSession): Promise<CreateResult> {
    return this.#create(id, session)
  }

  #create(id: string, session: NewSession): CreateResult {
    const now = Date.now()
    if (this.#live(id, now) !== undefined || this.#isTombstoned(id, now)) return 'collision'
    const entry = new Entry(newFields(encodeFields(session.data)), session.meta, session.expiresAt, ++this.#moves)
    this.#entries.set(id, entry)
    this.#setOwner(id, entry, session.userId)
    this.#evictOverflow()
    return 'ok'
  }

  async update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult> {
    return this.#update(id, patch, expiresAt, options)
  }

  #update(id: string, patch: SessionPatch, expiresAt: number, options: UpdateOptions | undefined): UpdateResult {
    const entry = this.#live(id, Date.now())
    if (entry === undefined) return 'gone'
    if (options?.expectVersion !== undefined && options.expectVersion !== entry.version) return 'conflict'
    entry.fields = patchedFields(entry, patch.unset, encodeFields(patch.set), patch.replace === true)
    if (patch.meta !== undefined) entry.meta = patch.meta
    if (patch.userId !== undefined) this.#setOwner(id, entry, patch.userId)
    if (patch.keepExpiry !== true) entry.expiresAt = expiresAt
    entry.version++
    this.#use(id, entry)
    return 'ok'
  }

  async touch(id: string, expiresAt: number): Promise<TouchResult> {
    const entry = this.#live(id, Date.now())
    if (entry === undefined) return 'gone'
    entry.expiresAt = expiresAt
    return 'ok'
  }

  async destroy(id: string): Promise<void> {
    const entry = this.#entries.get(id)
    if (entry !== undefined) this.#remove(id, entry)
    // delete first so the map stays in expiry order (every tombstone has the same TTL)
    this.#tombstones.delete(id)
    this.#tombstones.set(id, Date.now() + this.#tombstoneTtl)
    // tombstones are bounded like entries: the oldest go first
    if (this.#tombstones.size > this.#max) {
      const oldest = this.#tombstones.keys().next()
      if (!oldest.done) this.#tombstones.delete(oldest.value)
    }
  }

  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    const now = Date.now()
    const result: UserSessionInfo[] = []
    for (const id of this.#byUser.idsOf(userId)) {
      const entry = this.#live(id, now)
      if (entry !== undefined) result.push({ id, expiresAt: entry.expiresAt, meta: listedMeta(() => checkMeta('memory', entry.meta)) })
    }
    return result
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    let count = 0
    for (const id of this.#byUser.idsOf(userId)) {
      if (id === exceptId) continue
      await this.destroy(id)
      count++
    }
    return count
  }

  /** Removes every expired entry and tombstone now; resolves how many sessions were removed. */
  async prune(): Promise<number> {
    const now = Date.now()
    let removed = 0
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#remove(id, entry)
        removed++
      }
    }
    for (const [id, until] of this.#tombstones) if (until <= now) this.#tombstones.delete(id)
    return removed
  }

  /** Every live session. */
  async all(): Promise<Array<[string, StoredSession]>> {
    const now = Date.now()
    const result: Array<[string, StoredSession]> = []
    for (const [id, entry] of [...this.#entries]) {
      if (this.#live(id, now) !== undefined) result.push([id, toStored(entry)])
    }
    return result
  }

  /** How many live sessions there are. */
  async length(): Promise<number> {
    const now = Date.now()
    let count = 0
    for (const entry of this.#entries.values()) if (entry.expiresAt > now) count++
    return count
  }

  /** Removes every session. */
  async clear(): Promise<void> {
    this.#entries.clear()
    this.#byUser.clear()
    this.#sweepCursor = undefined
  }

  /** Stops the sweep timer. The store stays usable. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #evictOverflow(): void {
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.entries().next()
      if (oldest.done) return
      this.#remove(oldest.value[0], oldest.value[1])
    }
  }

  #sweep(): void {
    const now = Date.now()
    this.#sweepCursor ??= this.#entries.entries()
    for (let i = 0; i < this.#sweepBatch; i++) {
      const next = this.#sweepCursor.next()
      if (next.done) {
        this.#sweepCursor = undefined
        break
      }
      const [id, entry] = next.value
      if (entry.expiresAt <= now) this.#remove(id, entry)
    }
    for (const [id, until] of this.#tombstones) {
      if (until > now) break // insertion order is expiry order
      this.#tombstones.delete(id)
    }
  }
}
