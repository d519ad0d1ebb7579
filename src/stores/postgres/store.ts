import { createHash } from 'node:crypto'
import { InvalidOptionError } from '../../errors.ts'
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
} from '../contract.ts'
import { encodeData } from '../json-fields.ts'
import { kStoreKind } from '../kind.ts'
import { PruneTimer, integerOption, positiveInteger, pruneInterval } from '../options.ts'
import { listedMeta, parseMeta } from '../record.ts'
import { queryError, toStored, unavailable, updateValues } from './codec.ts'
import { statementsOf, type StatementName } from './statements.ts'
import { ENSURE_SCHEMA_SQL, tablesOf, type PostgresTableOptions, type Tables } from './tables.ts'

/** One query as `pg` takes it: named (prepared once per connection) unless `prepare: false`. */
export interface PostgresQuery {
  name?: string
  text: string
  values?: unknown[]
}

/** What the store needs of a query result. */
export interface PostgresQueryResult {
  rows: Array<Record<string, unknown>>
}

/** Anything with `pg`'s `query(config)`: a `pg.Pool` (the usual choice), a `pg.Client`, or an adapter. */
export interface PostgresPool {
  query(query: PostgresQuery): Promise<PostgresQueryResult>
}

/** Options of `PostgresStore`; only `pool` is required. */
export interface PostgresStoreOptions extends PostgresTableOptions {
  /** The application's pool; the store never ends it. */
  pool: PostgresPool
  /** Create the tables (if missing) before the first query. `false`: migrate with `createTableSql()` or `PostgresStore.createTable()`. Default true. */
  createTable?: boolean
  /** Mean ms between background prunes (jittered 50–150 %), or `false`. Default 900 000. */
  pruneInterval?: number | false
  /** Rows deleted per prune statement, so no statement holds many row locks or writes a WAL burst. Default 5 000. */
  pruneBatch?: number
  /** How long (ms) a destroyed id stays unusable, so late writers cannot bring it back. Default 60 000. */
  tombstoneTtl?: number
  /**
   * `touch` and `update` leave `expires_at` alone when it already lies within this many ms before the
   * new expiry. `expires_at` is indexed, so every change of it is a non-HOT update (stores.md §5.3);
   * a threshold lets bursts of data writes stay HOT, at the price of the record dying up to this much
   * earlier than the cookie says. Default 0: the expiry is always written.
   */
  touchThreshold?: number
  /** Named prepared statements; `false` for PgBouncer in transaction mode before 1.21. Default true. */
  prepare?: boolean
}

const DEFAULTS = { pruneInterval: 900_000, pruneBatch: 5_000, tombstoneTtl: 60_000, touchThreshold: 0 }

/**
 * Sessions in PostgreSQL through the application's `pg` pool: `jsonb` data patched in place, so
 * overlapping requests writing different keys all survive; every contract method one named,
 * prepared statement; expired rows pruned in batches on a jittered, unref'd timer.
 *
 * Schema (`createTableSql()`): `id text PRIMARY KEY, data jsonb NOT NULL, meta jsonb, user_id text,
 * expires_at timestamptz NOT NULL, absolute_expires_at timestamptz, version integer NOT NULL DEFAULT 1`,
 * an index on `expires_at`, a partial index on `user_id`, and `<table>_tombstones(id, until)` for
 * recently destroyed ids.
 *
 * @example
 * import pg from 'pg'
 * import { PostgresStore } from 'tessera-session/stores/postgres'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * app.use(session({ secret, store: new PostgresStore({ pool }) }))
 */
export class PostgresStore implements SessionStore {
  readonly [kContractStore] = true as const
  readonly [kStoreKind] = 'postgresql' as const
  readonly #pool: PostgresPool
  readonly #tables: Tables
  readonly #statements: Record<StatementName, { name?: string; text: string }>
  readonly #createTable: boolean
  readonly #pruneBatch: number
  readonly #tombstoneTtl: number
  #tableReady: Promise<void> | true | undefined
  readonly #pruner: PruneTimer

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object with a pool')
    if (typeof options.pool?.query !== 'function') throw new InvalidOptionError('pool', 'must be a pg.Pool (or anything with query(config))')
    this.#pool = options.pool
    this.#tables = tablesOf(options)
    this.#createTable = options.createTable ?? true
    if (typeof this.#createTable !== 'boolean') throw new InvalidOptionError('createTable', 'must be a boolean')
    this.#pruneBatch = positiveInteger('pruneBatch', options.pruneBatch, DEFAULTS.pruneBatch)
    this.#tombstoneTtl = positiveInteger('tombstoneTtl', options.tombstoneTtl, DEFAULTS.tombstoneTtl)
    const interval = pruneInterval(options.pruneInterval, DEFAULTS.pruneInterval)
    const threshold = integerOption('touchThreshold', options.touchThreshold, DEFAULTS.touchThreshold, 0)
    const prepare = options.prepare ?? true
    if (typeof prepare !== 'boolean') throw new InvalidOptionError('prepare', 'must be a boolean')
    const texts = statementsOf(this.#tables, threshold)
    const statements = {} as Record<StatementName, { name?: string; text: string }>
    for (const key of Object.keys(texts) as StatementName[]) {
      const text = texts[key]
      // a name per text: stores on other tables share the pool's connections, and pg refuses a name reused for another text
      const name = `tessera_${key}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`
      statements[key] = prepare ? { name, text } : { text }
    }
    this.#statements = statements
    if (!this.#createTable) this.#tableReady = true
    this.#pruner = new PruneTimer(interval, () => this.prune())
  }

  /** Creates the tables and indexes if missing, in one round trip (idempotent, safe from several instances at once; no DDL runs when both tables exist). */
  static async createTable(pool: PostgresPool, options: PostgresTableOptions = {}): Promise<void> {
    const text = ENSURE_SCHEMA_SQL(tablesOf(options))
    try {
      await pool.query({ text })
    } catch (err) {
      throw unavailable('createTable', err)
    }
  }

  /** One round trip with the store's error policy: driver errors become `StoreUnavailableError`, once. */
  async #query(operation: string, statement: StatementName, values: unknown[]): Promise<Array<Record<string, unknown>>> {
    try {
      if (this.#tableReady !== true) await this.#ensureTable()
      const { rows } = await this.#pool.query({ ...this.#statements[statement], values })
      return rows
    } catch (err) {
      throw queryError(operation, err)
    }
  }

  /** The first call creates the tables (one extra round trip, once); a failure is retried by the next call. */
  #ensureTable(): Promise<void> {
    if (this.#tableReady === undefined) {
      const ready = this.#pool.query({ text: ENSURE_SCHEMA_SQL(this.#tables) }).then(
        () => {
          this.#tableReady = true
        },
        (err: unknown) => {
          this.#tableReady = undefined
          throw err
        },
      )
      this.#tableReady = ready
    }
    return this.#tableReady as Promise<void>
  }

