import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { InvalidOptionError, SessionDataError, StoreUnavailableError } from '../../errors.ts'
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
} from '../contract.ts'
import { encodeData } from '../json-fields.ts'
import { kStoreKind } from '../kind.ts'
import { PruneTimer, positiveInteger, pruneInterval } from '../options.ts'
import { listedMeta, parseMeta } from '../record.ts'
import { isDataError, isSlideDue, toStored, updateParams, type Row } from './codec.ts'
import { openDatabase } from './open.ts'
import { IDENTIFIER, prepareStatements, updateSql, type Statements, type UpdateShape } from './statements.ts'

export interface SqliteStoreOptions {
  /** Database file (created if missing) or `':memory:'`. Ignored when `database` is given. */
  path?: string
  /** An open `DatabaseSync` the application owns; the store never closes it. */
  database?: DatabaseSync
  /** Table name; the tombstone table is `<tableName>_tombstones`. Default `sessions`. */
  tableName?: string
  /** How long (ms) a statement waits for another process's write lock; node:sqlite is synchronous, so this bounds how long the event loop can stall. Default 1000. */
  busyTimeout?: number
  /** Mean ms between background prunes (jittered 50–150 %), or `false`. Default 300 000. */
  pruneInterval?: number | false
  /** Rows deleted per prune batch; the event loop runs between batches. Default 100. */
  pruneBatch?: number
  /** How long (ms) a destroyed id stays unusable. Default 60 000. */
  tombstoneTtl?: number
}

/**
 * Sessions in a SQLite file through `node:sqlite` (no native dependency): the embedded, persistent
 * default. WAL journal and a busy timeout let several processes on one host share the file (not on
 * a network filesystem: WAL needs shared memory). Patches are applied inside SQLite with
 * `json_set`/`json_remove`, so concurrent writers of different keys never lose each other's changes.
 *
 * @example
 * import { SqliteStore } from 'tessera-session/stores/sqlite'
 * app.use(session({ secret, store: new SqliteStore({ path: 'sessions.db' }) }))
 */
export class SqliteStore implements SessionStore, SyncStore {
  readonly [kContractStore] = true as const
  readonly [kKeepsExpiry] = true as const
  /** `get`, `create` and `update` without a promise, for the middleware (see `kSync`). */
  readonly [kSync]: SyncAccess = {
    get: SqliteStore.prototype.get,
    create: SqliteStore.prototype.create,
    update: SqliteStore.prototype.update,
    read: (id, options) => this.#read(id, options),
    insert: (id, session) => this.#create(id, session),
    write: (id, patch, expiresAt) => this.#update(id, patch, expiresAt, undefined),
  }
  readonly [kStoreKind] = 'sqlite' as const
  readonly #db: DatabaseSync
  readonly #ownsDatabase: boolean
  readonly #table: string
  readonly #statements: Statements
  /** Update statements by shape (how many keys set/unset, which columns), prepared once each. */
  readonly #updates = new Map<string, StatementSync>()
  readonly #tombstoneTtl: number
  readonly #pruneBatch: number
  readonly #pruner: PruneTimer
  #closed = false

  constructor(options: SqliteStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object with a path')
    const table = options.tableName ?? 'sessions'
    if (!IDENTIFIER.test(table)) throw new InvalidOptionError('tableName', 'must be a plain SQL identifier (letters, digits, _)')
    this.#table = table
    this.#tombstoneTtl = positiveInteger('tombstoneTtl', options.tombstoneTtl, 60_000)
    // small: node:sqlite is synchronous, so a batch holds the event loop (~1 ms for 100 rows)
    this.#pruneBatch = positiveInteger('pruneBatch', options.pruneBatch, 100)
    const interval = pruneInterval(options.pruneInterval, 300_000)
    const busyTimeout = positiveInteger('busyTimeout', options.busyTimeout, 1_000)
    const { db, owned } = openDatabase(options, table, busyTimeout)
    this.#db = db
    this.#ownsDatabase = owned
    this.#statements = prepareStatements(db, table)
    this.#pruner = new PruneTimer(interval, () => this.prune())
  }

