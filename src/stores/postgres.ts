import { createHash } from 'node:crypto'
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
import { PruneTimer, integerOption, positiveInteger, pruneInterval } from './options.ts'
import { parseMeta, toRecord } from './record.ts'

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

/** Where the tables live. */
export interface PostgresTableOptions {
  /** Session table; the tombstone table is `<tableName>_tombstones`. Quoted, so used exactly as written. Default `tessera_sessions`. */
  tableName?: string
  /** Schema of both tables (it must exist). Default: the connection's `search_path`. */
  schemaName?: string
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

const DEFAULTS = { tableName: 'tessera_sessions', pruneInterval: 900_000, pruneBatch: 5_000, tombstoneTtl: 60_000, touchThreshold: 0 }

// 42 = 63 (NAMEDATALEN - 1) minus the longest suffix, `_tombstones_until_idx`: PostgreSQL would silently truncate longer names
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const MAX_TABLE_NAME = 42

interface Tables {
  sessions: string
  tombstones: string
  /** Unquoted, for index names. */
  base: string
  /** Unquoted `schema.table`, for the advisory lock key. */
  key: string
}

function tablesOf(options: PostgresTableOptions): Tables {
  const table = options.tableName ?? DEFAULTS.tableName
  if (typeof table !== 'string' || !IDENTIFIER.test(table) || table.length > MAX_TABLE_NAME) {
    throw new InvalidOptionError('tableName', `must match ${IDENTIFIER.source} and be at most ${MAX_TABLE_NAME} characters`)
  }
  const schema = options.schemaName
  if (schema !== undefined && (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 63)) {
    throw new InvalidOptionError('schemaName', `must match ${IDENTIFIER.source} and be at most 63 characters`)
  }
  // validated above, and quoted anyway so reserved words and mixed case mean what they say
  const prefix = schema === undefined ? '' : `"${schema}".`
  return { sessions: `${prefix}"${table}"`, tombstones: `${prefix}"${table}_tombstones"`, base: table, key: `${schema ?? ''}.${table}` }
}

// Every time is epoch ms from the application's clock, bound as a parameter: expiry then agrees with
// the engine's `Date.now()` judgement, whatever the server's clock says (connect-pg-simple #25).
const at = (param: string) => `to_timestamp(${param}::float8 / 1000)`
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`

const SCHEMA_SQL = (t: Tables) => `CREATE TABLE IF NOT EXISTS ${t.sessions} (
  id text PRIMARY KEY,
  data jsonb NOT NULL,
  meta jsonb,
  user_id text,
  expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz,
  version integer NOT NULL DEFAULT 1
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS "${t.base}_expires_at_idx" ON ${t.sessions} (expires_at);
CREATE INDEX IF NOT EXISTS "${t.base}_user_id_idx" ON ${t.sessions} (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${t.tombstones} (id text PRIMARY KEY, until timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS "${t.base}_tombstones_until_idx" ON ${t.tombstones} (until);
`

// DDL only when a table is missing (a role without CREATE can use migrated tables), under an advisory
// lock so instances starting together do not race on CREATE TABLE IF NOT EXISTS
const ENSURE_SCHEMA_SQL = (t: Tables) => `DO $tessera$ BEGIN
IF to_regclass('${t.sessions}') IS NULL OR to_regclass('${t.tombstones}') IS NULL THEN
PERFORM pg_advisory_xact_lock(hashtext('tessera-session:${t.key}'));
${SCHEMA_SQL(t)}END IF;
END $tessera$`

const COLUMNS = `data::text AS data, meta::text AS meta, user_id, ${ms('expires_at')} AS expires_at, version`

// data::text: the row is parsed by parseJson (prototype keys dropped), never by the driver's jsonb parser
const GET_SQL = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}`

// the CTE's UPDATE and the SELECT share one snapshot, so the row comes back as it was before the slide;
// the slide happens only when due ($4), only forwards, never past absolute_expires_at (LEAST skips NULL)
const GET_AND_SLIDE_SQL = (t: Tables) => `WITH slid AS (
  UPDATE ${t.sessions} SET expires_at = LEAST(${at('$3')}, absolute_expires_at)
   WHERE id = $1 AND expires_at > ${at('$2')} AND ($4::float8 IS NULL OR expires_at < ${at('$4')})
     AND LEAST(${at('$3')}, absolute_expires_at) > expires_at)
SELECT ${COLUMNS} FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}`

// never overwrites a live row or a fresh tombstone (0 rows: collision); an expired row not yet pruned is replaced
const CREATE_SQL = (t: Tables) => `INSERT INTO ${t.sessions} AS s (id, data, meta, user_id, expires_at, absolute_expires_at, version)
SELECT $1::text, $2::jsonb, $3::jsonb, $4::text, ${at('$5')}, ${at('$6')}, 1
 WHERE NOT EXISTS (SELECT 1 FROM ${t.tombstones} WHERE id = $1 AND until > ${at('$7')})
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, meta = EXCLUDED.meta, user_id = EXCLUDED.user_id,
  expires_at = EXCLUDED.expires_at, absolute_expires_at = EXCLUDED.absolute_expires_at, version = 1
 WHERE s.expires_at <= ${at('$7')}
RETURNING 1 AS created`

// the expiry stays put when already within the threshold below the new one: an unchanged indexed column keeps the update HOT
const NEXT_EXPIRY = (param: string, threshold: number) =>
  `CASE WHEN expires_at BETWEEN to_timestamp((${param}::float8 - ${threshold}) / 1000) AND ${at(param)} THEN expires_at ELSE ${at(param)} END`

// the key → JSON text object of a row's data (json-fields.ts); a format 1 row's values become their JSON text
const FIELDS = `(CASE WHEN jsonb_typeof(data) = 'array' THEN data -> 1
  ELSE (SELECT COALESCE(jsonb_object_agg(key, value::text), '{}'::jsonb) FROM jsonb_each(data)) END)`

// removed keys, then merged changed keys, applied to the row as it is when the lock is granted, so
// concurrent writers of different keys both survive; a plain UPDATE, so a gone row is never recreated.
// The unset keys travel as a JSON array: no reliance on the driver's text[] encoding
const UPDATE_SET = (threshold: number) => `
  data = jsonb_build_array(${DATA_FORMAT}, CASE WHEN $6::boolean THEN $4::jsonb ELSE (${FIELDS} - ARRAY(SELECT jsonb_array_elements_text($5::jsonb))) || $4::jsonb END),
  meta = COALESCE($7::jsonb, meta),
  absolute_expires_at = CASE WHEN $7::jsonb IS NULL THEN absolute_expires_at ELSE ${at('$8')} END,
  user_id = CASE WHEN $9::boolean THEN $10::text ELSE user_id END,
  expires_at = ${NEXT_EXPIRY('$3', threshold)},
  version = version + 1`

// 0 rows: gone (missing, expired or destroyed)
const UPDATE_SQL = (t: Tables, threshold: number) => `UPDATE ${t.sessions} SET ${UPDATE_SET(threshold)}
 WHERE id = $1 AND expires_at > ${at('$2')}
RETURNING version`

// compare-and-set; the `live` CTE tells 'conflict' (live, other version) from 'gone' in the same round trip
const UPDATE_IF_VERSION_SQL = (t: Tables, threshold: number) => `WITH live AS (
  SELECT 1 FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$2')}
), changed AS (
  UPDATE ${t.sessions} SET ${UPDATE_SET(threshold)}
   WHERE id = $1 AND expires_at > ${at('$2')} AND version = $11::integer
  RETURNING version)
SELECT (SELECT version FROM changed) AS version, EXISTS (SELECT 1 FROM live) AS live`

// the threshold can leave a live row unchanged: whether it is live comes from the statement's snapshot, beside the UPDATE
const TOUCH_SQL = (t: Tables, threshold: number) => `WITH moved AS (UPDATE ${t.sessions} SET expires_at = ${at('$2')}
 WHERE id = $1 AND expires_at > ${at('$3')}
   AND expires_at NOT BETWEEN to_timestamp(($2::float8 - ${threshold}) / 1000) AND ${at('$2')})
SELECT EXISTS (SELECT 1 FROM ${t.sessions} WHERE id = $1 AND expires_at > ${at('$3')}) AS live`

// delete and tombstone in one statement (one implicit transaction)
const DESTROY_SQL = (t: Tables) => `WITH gone AS (DELETE FROM ${t.sessions} WHERE id = $1)
INSERT INTO ${t.tombstones} (id, until) VALUES ($1, ${at('$2')})
ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until`

// the user_id = $1 clause implies user_id IS NOT NULL, so the partial index serves it
const LIST_BY_USER_SQL = (t: Tables) => `SELECT id, ${ms('expires_at')} AS expires_at, meta::text AS meta
  FROM ${t.sessions} WHERE user_id = $1 AND expires_at > ${at('$2')} ORDER BY expires_at`

// every row of the user goes (expired ones too) and is tombstoned; only the live ones are counted
const DESTROY_BY_USER_SQL = (t: Tables) => `WITH gone AS (
  DELETE FROM ${t.sessions} WHERE user_id = $1 AND ($2::text IS NULL OR id <> $2::text) RETURNING id, expires_at
), marked AS (
  INSERT INTO ${t.tombstones} (id, until) SELECT id, ${at('$3')} FROM gone
  ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until)
SELECT count(*)::integer AS destroyed FROM gone WHERE expires_at > ${at('$4')}`

// one batch: ctid lookups after an index scan on the expiry; SKIP LOCKED lets several instances prune
// at once without waiting on each other or deleting a row twice (stores.md §5.2)
const PRUNE_SQL = (t: Tables) => `WITH sessions AS (
  DELETE FROM ${t.sessions} WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM ${t.sessions} WHERE expires_at <= ${at('$1')} ORDER BY expires_at LIMIT $2::integer FOR UPDATE SKIP LOCKED))
  RETURNING 1
), tombstones AS (
  DELETE FROM ${t.tombstones} WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM ${t.tombstones} WHERE until <= ${at('$1')} ORDER BY until LIMIT $2::integer FOR UPDATE SKIP LOCKED))
  RETURNING 1)
SELECT (SELECT count(*) FROM sessions)::integer AS sessions, (SELECT count(*) FROM tombstones)::integer AS tombstones`

function statementsOf(tables: Tables, threshold: number) {
  return {
    get: GET_SQL(tables),
    getAndSlide: GET_AND_SLIDE_SQL(tables),
    create: CREATE_SQL(tables),
    update: UPDATE_SQL(tables, threshold),
    updateIfVersion: UPDATE_IF_VERSION_SQL(tables, threshold),
    touch: TOUCH_SQL(tables, threshold),
    destroy: DESTROY_SQL(tables),
    listByUser: LIST_BY_USER_SQL(tables),
    destroyByUser: DESTROY_BY_USER_SQL(tables),
    prune: PRUNE_SQL(tables),
  }
}

type StatementName = keyof ReturnType<typeof statementsOf>

/**
 * The DDL of the session and tombstone tables and their indexes, for migration tools (idempotent:
 * `IF NOT EXISTS` throughout).
 *
 * @example
 * await pool.query(createTableSql({ tableName: 'sessions' }))
 */
export function createTableSql(options: PostgresTableOptions = {}): string {
  return SCHEMA_SQL(tablesOf(options))
}

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
      throw isDataException(err) ? new SessionDataError(`postgres ${operation}: the server refused the data: ${(err as Error).message}`, { cause: err }) : unavailable(operation, err)
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
    for (const key of patch.unset) checkKey('postgres', key)
    // compat: JSON drops undefined and functions, so such a key is removed rather than kept at its old value
    const { texts, dropped } = encodeValues('postgres', patch.set)
    const unset = [...patch.unset, ...dropped]
    const meta = patch.meta === undefined ? null : JSON.stringify(patch.meta)
    const values: unknown[] = [
      id,
      Date.now(),
      expiresAt,
      JSON.stringify(texts),
      JSON.stringify(unset),
      patch.replace === true,
      meta,
      patch.meta?.absoluteExpiresAt ?? null,
      patch.userId !== undefined,
      patch.userId ?? null,
    ]
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
    return rows.map((row) => ({ id: row.id as string, expiresAt: Number(row.expires_at), meta: parseMeta('postgres', row.meta) }))
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

function unavailable(operation: string, err: unknown): StoreUnavailableError {
  const detail = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`postgres ${operation} failed: ${detail}`, { cause: err })
}

/**
 * SQLSTATE class 22 (data exception: text or JSON the server cannot hold or parse) and 54000/54001
 * (a value too large or too deep): one record's data, not an outage.
 */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('22') || code === '54000' || code === '54001')
}

function toStored(row: Record<string, unknown>): StoredSession {
  const data = decodeData('postgres', row.data)
  const meta = parseMeta('postgres', row.meta)
  return toRecord('postgres', { data, meta, userId: row.user_id ?? null, expiresAt: Number(row.expires_at), version: Number(row.version) })
}
