import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { DATA_FORMAT, checkKey } from '../json-fields.ts'

/* The SQL of the SQLite store: its schema, and each statement with why it is shaped as it is. */

/** A table name the store accepts: it is written into the SQL, never bound. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

// Expiry columns hold epoch milliseconds from the application's clock (the engine's `Date.now()`),
// compared with bound parameters, never with SQLite's own time functions.
export const SCHEMA = (t: string) => `
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
export function pathOf(key: string): string {
  // SQLite compares path labels as C strings: "a\u0000" would address "a" and overwrite it
  checkKey('sqlite', key)
  return '$[1].' + JSON.stringify(key)
}

// a row's data in format 2; a format 1 row's values become their JSON text (`->` gives it, `|| ''` makes it a string)
const FIELDS = `CASE WHEN substr(data, 1, 1) = '[' THEN data
  ELSE json_array(${DATA_FORMAT}, (SELECT json_group_object(key, (data -> fullkey) || '') FROM json_each(data))) END`

export interface Statements {
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

/** The fixed statements of the table `t`, prepared once. */
export function prepareStatements(db: DatabaseSync, t: string): Statements {
  const prepare = (sql: string) => db.prepare(sql)
  return {
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
}

/** Which columns an update writes besides the data, and whether it checks the version. */
export interface UpdateShape {
  replace: boolean
  /** Sets `expires_at` (see `SessionPatch.keepExpiry`). */
  expiry: boolean
  meta: boolean
  user: boolean
  version: boolean
}

/** An update of `unset` removed and `set` changed keys, in that order of parameters; then expiry, meta, owner (each when the shape sets it), id, now, version. */
export function updateSql(table: string, unset: number, set: number, flags: UpdateShape): string {
  // each value is set as its JSON text, a plain string to SQLite: its depth and contents never meet json()
  const base = flags.replace ? `'[${DATA_FORMAT},{}]'` : unset === 0 ? FIELDS : `json_remove(${FIELDS}${', ?'.repeat(unset)})`
  const data = set === 0 ? base : `json_set(${base}${', ?, ?'.repeat(set)})`
  const columns = [`data = ${data}`, 'version = version + 1']
  if (flags.expiry) columns.push('expires_at = ?')
  if (flags.meta) columns.push('meta = ?', 'absolute_expires_at = ?')
  if (flags.user) columns.push('user_id = ?')
  const where = `id = ? AND expires_at > ?${flags.version ? ' AND version = ?' : ''}`
  return `UPDATE ${table} SET ${columns.join(', ')} WHERE ${where}`
}
