import { DatabaseSync } from 'node:sqlite'
import { InvalidOptionError, StoreUnavailableError } from '../../errors.ts'
import { SCHEMA } from './statements.ts'

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
 * The page size of a file the store creates. Every commit appends each page it changed, whole and
 * checksummed, to the WAL, and checkpoints copy them back: a session update changes three or four
 * pages (the row, the expiry index), so smaller pages make a write
 * about half as costly
 * (docs/stores/sqlite.md, The event loop). SQLite applies it only to a file with nothing in it yet.
 */
const PAGE_SIZE = 1024

/** The database a store works on, and whether the store opened it (and so closes it). */
export interface OpenedDatabase {
  db: DatabaseSync
  owned: boolean
}

/**
 * The application's database, or the file at `path` opened; either way in WAL mode with the tables
 * created. `StoreUnavailableError` when SQLite cannot set it up within `busyTimeout`.
 */
export function openDatabase(options: { path?: string; database?: DatabaseSync }, table: string, busyTimeout: number): OpenedDatabase {
  let opened: OpenedDatabase
  if (options.database !== undefined) opened = { db: options.database, owned: false }
  else {
    if (typeof options.path !== 'string' || options.path.length === 0) throw new InvalidOptionError('path', 'is required (a file name or ":memory:")')
    opened = { db: new DatabaseSync(options.path, { timeout: busyTimeout }), owned: true }
  }
  const db = opened.db
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeout}`)
    untilNotBusy(busyTimeout, () => {
      // a database the application owns keeps the page size it chose
      if (opened.owned) db.exec(`PRAGMA page_size = ${PAGE_SIZE}`)
      // WAL: readers never wait for the writer, several processes share the file; NORMAL is safe with WAL (a power loss may drop the last commits, never corrupts the file)
      db.exec('PRAGMA journal_mode = WAL')
      db.exec('PRAGMA synchronous = NORMAL')
      db.exec(SCHEMA(table))
    })
  } catch (err) {
    throw new StoreUnavailableError(`sqlite: cannot open ${table}: ${(err as Error).message}`, { cause: err })
  }
  return opened
}
