/**
 * Read latency as the store grows: `store.get` (no slide: the read of an unmodified session) over
 * random existing keys, one at a time, with a small and a large number of sessions stored. Rows are
 * bulk-inserted in the store's own layout (Redis: a Lua script writing the hashes in batches;
 * PostgreSQL: INSERT … SELECT generate_series; SQLite: one transaction), then read through the store.
 */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { summarize } from '../stats.ts'
import type { Environment } from '../throughput.ts'
import { ABSOLUTE, IDLE, bulkKey } from './typical.ts'

export interface GrowthPoint {
  sessions: number
  /** Seconds the bulk insert up to this size took. */
  insertSeconds: number
  /** Microseconds per `get`. */
  p50: number
  p99: number
  max: number
  reads: number
}

export interface GrowthRow {
  store: string
  points: GrowthPoint[]
}

const READS = 5_000

async function timeReads(store: SessionStore, sessions: number, hash: 'md5' | 'sha1'): Promise<Omit<GrowthPoint, 'sessions' | 'insertSeconds'>> {
  const keys = Array.from({ length: READS }, () => bulkKey(1 + Math.floor(Math.random() * sessions), hash))
  // a short warm-up: prepared statements, script cache, connection
  for (const key of keys.slice(0, 200)) await store.get(key)
  const micros = new Float64Array(READS)
  for (let i = 0; i < READS; i++) {
    const started = performance.now()
    const found = await store.get(keys[i] as string)
    micros[i] = (performance.now() - started) * 1000
    if (found === null) throw new Error(`growth: session ${keys[i]} not found`)
  }
  const { p50, p99, max } = summarize(micros.sort())
  return { p50, p99, max, reads: READS }
}

function metaJson(now: number): string {
  return JSON.stringify({ createdAt: now, absoluteExpiresAt: now + ABSOLUTE, idleTimeout: IDLE, authTime: now })
}

// ARGV prefix, from, to, expiresAt, absolute, meta: the hash CREATE_SCRIPT would write for a login session
// (with _t, the owner's hash, and _x, the absolute deadline its index entry covers), keyed by bulkKey(i, 'sha1')
const REDIS_BULK = `
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  local h = redis.sha1hex('k' .. i)
  local key = ARGV[1] .. '{' .. string.sub(h, 1, 8) .. '}' .. h .. string.sub(h, 1, 3)
  local user = string.format('user-%06d', i)
  redis.call('HSET', key, '_v', '1', '_e', ARGV[4], 'd:user', '"' .. user .. '"', 'd:roles', '["member"]',
    'd:csrf', '"' .. string.sub(h, 1, 22) .. '"', '_m', ARGV[6], '_a', ARGV[5], '_u', user, '_t', string.sub(h, 9, 16), '_x', ARGV[5])
  redis.call('PEXPIREAT', key, ARGV[4])
end
return 1
`
const REDIS_UNLINK = `
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  local h = redis.sha1hex('k' .. i)
  redis.call('UNLINK', ARGV[1] .. '{' .. string.sub(h, 1, 8) .. '}' .. h .. string.sub(h, 1, 3))
end
return 1
`
const REDIS_BATCH = 5_000

async function redisGrowth(env: Environment, sizes: number[]): Promise<GrowthRow> {
  const { createClient } = await import('redis')
  const client = createClient({ url: env.redisUrl, name: 'tessera-bench-scale' })
  client.on('error', () => {})
  await client.connect()
  const prefix = `tbench:${env.runId}:growth:`
  const store = new RedisStore({ client, prefix })
  const now = Date.now()
  const batches = async (script: string, from: number, to: number) => {
    for (let start = from; start <= to; start += REDIS_BATCH) {
      const end = Math.min(to, start + REDIS_BATCH - 1)
      await client.sendCommand(['EVAL', script, '0', prefix, String(start), String(end), String(now + IDLE), String(now + ABSOLUTE), metaJson(now)])
    }
  }
  const points: GrowthPoint[] = []
  let inserted = 0
  try {
    for (const size of sizes) {
      const started = performance.now()
      await batches(REDIS_BULK, inserted + 1, size)
      inserted = size
      points.push({ sessions: size, insertSeconds: (performance.now() - started) / 1000, ...(await timeReads(store, size, 'sha1')) })
      env.log(`scale: redis growth ${size}: p50 ${points.at(-1)?.p50.toFixed(0)} µs`)
    }
  } finally {
    await batches(REDIS_UNLINK, 1, inserted)
    await client.quit()
  }
  return { store: 'RedisStore', points }
}