  /** Runs statements with the store's error policy: driver errors become `StoreUnavailableError`. */
  #run<T>(operation: string, work: () => T): T {
    if (this.#closed) throw new StoreUnavailableError(`sqlite ${operation}: the store is closed`)
    try {
      return work()
    } catch (err) {
      if (err instanceof SessionDataError) throw err
      if (isDataError(err)) throw new SessionDataError(`sqlite ${operation}: SQLite refused the data: ${(err as Error).message}`, { cause: err })
      throw new StoreUnavailableError(`sqlite ${operation} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /** BEGIN IMMEDIATE: takes the write lock up front, so no reader has to upgrade mid-transaction. */
  #transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      const result = work()
      this.#db.exec('COMMIT')
      return result
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    }
  }

  // SELECT …, then UPDATE … (the slide) only when the row read says it is due: an UPDATE that changes
  // nothing still takes the write lock and commits, several times the cost of the read (and waits for
  // another process's write). The UPDATE checks again, for a writer in between. The record is returned as
  // it was before the slide.
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    return this.#read(id, options)
  }


  #read(id: string, options: GetOptions | undefined): StoredSession | null {
    return this.#run('get', () => {
      const now = Date.now()
      const row = this.#statements.get.get(id, now) as Row | undefined
      if (row === undefined) return null
      const stored = toStored(row)
      const slideTo = options?.slideTo
      if (slideTo !== undefined && isSlideDue(stored, slideTo, options?.slideIfBefore)) {
        this.#statements.slide.run(slideTo, slideTo, id, now, options?.slideIfBefore ?? Number.MAX_SAFE_INTEGER)
      }
      return stored
    })
  }

  // INSERT … SELECT … WHERE NOT EXISTS (tombstone) ON CONFLICT DO UPDATE … WHERE expired
  async create(id: string, session: NewSession): Promise<CreateResult> {
    return this.#create(id, session)
  }

  #create(id: string, session: NewSession): CreateResult {
    const data = encodeData('sqlite', session.data)
    const meta = session.meta === null ? null : JSON.stringify(session.meta)
    return this.#run('create', () => {
      const now = Date.now()
      const absolute = session.meta?.absoluteExpiresAt ?? null
      const { changes } = this.#statements.create.run(id, data, meta, session.userId, session.expiresAt, absolute, id, now, now)
      return changes === 1 ? 'ok' : 'collision'
    })
  }

  // UPDATE … SET data = json_set(json_remove(data, …), …), version = version + 1 … WHERE live [AND version = ?]
  async update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult> {
    return this.#update(id, patch, expiresAt, options)
  }

  #update(id: string, patch: SessionPatch, expiresAt: number, options: UpdateOptions | undefined): UpdateResult {
    const { unset, set, shape, params } = updateParams(patch, expiresAt, options?.expectVersion !== undefined)
    const expectVersion = options?.expectVersion
    return this.#run('update', () => {
      params.push(id, Date.now())
      if (expectVersion !== undefined) params.push(expectVersion)
      const { changes } = this.#updateStatement(unset, set, shape).run(...params)
      if (changes === 1) return 'ok'
      if (expectVersion === undefined) return 'gone'
      return this.#statements.version.get(id, Date.now()) === undefined ? 'gone' : 'conflict'
    })
  }

  #updateStatement(unset: number, set: number, shape: UpdateShape): StatementSync {
    const key = `${unset}:${set}:${+shape.replace}${+shape.expiry}${+shape.meta}${+shape.user}${+shape.version}`
    let statement = this.#updates.get(key)
    if (statement === undefined) {
      statement = this.#db.prepare(updateSql(this.#table, unset, set, shape))
      this.#updates.set(key, statement)
    }
    return statement
  }

  // UPDATE … SET expires_at = ? WHERE live
  async touch(id: string, expiresAt: number): Promise<TouchResult> {
    const { changes } = this.#run('touch', () => this.#statements.touch.run(expiresAt, id, Date.now()))
    return Number(changes) === 1 ? 'ok' : 'gone'
  }

  // one transaction: DELETE the row, INSERT the tombstone
  async destroy(id: string): Promise<void> {
    this.#run('destroy', () =>
      this.#transaction(() => {
        this.#statements.remove.run(id)
        this.#statements.tombstone.run(id, Date.now() + this.#tombstoneTtl)
      }),
    )
  }

  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    return this.#run('listByUser', () => {
      const rows = this.#statements.listByUser.all(userId, Date.now()) as Array<{ id: string; expires_at: number; meta: string | null }>
      return rows.map((row) => ({ id: row.id, expiresAt: row.expires_at, meta: listedMeta(() => parseMeta('sqlite', row.meta)) }))
    })
  }

  // one transaction: DELETE … RETURNING id, then a tombstone for each
  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    return this.#run('destroyByUser', () =>
      this.#transaction(() => {
        const removed = this.#statements.removeByUser.all(userId, exceptId ?? null) as Array<{ id: string }>
        const until = Date.now() + this.#tombstoneTtl
        for (const row of removed) this.#statements.tombstone.run(row.id, until)
        return removed.length
      }),
    )
  }

  /** Every live session (express-session's optional `all`; for administration, it reads the whole table). */
  async all(): Promise<Array<[string, StoredSession]>> {
    return this.#run('all', () => {
      const rows = this.#statements.all.all(Date.now()) as unknown as Array<Row & { id: string }>
      const result: Array<[string, StoredSession]> = []
      for (const row of rows) {
        try {
          result.push([row.id, toStored(row)])
        } catch (err) {
          // one unreadable record does not hide the others
          if (!(err instanceof SessionDataError)) throw err
        }
      }
      return result
    })
  }

  /** How many live sessions there are. */
  async length(): Promise<number> {
    return this.#run('length', () => (this.#statements.length.get(Date.now()) as { n: number }).n)
  }

  /** Deletes every session (and tombstone). */
  async clear(): Promise<void> {
    this.#run('clear', () =>
      this.#transaction(() => {
        this.#db.exec(`DELETE FROM ${this.#table}; DELETE FROM ${this.#table}_tombstones`)
      }),
    )
  }

  /**
   * Deletes expired sessions and tombstones in batches of `pruneBatch`, letting the event loop run
   * between batches so requests are never held up for long; resolves how many sessions went.
   */
  async prune(): Promise<number> {
    let removed = 0
    for (;;) {
      const now = Date.now()
      const { changes } = this.#run('prune', () => this.#statements.pruneSessions.run(now, this.#pruneBatch))
      removed += Number(changes)
      if (Number(changes) < this.#pruneBatch) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    for (;;) {
      const { changes } = this.#run('prune', () => this.#statements.pruneTombstones.run(Date.now(), this.#pruneBatch))
      if (Number(changes) < this.#pruneBatch) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    return removed
  }

  /** Stops the background prune and closes the database if the store opened it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pruner.stop()
    if (this.#ownsDatabase) this.#db.close()
  }
}
