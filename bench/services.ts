/**
 * The Redis and PostgreSQL servers the store contenders use, and what the harness reads from them:
 * commands per request, transactions per request, and cleanup of what a contender left behind.
 *
 * Redis: `INFO commandstats` on a connection of its own. It counts every command the server ran,
 * including those run inside a Lua script, so a per-command breakdown accompanies the total.
 * PostgreSQL: `pg_stat_database.xact_commit` of a database used by nothing but the benchmark
 * (`tessera_bench`, created on first use): committed transactions, one per autocommit statement.
 */
import { createConnection } from 'node:net'
import type { createClient } from 'redis'
import type pg from 'pg'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const BENCH_DATABASE = 'tessera_bench'

/** Whether a TCP connection to `url`'s host and port opens within a second. */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) || defaultPort })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Commands the monitor connection itself sends, left out of the counts. */
const MONITOR_COMMANDS = new Set(['info', 'client|list'])

export interface RedisSnapshot {
  calls: Map<string, number>
  connectionsReceived: number
  at: number
}

type RedisClient = ReturnType<typeof createClient>

export class RedisMonitor {
  readonly #client: RedisClient
  readonly version: string

  private constructor(client: RedisClient, version: string) {
    this.#client = client
    this.version = version
  }

  static async open(url: string): Promise<RedisMonitor> {
    const { createClient } = await import('redis')
    const client = createClient({ url, name: 'tessera-bench-monitor' })
    client.on('error', () => {})
    await client.connect()
    const server = String(await client.sendCommand(['INFO', 'server']))
    return new RedisMonitor(client as RedisClient, /redis_version:(\S+)/.exec(server)?.[1] ?? '?')
  }

  async snapshot(): Promise<RedisSnapshot> {
    const [commandstats, stats] = (await Promise.all([this.#client.sendCommand(['INFO', 'commandstats']), this.#client.sendCommand(['INFO', 'stats'])])).map(String)
    const calls = new Map<string, number>()
    for (const match of (commandstats as string).matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) {
      if (!MONITOR_COMMANDS.has(match[1] as string)) calls.set(match[1] as string, Number(match[2]))
    }
    return { calls, connectionsReceived: Number(/total_connections_received:(\d+)/.exec(stats as string)?.[1] ?? 0), at: Date.now() }
  }

  /**
   * Commands run between two snapshots, by command, and whether anyone but the benchmark talked to
   * the server meanwhile (a new connection, or another client active in the window): the counts
   * are server-wide, so such a window is flagged in the report.
   */
  async delta(before: RedisSnapshot, after: RedisSnapshot): Promise<{ calls: Map<string, number>; foreign: boolean }> {
    const calls = new Map<string, number>()
    for (const [command, count] of after.calls) {
      const diff = count - (before.calls.get(command) ?? 0)
      if (diff > 0) calls.set(command, diff)
    }
    const windowSeconds = Math.ceil((after.at - before.at) / 1000)
    const clients = String(await this.#client.sendCommand(['CLIENT', 'LIST'])).split('\n').filter(Boolean)
    const foreignClientActive = clients.some((line) => {
      const name = /\bname=(\S*)/.exec(line)?.[1] ?? ''
      const idle = Number(/\bidle=(\d+)/.exec(line)?.[1] ?? Infinity)
      return !name.startsWith('tessera-bench-') && idle <= windowSeconds
    })
    return { calls, foreign: foreignClientActive || after.connectionsReceived !== before.connectionsReceived }
  }

  /** Unlinks every key under `prefix` (SCAN, so the server never blocks on a big KEYS). */
  async deletePrefix(prefix: string): Promise<number> {
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = (await this.#client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]]
      cursor = String(next)
      if (keys.length > 0) deleted += Number(await this.#client.sendCommand(['UNLINK', ...keys.map(String)]))
    } while (cursor !== '0')
    return deleted
  }

  async command(args: string[]): Promise<unknown> {
    return this.#client.sendCommand(args)
  }

  async close(): Promise<void> {
    await this.#client.quit()
  }
}

type PgPool = InstanceType<typeof pg.Pool>

export class PostgresMonitor {
  /** On the configured database: reads the statistics of the benchmark database from outside it. */
  readonly #admin: PgPool
  /** On the benchmark database: cleanup. */
  readonly #bench: PgPool
  readonly benchUrl: string
  readonly version: string

  private constructor(admin: PgPool, bench: PgPool, benchUrl: string, version: string) {
    this.#admin = admin
    this.#bench = bench
    this.benchUrl = benchUrl
    this.version = version
  }

  /** Connects, creating the benchmark database if it is missing. */
  static async open(url: string): Promise<PostgresMonitor> {
    const { default: pg } = await import('pg')
    const admin = new pg.Pool({ connectionString: url, max: 2 })
    admin.on('error', () => {})
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE])
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`).catch((err: { code?: string }) => {
        // 42P04: created meanwhile by another run
        if (err.code !== '42P04') throw err
      })
    }
    const benchUrl = new URL(url)
    benchUrl.pathname = `/${BENCH_DATABASE}`
    const bench = new pg.Pool({ connectionString: benchUrl.href, max: 2 })
    bench.on('error', () => {})
    const version = String((await admin.query('SHOW server_version')).rows[0]?.server_version ?? '?')
    return new PostgresMonitor(admin, bench, benchUrl.href, version)
  }

  /** Transactions committed in the benchmark database so far (as published: see `flushPostgresStats`). */
  async transactions(): Promise<number> {
    const { rows } = await this.#admin.query('SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = $1', [BENCH_DATABASE])
    return Number(rows[0]?.n ?? Number.NaN)
  }

  /** Runs a statement on the benchmark database. */
  query(text: string, values: unknown[] = []): Promise<{ rows: Array<Record<string, unknown>> }> {
    return this.#bench.query(text, values)
  }

  async dropTables(names: string[]): Promise<void> {
    if (names.length > 0) await this.#bench.query(`DROP TABLE IF EXISTS ${names.map((n) => `"${n}"`).join(', ')}`)
  }

  async close(): Promise<void> {
    await Promise.all([this.#admin.end(), this.#bench.end()])
  }
}
