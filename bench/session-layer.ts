/**
 * The session middleware and store of one contender, built the way an app would build it: the app
 * creates and owns the Redis client and the PostgreSQL pool, every option not named here is the
 * library's default.
 */
import { createRequire } from 'node:module'
import type { RequestHandler } from 'express'
import type { Contender } from './contenders.ts'
import { floorSession } from './floor-session.ts'
// types only: the code is imported at run time from the sources the contender runs
import type * as MainEntry from '../src/index.ts'
import type * as CompatEntry from '../src/compat.ts'
import type * as MemoryModule from '../src/stores/memory.ts'
import type * as SqliteModule from '../src/stores/sqlite.ts'
import type * as RedisModule from '../src/stores/redis.ts'
import type * as PostgresModule from '../src/stores/postgres.ts'

const require = createRequire(import.meta.url)

/** Where the library's sources are: this checkout's src/, or a `--baseline` copy (see baseline.ts). */
export const CURRENT_SOURCES = new URL('../src/', import.meta.url).href

type MainModule = typeof MainEntry
type CompatModule = typeof CompatEntry
type StoreModules = { memory: typeof MemoryModule; sqlite: typeof SqliteModule; redis: typeof RedisModule; postgres: typeof PostgresModule }
const STORE_EXPORTS = { memory: 'MemoryStore', sqlite: 'SqliteStore', redis: 'RedisStore', postgres: 'PostgresStore' } as const

/**
 * Imports `path` under `sources` and checks it exports `name` as a function: an older commit's
 * sources may not, and the error should say which file and export rather than fail on a call.
 */
async function importLibrary<T>(sources: string, path: string, name: string): Promise<T> {
  const url = new URL(path, sources)
  const module = (await import(url.href)) as Record<string, unknown>
  if (typeof module[name] !== 'function') throw new Error(`${url.pathname} has no export "${name}" (a function or class)`)
  return module as T
}

export function loadMain(sources: string): Promise<MainModule> {
  return importLibrary<MainModule>(sources, 'index.ts', 'default')
}

export function loadCompat(sources: string): Promise<CompatModule> {
  return importLibrary<CompatModule>(sources, 'compat.ts', 'default')
}

export function loadStore<K extends keyof StoreModules>(sources: string, kind: K): Promise<StoreModules[K]> {
  return importLibrary<StoreModules[K]>(sources, `stores/${kind}.ts`, STORE_EXPORTS[kind])
}

export const SECRET = 'a benchmark secret that is longer than thirty-two bytes'

/** Where the contender keeps its sessions; unique per run and contender, removed by the harness afterwards. */
export interface StoreLocation {
  redisUrl: string
  databaseUrl: string
  /** Redis key prefix (ends in ':'). */
  prefix: string
  /** PostgreSQL table (connect-pg-simple) or base table name (PostgresStore). */
  table: string
  /** SQLite file. */
  sqlitePath: string
}

export interface SessionLayer {
  /** Undefined for bare Express. */
  middleware: RequestHandler | undefined
  /** The pool the store queries through, for the statistics flush (see `flushPostgresStats`). */
  pool: PgPool | undefined
  close(): Promise<void>
}

export interface PgPool {
  totalCount: number
  connect(): Promise<{ query(text: string): Promise<unknown>; release(): void }>
  end(): Promise<void>
}

type Factory = (options: Record<string, unknown>) => RequestHandler
type StoreClass = new (options: Record<string, unknown>) => object

/** express-session's recommended settings, as its README gives them; nothing else is set. */
const EXPRESS_SESSION_OPTIONS = { secret: SECRET, resave: false, saveUninitialized: false }

async function redisClient(url: string) {
  const { createClient } = await import('redis')
  // the name lets the harness tell its own connections from anyone else's in CLIENT LIST
  const client = createClient({ url, name: 'tessera-bench-server' })
  client.on('error', () => {
    // a lost connection fails the requests (counted as errors); node-redis reconnects by itself
  })
  await client.connect()
  return client
}

async function pgPool(url: string): Promise<PgPool & { query(config: object): Promise<{ rows: Array<Record<string, unknown>> }> }> {
  const { default: pg } = await import('pg')
  // pg's default pool size (10), as an app that does not tune it has
  const pool = new pg.Pool({ connectionString: url })
  pool.on('error', () => {
    // an idle client's error; the next query reconnects
  })
  return pool as never
}

/** The express-session face (express-session itself or the compat entry) with the contender's store. */
async function legacyLayer(contender: Contender, at: StoreLocation, sources: string): Promise<SessionLayer> {
  const session: Factory & { Store: unknown } =
    contender.middleware === 'compat' ? ((await loadCompat(sources)).default as unknown as Factory & { Store: unknown }) : require('express-session')
  if (contender.store === 'memory') {
    return { middleware: session(EXPRESS_SESSION_OPTIONS), pool: undefined, close: async () => {} }
  }
  if (contender.store === 'redis') {
    const client = await redisClient(at.redisUrl)
    // connect-redis extends express-session's Store; the compat entry accepts it as it is
    const { RedisStore } = (await import('connect-redis')) as unknown as { RedisStore: StoreClass }
    const store = new RedisStore({ client, prefix: at.prefix })
    return { middleware: session({ ...EXPRESS_SESSION_OPTIONS, store }), pool: undefined, close: async () => void (await client.quit()) }
  }
  if (contender.store === 'postgres') {
    const pool = await pgPool(at.databaseUrl)
    const PGStore = (require('connect-pg-simple') as (s: unknown) => StoreClass)(session)
    // no background prune during a run; tessera's PostgresStore gets the same
    const store = new PGStore({ pool, tableName: at.table, createTableIfMissing: true, pruneSessionInterval: false })
    return { middleware: session({ ...EXPRESS_SESSION_OPTIONS, store }), pool, close: () => pool.end() }
  }
  throw new Error(`${contender.id}: no ${contender.store} store for the express-session face`)
}

