/**
 * Pruning under reads: 100,000 expired rows beside 10,000 live ones, `store.prune()` with the store's
 * default batch, and a reader in the same process reading live sessions back to back. A read's
 * latency is counted from the moment it was due (the reader yields to the event loop before each
 * read), so a prune batch that holds the event loop (SQLite is synchronous) shows up in it too.
 */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { summarize } from '../stats.ts'
import type { Environment } from '../throughput.ts'
import { ABSOLUTE, IDLE, bulkKey } from './typical.ts'

export interface ReaderLatency {
  /** Milliseconds. */
  p50: number
  p99: number
  max: number
  reads: number
}

export interface PruneRow {
  store: string
  expired: number
  live: number
  removed: number
  seconds: number
  batch: number
  baseline: ReaderLatency
  during: ReaderLatency
}

const EXPIRED = 100_000
const LIVE = 10_000

/** Reads random live sessions until `until` settles; latencies from when each read was due. */
async function reader(store: SessionStore, until: Promise<unknown>): Promise<ReaderLatency> {
  let done = false
  void until.finally(() => {
    done = true
  })
  const latencies: number[] = []
  while (!done) {
    const due = performance.now()
    await new Promise((resolve) => setImmediate(resolve))
    // live rows are numbered after the expired ones
    const found = await store.get(bulkKey(EXPIRED + 1 + Math.floor(Math.random() * LIVE), 'md5'))
    latencies.push(performance.now() - due)
    if (found === null) throw new Error('prune: a live session was not found')
  }
  const { p50, p99, max, count } = summarize(Float64Array.from(latencies).sort())
  return { p50, p99, max, reads: count }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function pruneUnderReads(store: SessionStore & { prune(): Promise<number> }): Promise<Omit<PruneRow, 'store' | 'batch'>> {
  const baseline = await reader(store, sleep(1_000))
  const started = performance.now()
  let seconds = 0
  const pruning = store.prune().then((removed) => {
    seconds = (performance.now() - started) / 1000
    return removed
  })
  const during = await reader(store, pruning)
  return { expired: EXPIRED, live: LIVE, removed: await pruning, seconds, baseline, during }
}

async function postgresPrune(env: Environment): Promise<PruneRow | undefined> {
  const monitor = env.pg
  if (monitor === undefined) return undefined
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({ connectionString: monitor.benchUrl, max: 4 })
  const table = `tb_${env.runId}_prune`
  const now = Date.now()
  try {
    await PostgresStore.createTable(pool, { tableName: table })
    // rows 1..EXPIRED died an hour ago, the rest are live
    await monitor.query(
      `INSERT INTO "${table}" (id, data, meta, user_id, expires_at, absolute_expires_at, version)
       SELECT md5('k' || i) || left(md5('k' || i), 19), jsonb_build_object('user', 'user-' || i), NULL, 'user-' || i,
              to_timestamp(CASE WHEN i <= $2 THEN $3::float8 ELSE $4::float8 END / 1000), NULL, 1
       FROM generate_series(1, $1::integer) AS i`,
      [EXPIRED + LIVE, EXPIRED, now - 3_600_000, now + ABSOLUTE],
    )
    await monitor.query(`VACUUM ANALYZE "${table}"`)
    const store = new PostgresStore({ pool, tableName: table, createTable: false, pruneInterval: false })
    return { store: 'PostgresStore', batch: 5_000, ...(await pruneUnderReads(store)) }
  } finally {
    await monitor.dropTables([table, `${table}_tombstones`])
    await pool.end()
  }
}

async function sqlitePrune(env: Environment): Promise<PruneRow> {
  const database = new DatabaseSync(join(env.tmpDir, 'prune.sqlite'))
  const store = new SqliteStore({ database, pruneInterval: false })
  const now = Date.now()
  const insert = database.prepare('INSERT INTO sessions (id, data, meta, user_id, expires_at, absolute_expires_at, version) VALUES (?, ?, NULL, ?, ?, NULL, 1)')
  database.exec('BEGIN')
  for (let i = 1; i <= EXPIRED + LIVE; i++) insert.run(bulkKey(i, 'md5'), JSON.stringify({ user: `user-${i}` }), `user-${i}`, i <= EXPIRED ? now - 3_600_000 : now + IDLE)
  database.exec('COMMIT')
  database.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  try {
    return { store: 'SqliteStore', batch: 100, ...(await pruneUnderReads(store)) }
  } finally {
    await store.close()
    database.close()
  }
}

export async function measurePrune(env: Environment): Promise<PruneRow[]> {
  env.log('scale: prune under reads')
  const rows: PruneRow[] = []
  const pgRow = await postgresPrune(env)
  if (pgRow !== undefined) rows.push(pgRow)
  rows.push(await sqlitePrune(env))
  return rows
}