  // GET_SQL, or GET_AND_SLIDE_SQL when a slide is asked for
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    const now = Date.now()
    const slideTo = options?.slideTo
    const rows =
      slideTo === undefined
        ? await this.#query('get', 'get', [id, now])
        : await this.#query('get', 'getAndSlide', [id, now, slideTo, options?.slideIfBefore ?? null])
    const row = rows[0]
    return row === undefined ? null : toStored(row)
  }

  // CREATE_SQL: INSERT … SELECT … WHERE NOT EXISTS (tombstone) ON CONFLICT DO UPDATE … WHERE expired
  async create(id: string, session: NewSession): Promise<CreateResult> {
    const data = encodeData('postgres', session.data)
    const meta = session.meta === null ? null : JSON.stringify(session.meta)
    const absolute = session.meta?.absoluteExpiresAt ?? null
    const rows = await this.#query('create', 'create', [id, data, meta, session.userId, session.expiresAt, absolute, Date.now()])
    return rows.length === 1 ? 'ok' : 'collision'
  }

  // UPDATE_SQL: UPDATE … SET data = (data - $unset) || $set … WHERE id AND live RETURNING version;
  // UPDATE_IF_VERSION_SQL with expectVersion (a CTE that also reports whether the row is live)
  async update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult> {
    const values = updateValues(id, patch, expiresAt)
    const expectVersion = options?.expectVersion
    if (expectVersion === undefined) {
      const rows = await this.#query('update', 'update', values)
      return rows.length === 1 ? 'ok' : 'gone'
    }
    const rows = await this.#query('update', 'updateIfVersion', [...values, expectVersion])
    const row = rows[0]
    if (row?.version != null) return 'ok'
    return row?.live === true ? 'conflict' : 'gone'
  }

  // TOUCH_SQL: UPDATE … SET expires_at WHERE id AND live, and whether it is live
  async touch(id: string, expiresAt: number): Promise<TouchResult> {
    const rows = await this.#query('touch', 'touch', [id, expiresAt, Date.now()])
    return rows[0]?.live === true ? 'ok' : 'gone'
  }

  // DESTROY_SQL: WITH (DELETE) INSERT tombstone ON CONFLICT DO UPDATE
  async destroy(id: string): Promise<void> {
    await this.#query('destroy', 'destroy', [id, Date.now() + this.#tombstoneTtl])
  }

  // LIST_BY_USER_SQL
  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    const rows = await this.#query('listByUser', 'listByUser', [userId, Date.now()])
    return rows.map((row) => ({ id: row.id as string, expiresAt: Number(row.expires_at), meta: listedMeta(() => parseMeta('postgres', row.meta)) }))
  }

  // DESTROY_BY_USER_SQL: WITH (DELETE … RETURNING), (INSERT tombstones) SELECT count
  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const now = Date.now()
    const rows = await this.#query('destroyByUser', 'destroyByUser', [userId, exceptId ?? null, now + this.#tombstoneTtl, now])
    return Number(rows[0]?.destroyed ?? 0)
  }

  /**
   * Deletes expired sessions and tombstones, `pruneBatch` rows per statement (PRUNE_SQL) until a
   * batch comes back short; resolves how many sessions this call removed.
   */
  async prune(): Promise<number> {
    let removed = 0
    for (;;) {
      const rows = await this.#query('prune', 'prune', [Date.now(), this.#pruneBatch])
      const sessions = Number(rows[0]?.sessions ?? 0)
      const tombstones = Number(rows[0]?.tombstones ?? 0)
      removed += sessions
      if (sessions < this.#pruneBatch && tombstones < this.#pruneBatch) return removed
    }
  }

  /** Stops the background prune. The store stays usable (the pool is the application's). Safe to call twice. */
  async close(): Promise<void> {
    this.#pruner.stop()
  }
}
