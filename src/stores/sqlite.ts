import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { InvalidOptionError, SessionDataError, StoreUnavailableError } from '../errors.ts'
import { DATA_FORMAT, checkKey, decodeData, encodeData, encodeValues } from './json-fields.ts'
import {
  kContractStore,
  type CreateResult,
  type GetOptions,
  type NewSession,
  type SessionPatch,
  type SessionStore,
  type StoredSession,
  type UpdateOptions,
  type TouchResult,
  type UpdateResult,
  type UserSessionInfo,
} from './contract.ts'
import { kStoreKind } from './kind.ts'
import { PruneTimer, positiveInteger, pruneInterval } from './options.ts'
import { parseMeta, toRecord } from './record.ts'

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

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

// Expiry columns hold epoch milliseconds from the application's clock (the engine's `Date.now()`),
// compared with bound parameters, never with SQLite's own time functions.
const SCHEMA = (t: string) => `
CREATE TABLE IF NOT EXISTS ${t} (
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  meta TEXT,
  user_id TEXT,
  expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX IF NOT EXISTS ${t}_expires_at ON ${t} (expires_at);
CREATE INDEX IF NOT EXISTS ${t}_user_id ON ${t} (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${t}_tombstones (id TEXT PRIMARY KEY, until INTEGER NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS ${t}_tombstones_until ON ${t}_tombstones (until);
`

/** JSON path of a top-level key in format 2 data (json-fields.ts): `$[1]."key"` with the key JSON-escaped, which SQLite's path syntax accepts. */
function pathOf(key: string): string {
  // SQLite compares path labels as C strings: "a\u0000" would address "a" and overwrite it
  checkKey('sqlite', key)
  return '$[1].' + JSON.stringify(key)
}

// a row's data in format 2; a format 1 row's values become their JSON text (`->` gives it, `|| ''` makes it a string)
const FIELDS = `CASE WHEN substr(data, 1, 1) = '[' THEN data
  ELSE json_array(${DATA_FORMAT}, (SELECT json_group_object(key, (data -> fullkey) || '') FROM json_each(data))) END`

interface Row {
  data: string
  meta: string | null
  user_id: string | null
  expires_at: number
  version: number
}

interface Statements {
  get: StatementSync
  slide: StatementSync
  create: StatementSync
  touch: StatementSync
  version: StatementSync
  remove: StatementSync
  tombstone: StatementSync
  listByUser: StatementSync
  removeByUser: StatementSync
  pruneSessions: StatementSync
  pruneTombstones: StatementSync
  all: StatementSync
  length: StatementSync
}


/** SQLite's result code for a file another connection holds locked. */
const SQLITE_BUSY = 5

/**
 * Runs `setup` again while it meets SQLITE_BUSY, for up to `limit` ms. Processes that open a new file
 * at once (a cluster's workers starting) race to switch it to WAL and create the table, and SQLite may
 * answer BUSY at once there, without waiting in its busy handler, to avoid a deadlock between them.
 */
