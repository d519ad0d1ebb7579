/**
 * Bytes per stored session, for the typical small session written through each store's own API:
 * Redis `MEMORY USAGE` of the keys a session owns (its hash and its user's index; connect-redis: one
 * string), and what the server reports (`INFO memory` used_memory before and after many sessions,
 * which adds the keyspace's own tables); PostgreSQL `pg_total_relation_size` (table, TOAST and
 * indexes) over the rows, SQLite file size (checkpointed) over the rows, MemoryStore heap per entry
 * (in a process started with --expose-gc).
 */
import { execFileSync } from 'node:child_process'
import type { createClient } from 'redis'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import type { Environment } from '../throughput.ts'
import { legacyId, loginStoreKey, typicalLegacySession, typicalNewSession, userHash, userOf } from './typical.ts'

export interface SizeRow {
  store: string
  sessions: number
  bytesPerSession: number
  /** What the number is made of. */
  detail: string
}

/** Runs `task(i)` for i in [0, count), `concurrency` at a time. */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

type NodeRedis = ReturnType<typeof createClient>

async function redisClient(url: string): Promise<NodeRedis> {
  const { createClient } = await import('redis')
  const client = createClient({ url, name: 'tessera-bench-scale' })
  client.on('error', () => {})
  await client.connect()
  return client as NodeRedis
}

async function memoryUsage(client: NodeRedis, keys: string[]): Promise<number> {
  const sizes = await Promise.all(keys.map((key) => client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0'])))
  return sizes.reduce<number>((sum, n) => sum + Number(n ?? 0), 0)
}

async function redisSizes(env: Environment, count: number): Promise<SizeRow[]> {
  const client = await redisClient(env.redisUrl)
  const prefix = `tbench:${env.runId}:size:`
  try {
    const store = new RedisStore({ client, prefix })
    const keys = Array.from({ length: count }, () => loginStoreKey())
    const now = Date.now()
    await inParallel(count, 32, (i) => store.create(keys[i] as string, typicalNewSession(i, now)))
    const hashes = keys.map((key) => `${prefix}{${key.slice(0, 8)}}${key.slice(8)}`)
    const indexes = keys.map((_, i) => `${prefix}u:{${userHash(userOf(i))}}${userOf(i)}`)
    const hashBytes = (await memoryUsage(client, hashes)) / count
    const indexBytes = (await memoryUsage(client, indexes)) / count

    const { RedisStore: ConnectRedis } = (await import('connect-redis')) as unknown as {
      RedisStore: new (options: object) => { set(id: string, session: object): Promise<unknown> }
    }
    const legacyPrefix = `${prefix}cr:`
    const legacy = new ConnectRedis({ client, prefix: legacyPrefix })
    const legacyKeys: string[] = []
    await inParallel(count, 32, async (i) => {
      const id = legacyId()
      legacyKeys.push(legacyPrefix + id)
      await legacy.set(id, typicalLegacySession(i))
    })
    const legacyBytes = (await memoryUsage(client, legacyKeys)) / count
    return [
      { store: 'RedisStore', sessions: count, bytesPerSession: hashBytes + indexBytes, detail: `hash ${hashBytes.toFixed(0)} B + the user's index (sorted set, one per user here) ${indexBytes.toFixed(0)} B` },
      { store: 'connect-redis', sessions: count, bytesPerSession: legacyBytes, detail: 'one string key (JSON)' },
    ]
  } finally {
    await deleteKeys(client, prefix)
    await client.quit()
  }
}

async function usedMemory(client: NodeRedis): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'memory']))
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1])
}

/**
 * What a Redis operator sees grow: `INFO memory` used_memory before and after writing `count`
 * sessions, ÷ count. Besides the keys (what MEMORY USAGE counts) it includes each key's entry in the
 * keyspace and expiry tables, and those tables growing (by doubling, so the figure depends a little
 * on the count). used_memory is server-wide: another client's writes meanwhile would count too.
 */
async function redisUsedMemory(env: Environment, count: number): Promise<SizeRow[]> {
  const client = await redisClient(env.redisUrl)
  const prefix = `tbench:${env.runId}:used:`
  try {
    const store = new RedisStore({ client, prefix })
    const now = Date.now()
    let before = await usedMemory(client)
    await inParallel(count, 32, (i) => store.create(loginStoreKey(), typicalNewSession(i, now)))
    let after = await usedMemory(client)
    const oursBytes = (after - before) / count

    const { RedisStore: ConnectRedis } = (await import('connect-redis')) as unknown as {
      RedisStore: new (options: object) => { set(id: string, session: object): Promise<unknown> }
    }
    const legacy = new ConnectRedis({ client, prefix: `${prefix}cr:` })
    // measured on top of the first set, deleted only afterwards: a deletion frees memory lazily, in the background
    before = await usedMemory(client)
    await inParallel(count, 32, (i) => legacy.set(legacyId(), typicalLegacySession(i)))
    after = await usedMemory(client)
    const legacyBytes = (after - before) / count
    const detail = 'INFO memory used_memory after − before ÷ sessions: the keys, their entries in the keyspace and expiry tables, and those tables growing'
    return [
      { store: 'RedisStore (server)', sessions: count, bytesPerSession: oursBytes, detail },
      { store: 'connect-redis (server)', sessions: count, bytesPerSession: legacyBytes, detail },
    ]
  } finally {
    await deleteKeys(client, prefix)
    await client.quit()
  }
}