async function postgresGrowth(env: Environment, sizes: number[]): Promise<GrowthRow | undefined> {
  const monitor = env.pg
  if (monitor === undefined) return undefined
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({ connectionString: monitor.benchUrl, max: 2 })
  const table = `tb_${env.runId}_growth`
  const now = Date.now()
  const points: GrowthPoint[] = []
  try {
    await PostgresStore.createTable(pool, { tableName: table })
    const store = new PostgresStore({ pool, tableName: table, createTable: false, pruneInterval: false })
    let inserted = 0
    for (const size of sizes) {
      const started = performance.now()
      // ids as bulkKey(i, 'md5'); the row CREATE_SQL would write for a login session
      await monitor.query(
        `INSERT INTO "${table}" (id, data, meta, user_id, expires_at, absolute_expires_at, version)
         SELECT md5('k' || i) || left(md5('k' || i), 19),
                jsonb_build_object('user', format('user-%s', lpad(i::text, 6, '0')), 'roles', '["member"]'::jsonb, 'csrf', left(md5('c' || i), 22)),
                $3::jsonb, format('user-%s', lpad(i::text, 6, '0')), to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), 1
         FROM generate_series($1::integer, $2::integer) AS i`,
        [inserted + 1, size, metaJson(now), now + IDLE, now + ABSOLUTE],
      )
      await monitor.query(`ANALYZE "${table}"`)
      inserted = size
      points.push({ sessions: size, insertSeconds: (performance.now() - started) / 1000, ...(await timeReads(store, size, 'md5')) })
      env.log(`scale: postgres growth ${size}: p50 ${points.at(-1)?.p50.toFixed(0)} µs`)
    }
  } finally {
    await monitor.dropTables([table, `${table}_tombstones`])
    await pool.end()
  }
  return { store: 'PostgresStore', points }
}

async function sqliteGrowth(env: Environment, sizes: number[]): Promise<GrowthRow> {
  const database = new DatabaseSync(join(env.tmpDir, 'growth.sqlite'))
  const store = new SqliteStore({ database, pruneInterval: false })
  const now = Date.now()
  const meta = metaJson(now)
  const insert = database.prepare('INSERT INTO sessions (id, data, meta, user_id, expires_at, absolute_expires_at, version) VALUES (?, ?, ?, ?, ?, ?, 1)')
  const points: GrowthPoint[] = []
  let inserted = 0
  try {
    for (const size of sizes) {
      const started = performance.now()
      database.exec('BEGIN')
      for (let i = inserted + 1; i <= size; i++) {
        const user = `user-${String(i).padStart(6, '0')}`
        const key = bulkKey(i, 'md5')
        insert.run(key, JSON.stringify({ user, roles: ['member'], csrf: key.slice(0, 22) }), meta, user, now + IDLE, now + ABSOLUTE)
      }
      database.exec('COMMIT')
      database.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      inserted = size
      points.push({ sessions: size, insertSeconds: (performance.now() - started) / 1000, ...(await timeReads(store, size, 'md5')) })
      env.log(`scale: sqlite growth ${size}: p50 ${points.at(-1)?.p50.toFixed(0)} µs`)
    }
  } finally {
    await store.close()
    database.close()
  }
  return { store: 'SqliteStore', points }
}

export async function measureGrowth(env: Environment, large: number): Promise<GrowthRow[]> {
  const sizes = [10_000, large]
  const rows: GrowthRow[] = []
  if (env.redis !== undefined) rows.push(await redisGrowth(env, sizes))
  const pgRow = await postgresGrowth(env, sizes)
  if (pgRow !== undefined) rows.push(pgRow)
  rows.push(await sqliteGrowth(env, sizes))
  return rows
}
