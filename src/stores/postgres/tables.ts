import { InvalidOptionError } from '../../errors.ts'

/* The tables of the PostgreSQL store: their names, checked and quoted, and their DDL. */

/** Where the tables live. */
export interface PostgresTableOptions {
  /** Session table; the tombstone table is `<tableName>_tombstones`. Quoted, so used exactly as written. Default `tessera_sessions`. */
  tableName?: string
  /** Schema of both tables (it must exist). Default: the connection's `search_path`. */
  schemaName?: string
}

const DEFAULT_TABLE = 'tessera_sessions'

// 42 = 63 (NAMEDATALEN - 1) minus the longest suffix, `_tombstones_until_idx`: PostgreSQL would silently truncate longer names
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const MAX_TABLE_NAME = 42

/** The quoted names of the two tables, and what index and lock names are made of. */
export interface Tables {
  sessions: string
  tombstones: string
  /** Unquoted, for index names. */
  base: string
  /** Unquoted `schema.table`, for the advisory lock key. */
  key: string
}

export function tablesOf(options: PostgresTableOptions): Tables {
  const table = options.tableName ?? DEFAULT_TABLE
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

export const SCHEMA_SQL = (t: Tables) => `CREATE TABLE IF NOT EXISTS ${t.sessions} (
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
export const ENSURE_SCHEMA_SQL = (t: Tables) => `DO $tessera$ BEGIN
IF to_regclass('${t.sessions}') IS NULL OR to_regclass('${t.tombstones}') IS NULL THEN
PERFORM pg_advisory_xact_lock(hashtext('tessera-session:${t.key}'));
${SCHEMA_SQL(t)}END IF;
END $tessera$`

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