async function deleteKeys(client: NodeRedis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]]
    cursor = String(next)
    if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys.map(String)])
  } while (cursor !== '0')
}

async function postgresSizes(env: Environment, count: number): Promise<SizeRow[]> {
  const { default: pg } = await import('pg')
  const pg_ = env.pg
  if (pg_ === undefined) return []
  const pool = new pg.Pool({ connectionString: pg_.benchUrl, max: 10 })
  const table = `tb_${env.runId}_size`
  const legacyTable = `tb_${env.runId}_size_cps`
  try {
    const store = new PostgresStore({ pool, tableName: table, pruneInterval: false })
    const now = Date.now()
    await inParallel(count, 10, (i) => store.create(loginStoreKey(), typicalNewSession(i, now)))
    const size = async (name: string) => Number((await pg_.query('SELECT pg_total_relation_size($1::regclass)::float8 AS n', [`"${name}"`])).rows[0]?.n)
    const bytes = (await size(table)) / count

    const { createRequire } = await import('node:module')
    const require = createRequire(import.meta.url)
    const PGStore = (require('connect-pg-simple') as (s: unknown) => new (options: object) => { set(id: string, s: object, cb: (err?: unknown) => void): void })(
      require('express-session'),
    )
    const legacy = new PGStore({ pool, tableName: legacyTable, createTableIfMissing: true, pruneSessionInterval: false })
    await inParallel(count, 10, (i) => new Promise<void>((resolve, reject) => legacy.set(legacyId(), typicalLegacySession(i), (err) => (err ? reject(err) : resolve()))))
    const legacyBytes = (await size(legacyTable)) / count
    return [
      { store: 'PostgresStore', sessions: count, bytesPerSession: bytes, detail: 'pg_total_relation_size of the table (heap at fillfactor 80, TOAST, primary key, expiry and user indexes) ÷ rows' },
      { store: 'connect-pg-simple', sessions: count, bytesPerSession: legacyBytes, detail: 'pg_total_relation_size of its table (json column, primary key, expiry index) ÷ rows' },
    ]
  } finally {
    await pg_.dropTables([table, `${table}_tombstones`, legacyTable])
    await pool.end()
  }
}

async function sqliteSize(env: Environment, count: number): Promise<SizeRow> {
  const path = join(env.tmpDir, 'size.sqlite')
  const database = new DatabaseSync(path)
  const store = new SqliteStore({ database, pruneInterval: false })
  const now = Date.now()
  for (let i = 0; i < count; i++) await store.create(loginStoreKey(), typicalNewSession(i, now))
  database.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  await store.close()
  database.close()
  return { store: 'SqliteStore', sessions: count, bytesPerSession: statSync(path).size / count, detail: 'file size after a WAL checkpoint (table, primary key, expiry and user indexes) ÷ rows' }
}

function heapSize(kind: 'main' | 'compat' | 'express-session', label: string, count: number): SizeRow {
  const out = execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'heap.ts'), kind, String(count)], { encoding: 'utf8', timeout: 120_000 })
  const { bytesPerEntry } = JSON.parse(out) as { bytesPerEntry: number }
  return { store: label, sessions: count, bytesPerSession: bytesPerEntry, detail: 'V8 heapUsed after a full GC, filled minus empty, ÷ entries (ids included)' }
}

export async function measureSizes(env: Environment): Promise<SizeRow[]> {
  const rows: SizeRow[] = []
  env.log('scale: bytes per session')
  if (env.redis !== undefined) rows.push(...(await redisSizes(env, 10_000)), ...(await redisUsedMemory(env, 100_000)))
  rows.push(...(await postgresSizes(env, 10_000)))
  rows.push(await sqliteSize(env, 10_000))
  rows.push(heapSize('main', 'MemoryStore', 100_000))
  rows.push(heapSize('compat', "compat's MemoryStore", 100_000))
  rows.push(heapSize('express-session', "express-session's MemoryStore", 100_000))
  return rows
}