function untilNotBusy(limit: number, setup: () => void): void {
  const deadline = Date.now() + limit
  for (;;) {
    try {
      setup()
      return
    } catch (err) {
      if ((err as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() >= deadline) throw err
      // the constructor is synchronous: a short sleep that holds this thread only
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
    }
  }
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
export class SqliteStore implements SessionStore {
  readonly [kContractStore] = true as const
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
    if (options.database !== undefined) {
      this.#db = options.database
      this.#ownsDatabase = false
    } else {
      if (typeof options.path !== 'string' || options.path.length === 0) throw new InvalidOptionError('path', 'is required (a file name or ":memory:")')
      this.#db = new DatabaseSync(options.path, { timeout: busyTimeout })
      this.#ownsDatabase = true
    }
    const db = this.#db
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeout}`)
      untilNotBusy(busyTimeout, () => {
        // WAL: readers never wait for the writer, several processes share the file; NORMAL is safe with WAL (a power loss may drop the last commits, never corrupts the file)
        db.exec('PRAGMA journal_mode = WAL')
        db.exec('PRAGMA synchronous = NORMAL')
        db.exec(SCHEMA(table))
      })
    } catch (err) {
      throw new StoreUnavailableError(`sqlite: cannot open ${table}: ${(err as Error).message}`, { cause: err })
    }
    const t = table
    const prepare = (sql: string) => db.prepare(sql)
    this.#statements = {
      get: prepare(`SELECT data, meta, user_id, expires_at, version FROM ${t} WHERE id = ? AND expires_at > ?`),
      // the slide: only when due, only forwards, never past the absolute deadline
      slide: prepare(
        `UPDATE ${t} SET expires_at = MAX(expires_at, MIN(?, COALESCE(absolute_expires_at, ?)))
         WHERE id = ? AND expires_at > ? AND expires_at < ?`,
      ),
      // never overwrites a live session or a fresh tombstone; an expired row not yet pruned is replaced
      create: prepare(
        `INSERT INTO ${t} (id, data, meta, user_id, expires_at, absolute_expires_at, version)
         SELECT ?, ?, ?, ?, ?, ?, 1 WHERE NOT EXISTS (SELECT 1 FROM ${t}_tombstones WHERE id = ? AND until > ?)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, meta = excluded.meta, user_id = excluded.user_id,
           expires_at = excluded.expires_at, absolute_expires_at = excluded.absolute_expires_at, version = 1
         WHERE ${t}.expires_at <= ?`,
      ),
      touch: prepare(`UPDATE ${t} SET expires_at = ? WHERE id = ? AND expires_at > ?`),
      version: prepare(`SELECT version FROM ${t} WHERE id = ? AND expires_at > ?`),
      remove: prepare(`DELETE FROM ${t} WHERE id = ?`),
      tombstone: prepare(`INSERT INTO ${t}_tombstones (id, until) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET until = excluded.until`),
      listByUser: prepare(`SELECT id, expires_at, meta FROM ${t} WHERE user_id = ? AND expires_at > ? ORDER BY expires_at`),
      removeByUser: prepare(`DELETE FROM ${t} WHERE user_id = ? AND id IS NOT ? RETURNING id`),
      pruneSessions: prepare(`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expires_at <= ? LIMIT ?)`),
      pruneTombstones: prepare(`DELETE FROM ${t}_tombstones WHERE rowid IN (SELECT rowid FROM ${t}_tombstones WHERE until <= ? LIMIT ?)`),
      all: prepare(`SELECT id, data, meta, user_id, expires_at, version FROM ${t} WHERE expires_at > ?`),
      length: prepare(`SELECT count(*) AS n FROM ${t} WHERE expires_at > ?`),
    }
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

  // SELECT …, then UPDATE … (the slide) when due: the record is returned as it was before the slide
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    return this.#run('get', () => {
      const now = Date.now()
      const row = this.#statements.get.get(id, now) as Row | undefined
      if (row === undefined) return null
      const stored = toStored(row)
      const { slideTo, slideIfBefore } = options ?? {}
      if (slideTo !== undefined) {
        this.#statements.slide.run(slideTo, slideTo, id, now, slideIfBefore ?? Number.MAX_SAFE_INTEGER)
      }
      return stored
    })
  }

  // INSERT … SELECT … WHERE NOT EXISTS (tombstone) ON CONFLICT DO UPDATE … WHERE expired
  async create(id: string, session: NewSession): Promise<CreateResult> {
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
    const setPaths: string[] = []
    const setValues: string[] = []
    const unsetPaths: string[] = []
    const { texts, dropped } = encodeValues('sqlite', patch.set)
    for (const key of Object.keys(texts)) {
      setPaths.push(pathOf(key))
      setValues.push(texts[key] as string)
    }
    for (const key of [...dropped, ...patch.unset]) unsetPaths.push(pathOf(key))
    const meta = patch.meta === undefined ? undefined : JSON.stringify(patch.meta)
    const expectVersion = options?.expectVersion
    return this.#run('update', () => {
      const statement = this.#updateStatement(unsetPaths.length, setPaths.length, {
        replace: patch.replace === true,
        meta: meta !== undefined,
        user: patch.userId !== undefined,
        version: expectVersion !== undefined,
      })
      const params: Array<string | number | null> = []
      params.push(...unsetPaths)
      for (let i = 0; i < setPaths.length; i++) params.push(setPaths[i] as string, setValues[i] as string)
      params.push(expiresAt)
      if (meta !== undefined) params.push(meta, patch.meta?.absoluteExpiresAt ?? null)
      if (patch.userId !== undefined) params.push(patch.userId)
      params.push(id, Date.now())
      if (expectVersion !== undefined) params.push(expectVersion)
      const { changes } = statement.run(...params)
      if (changes === 1) return 'ok'
      if (expectVersion === undefined) return 'gone'
      return this.#statements.version.get(id, Date.now()) === undefined ? 'gone' : 'conflict'
    })
  }

  #updateStatement(unset: number, set: number, flags: { replace: boolean; meta: boolean; user: boolean; version: boolean }): StatementSync {
    const key = `${unset}:${set}:${+flags.replace}${+flags.meta}${+flags.user}${+flags.version}`
    let statement = this.#updates.get(key)
    if (statement === undefined) {
      // each value is set as its JSON text, a plain string to SQLite: its depth and contents never meet json()
      const base = flags.replace ? `'[${DATA_FORMAT},{}]'` : unset === 0 ? FIELDS : `json_remove(${FIELDS}${', ?'.repeat(unset)})`
      const data = set === 0 ? base : `json_set(${base}${', ?, ?'.repeat(set)})`
      const columns = [`data = ${data}`, 'version = version + 1', 'expires_at = ?']
      if (flags.meta) columns.push('meta = ?', 'absolute_expires_at = ?')
      if (flags.user) columns.push('user_id = ?')
      const where = `id = ? AND expires_at > ?${flags.version ? ' AND version = ?' : ''}`
      statement = this.#db.prepare(`UPDATE ${this.#table} SET ${columns.join(', ')} WHERE ${where}`)
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
      return rows.map((row) => ({ id: row.id, expiresAt: row.expires_at, meta: parseMeta('sqlite', row.meta) }))
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

function toStored(row: Row): StoredSession {
  const data = decodeData('sqlite', row.data)
  return toRecord('sqlite', { data, meta: parseMeta('sqlite', row.meta), userId: row.user_id, expiresAt: row.expires_at, version: row.version })
}

// SQLITE_TOOBIG, and the JSON functions' errors ("malformed JSON" in a row written by other software): one record's data, not an outage
function isDataError(err: unknown): boolean {
  return (err as { errcode?: unknown } | null)?.errcode === 18 || /\bJSON\b/i.test(String((err as Error | null)?.message))
}