/** The main entry with a built-in store. */
async function mainLayer(contender: Contender, at: StoreLocation, sources: string): Promise<SessionLayer> {
  const { default: session } = await loadMain(sources)
  if (contender.store === 'memory') {
    const { MemoryStore } = await loadStore(sources, 'memory')
    const store = new MemoryStore()
    return { middleware: session({ secret: SECRET, store }) as unknown as RequestHandler, pool: undefined, close: async () => {} }
  }
  if (contender.store === 'sqlite') {
    const { SqliteStore } = await loadStore(sources, 'sqlite')
    const store = new SqliteStore({ path: at.sqlitePath, pruneInterval: false })
    return { middleware: session({ secret: SECRET, store }) as unknown as RequestHandler, pool: undefined, close: () => store.close() }
  }
  if (contender.store === 'redis') {
    const client = await redisClient(at.redisUrl)
    const { RedisStore } = await loadStore(sources, 'redis')
    const store = new RedisStore({ client, prefix: at.prefix })
    return { middleware: session({ secret: SECRET, store }) as unknown as RequestHandler, pool: undefined, close: async () => void (await client.quit()) }
  }
  if (contender.store === 'postgres') {
    const pool = await pgPool(at.databaseUrl)
    const { PostgresStore } = await loadStore(sources, 'postgres')
    const store = new PostgresStore({ pool, tableName: at.table, pruneInterval: false })
    return { middleware: session({ secret: SECRET, store }) as unknown as RequestHandler, pool, close: () => pool.end() }
  }
  throw new Error(`${contender.id}: no ${contender.store} store for the main entry`)
}

/** Rows of the PostgreSQL reference table; the requests go round them, one primary key each. */
const PG_ROWS = 1_000

/**
 * The PostgreSQL reference contender: no session, one primary-key SELECT per request through a
 * named statement (parsed once per connection, as PostgresStore's are), the floor any
 * PostgreSQL-backed session pays. Its table (at the contender's table name, dropped by the harness
 * afterwards) holds rows the size of a small session record.
 */
async function pgSelectLayer(at: StoreLocation): Promise<SessionLayer> {
  const pool = await pgPool(at.databaseUrl)
  const table = `"${at.table}"`
  await pool.query({ text: `CREATE TABLE IF NOT EXISTS ${table} (id integer PRIMARY KEY, data text NOT NULL)` })
  await pool.query({ text: `INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(1, ${PG_ROWS}) AS g ON CONFLICT (id) DO NOTHING` })
  await pool.query({ text: `ANALYZE ${table}` })
  const text = `SELECT data FROM ${table} WHERE id = $1`
  let next = 0
  const middleware: RequestHandler = (_req, _res, done) => {
    next = (next % PG_ROWS) + 1
    // a missing row fails the request, so a broken reference shows up as errors rather than as speed
    pool.query({ name: 'bench-select', text, values: [next] }).then(({ rows }) => done(rows.length === 1 ? undefined : new Error('no row')), done)
  }
  return { middleware, pool, close: () => pool.end() }
}

/** The reference contender: no session, one Redis GET per request, the floor any Redis-backed session pays. */
async function redisGetLayer(at: StoreLocation): Promise<SessionLayer> {
  const client = await redisClient(at.redisUrl)
  const key = `${at.prefix}probe`
  await client.set(key, 'x')
  const middleware: RequestHandler = (_req, _res, next) => {
    client.get(key).then(() => next(), next)
  }
  return { middleware, pool: undefined, close: async () => void (await client.quit()) }
}

/** The contender's middleware; a tessera contender takes the library from `sources` (a file URL ending in `/`). */
export function openSessionLayer(contender: Contender, at: StoreLocation, sources = CURRENT_SOURCES): Promise<SessionLayer> {
  if (contender.middleware === 'bare') return Promise.resolve({ middleware: undefined, pool: undefined, close: async () => {} })
  if (contender.middleware === 'round-trip') return contender.store === 'postgres' ? pgSelectLayer(at) : redisGetLayer(at)
  if (contender.middleware === 'floor') return Promise.resolve({ middleware: floorSession(SECRET) as unknown as RequestHandler, pool: undefined, close: async () => {} })
  return contender.middleware === 'main' ? mainLayer(contender, at, sources) : legacyLayer(contender, at, sources)
}

// the catalog read matters: a backend with no relation statistics pending skips the flush, force or
// not, and keeps its transaction counts (this statement's own included) to itself
const FLUSH_SQL = 'SELECT pg_stat_force_next_flush(), (SELECT 1 FROM pg_catalog.pg_class LIMIT 1)'

/**
 * Makes every pooled PostgreSQL connection publish its statistics now. A backend publishes at most
 * once a second and may hold the last second back for up to 10 s (PostgreSQL 15's pgstat); without
 * this, `xact_commit` read right after a measurement would miss its last transactions. Resolves how
 * many transactions it ran itself, which the harness subtracts.
 */
export async function flushPostgresStats(pool: PgPool): Promise<number> {
  const clients = await Promise.all(Array.from({ length: Math.max(pool.totalCount, 1) }, () => pool.connect()))
  try {
    await Promise.all(clients.map((client) => client.query(FLUSH_SQL)))
  } finally {
    for (const client of clients) client.release()
  }
  return clients.length
}
