/**
 * Store round trips per request, counted on the wire: Redis commands seen by MONITOR, PostgreSQL
 * queries through a counting pool. The main entry on the built-in stores against express-session
 * with connect-redis and connect-pg-simple, for the same requests. The table is printed; the
 * assertions hold the main entry to its budget (one round trip for a read, sliding included).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import express from 'express'
import { RedisStore as ConnectRedis } from 'connect-redis'
import { createClient } from 'redis'
import pg from 'pg'
import session from '../../src/index.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { listen } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as (options: object) => express.RequestHandler
const connectPgSimple = require('connect-pg-simple') as (s: unknown) => new (options: object) => object
const SECRET = 'a round-trip test secret that is long enough'
const IDLE = 30 * 60_000

type Kind = 'create' | 'read' | 'read, slide due' | 'write' | 'destroy'
const KINDS: Kind[] = ['create', 'read', 'read, slide due', 'write', 'destroy']

function app(middleware: express.RequestHandler) {
  const a = express()
  a.use(middleware)
  a.get('/create', (req: any, res) => {
    req.session.user = 'ann'
    res.send('ok')
  })
  a.get('/read', (req: any, res) => res.send(String(req.session.user)))
  a.get('/write', (req: any, res) => {
    req.session.n = (req.session.n ?? 0) + 1
    res.send('ok')
  })
  a.get('/destroy', (req: any, res) => req.session.destroy(() => res.send('ok')))
  return a
}

/** Runs each request kind once and returns how many store operations each caused. */
async function measure(middleware: express.RequestHandler, count: () => number, advanceClock: (ms: number) => void): Promise<Record<Kind, number>> {
  const client = await listen(app(middleware))
  const result = {} as Record<Kind, number>
  const step = async (kind: Kind, path: string) => {
    const before = count()
    const res = await client.get(path)
    assert.equal(res.status, 200, `${kind}: ${res.text}`)
    // MONITOR lines arrive asynchronously: give them a moment
    await new Promise((resolve) => setTimeout(resolve, 30))
    result[kind] = count() - before
  }
  try {
    await step('create', '/create')
    await step('read', '/read')
    advanceClock(IDLE / 2) // past the throttle (a tenth of the idle window)
    await step('read, slide due', '/read')
    await step('write', '/write')
    await step('destroy', '/destroy')
  } finally {
    await client.close()
  }
  return result
}

/** Date.now moved forward by `offset`; restored after each suite. */
let offset = 0
const realNow = Date.now
function advance(ms: number): void {
  offset += ms
}

function table(title: string, rows: Array<[string, Record<Kind, number>]>): string {
  const lines = [`${title}`, `| requests | ${KINDS.join(' | ')} |`, `|---|${KINDS.map(() => '---').join('|')}|`]
  for (const [name, counts] of rows) lines.push(`| ${name} | ${KINDS.map((k) => counts[k]).join(' | ')} |`)
  return lines.join('\n')
}

describe('store round trips per request', { timeout: 60_000 }, () => {
  before(() => {
    Date.now = () => realNow() + offset
  })
  after(() => {
    Date.now = realNow
  })

  describe('Redis', async () => {
    const skip = await redisSkip()
    let client: ReturnType<typeof createClient>
    let monitor: ReturnType<typeof createClient>
    const seen: string[] = []
    before(async () => {
      if (skip) return
      client = createClient({ url: REDIS_URL })
      monitor = createClient({ url: REDIS_URL })
      await Promise.all([client.connect(), monitor.connect()])
      await monitor.monitor((line) => seen.push(line))
    })
    after(async () => {
      if (client?.isOpen) await client.quit()
      // a client in MONITOR mode does not answer QUIT: drop the connection
      if (monitor?.isOpen) monitor.destroy()
    })

    it('main entry: one command per read (slide included), against two for express-session + connect-redis', { skip }, async () => {
      offset = 0
      const ours = uniqueName('tess:rt') + ':'
      const theirs = uniqueName('tess:rtcr') + ':'
      // commands from clients only: MONITOR also shows what scripts run inside the server (`[0 lua]`)
      const counter = (prefix: string) => () => seen.filter((line) => line.includes(prefix) && !line.includes(' lua]')).length
      const main = await measure(session({ secret: SECRET, store: new RedisStore({ client, prefix: ours }), idleTimeout: IDLE }) as never, counter(ours), advance)
      const legacy = await measure(
        expressSession({ secret: SECRET, store: new ConnectRedis({ client, prefix: theirs }), resave: false, saveUninitialized: false, cookie: { maxAge: IDLE } }),
        counter(theirs),
        advance,
      )
      console.log(table('Redis commands per request', [['tessera-session + RedisStore', main], ['express-session + connect-redis', legacy]]))
      assert.deepEqual(main, { create: 1, read: 1, 'read, slide due': 1, write: 2, destroy: 2 })
    })
  })

  describe('PostgreSQL', async () => {
    const skip = await postgresSkip()
    let pool: pg.Pool
    let queries = 0
    const tables: string[] = []
    before(() => {
      if (skip) return
      pool = new pg.Pool({ connectionString: PG_URL, max: 4 })
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
      ;(pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        queries++
        return query(...args)
      }
    })
    after(async () => {
      if (!pool) return
      for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_tombstones" CASCADE`)
      await pool.end()
    })

    it('main entry: one query per read (slide included), against two for express-session + connect-pg-simple', { skip }, async () => {
      offset = 0
      const ours = uniqueName('tess_rt').toLowerCase()
      const theirs = uniqueName('tess_rtcpg').toLowerCase()
      tables.push(ours, theirs)
      const store = new PostgresStore({ pool, tableName: ours, pruneInterval: false })
      // the first call creates the table: done before counting
      await store.get('warm-up')
      await pool.query(`CREATE TABLE "${theirs}" (sid varchar NOT NULL PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`)
      const PgStore = connectPgSimple(expressSession)
      const count = () => queries
      const main = await measure(session({ secret: SECRET, store, idleTimeout: IDLE }) as never, count, advance)
      const legacy = await measure(
        expressSession({ secret: SECRET, store: new PgStore({ pool, tableName: theirs, pruneSessionInterval: false }), resave: false, saveUninitialized: false, cookie: { maxAge: IDLE } }),
        count,
        advance,
      )
      console.log(table('PostgreSQL queries per request', [['tessera-session + PostgresStore', main], ['express-session + connect-pg-simple', legacy]]))
      assert.deepEqual(main, { create: 1, read: 1, 'read, slide due': 1, write: 2, destroy: 2 })
    })
  })
})
