import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:net'
import pg from 'pg'
import { PostgresStore, createTableSql, type PostgresPool, type PostgresQuery, type PostgresStoreOptions } from '../../src/stores/postgres.ts'
import type { SessionMeta, SessionPatch, SessionStore } from '../../src/stores/contract.ts'
import { InvalidOptionError, SessionDataError, StoreUnavailableError } from '../../src/errors.ts'
import { PG_URL, postgresSkip, uniqueName } from '../support/services.ts'
import { newId, runConformance } from './conformance.ts'

const skip = await postgresSkip()
const HOUR = 3_600_000

/** Tables, truncating and dropping behind the stores' backs. Created only when the server is up. */
const admin = skip === false ? new pg.Pool({ connectionString: PG_URL, max: 4 }) : undefined
after(() => admin?.end())

function db(): pg.Pool {
  return admin as pg.Pool
}

async function dropTables(table: string, schema?: string): Promise<void> {
  const prefix = schema === undefined ? '' : `"${schema}".`
  await db().query(`DROP TABLE IF EXISTS ${prefix}"${table}", ${prefix}"${table}_tombstones"`)
}

/** A port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Waits (bounded) until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** The store's pool: forwards to the live pool, or during an outage to one whose server is gone. */
class SwitchablePool implements PostgresPool {
  target: PostgresPool
  constructor(target: PostgresPool) {
    this.target = target
  }
  query(query: PostgresQuery) {
    return this.target.query(query)
  }
}

/** Records every query a store sends. */
class CountingPool implements PostgresPool {
  readonly log: PostgresQuery[] = []
  readonly #pool: PostgresPool
  constructor(pool: PostgresPool) {
    this.#pool = pool
  }
  query(query: PostgresQuery) {
    this.log.push(query)
    return this.#pool.query(query)
  }
  /** Queries sent while `run` ran. */
  async count(run: () => Promise<unknown>): Promise<PostgresQuery[]> {
    const start = this.log.length
    await run()
    return this.log.slice(start)
  }
}

interface Harness {
  table: string
  live: pg.Pool
  pool: SwitchablePool
  dead?: pg.Pool
}

const harnesses = new WeakMap<SessionStore, Harness>()

function harness(store: SessionStore): Harness {
  return harnesses.get(store) as Harness
}

runConformance('postgres', {
  skip,
  make: () => {
    const table = uniqueName('tessera_pg')
    // one pool per store, named, so an outage can terminate exactly its connections
    const live = new pg.Pool({ connectionString: PG_URL, max: 3, application_name: table })
    live.on('error', () => {}) // idle connections terminated by the outage test
    const pool = new SwitchablePool(live)
    const store = new PostgresStore({ pool, tableName: table, pruneInterval: false })
    harnesses.set(store, { table, live, pool })
    return store
  },
  dispose: async (store) => {
    const h = harnesses.get(store)
    if (h === undefined) return
    harnesses.delete(store)
    await store.close?.()
    await dropTables(h.table)
    await h.live.end()
  },
  corrupt: async (store, id) => {
    // jsonb cannot hold invalid JSON: store valid JSON of the wrong shape (data must be an object)
    await db().query(`UPDATE "${harness(store).table}" SET data = '[1,2]'::jsonb WHERE id = $1`, [id])
  },
  writeMeta: async (store, id, json) => {
    await db().query(`UPDATE "${harness(store).table}" SET meta = $2::jsonb WHERE id = $1`, [id, json])
  },
  outage: {
    // the server goes away: its connections are terminated and new ones are refused
    cut: async (store) => {
      const h = harness(store)
      const url = new URL(PG_URL)
      url.hostname = '127.0.0.1'
      url.port = String(await closedPort())
      h.dead = new pg.Pool({ connectionString: url.href, max: 1, connectionTimeoutMillis: 2000 })
      h.pool.target = h.dead
      await db().query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [h.table])
      await until('the terminated connections to leave the pool', () => h.live.totalCount === 0)
    },
    restore: async (store) => {
      const h = harness(store)
      h.pool.target = h.live
      await h.dead?.end()
    },
  },
})

function meta(overrides: Partial<SessionMeta> = {}): SessionMeta {
  const now = Date.now()
  return { createdAt: now, absoluteExpiresAt: now + 12 * HOUR, idleTimeout: 1_800_000, ...overrides }
}

function patch(set: Record<string, unknown>, unset: string[] = [], extra: Partial<SessionPatch> = {}): SessionPatch {
  return { set, unset, whole: set, ...extra }
}

describe('PostgresStore', { skip }, () => {
  const tables: string[] = []
  const stores: PostgresStore[] = []
  const pools: pg.Pool[] = []

  /** A fresh table, created with the helper, and a store on it that counts its queries. */
  async function fixture(options: Partial<PostgresStoreOptions> = {}, pool: PostgresPool = db()) {
    const tableName = uniqueName('tessera_pgx')
    tables.push(tableName)
    await PostgresStore.createTable(db(), { tableName })
    const counting = new CountingPool(pool)
    const store = new PostgresStore({ pool: counting, tableName, pruneInterval: false, createTable: false, ...options })
    stores.push(store)
    return { store, counting, tableName }
  }

  function ownPool(options: pg.PoolConfig = {}): pg.Pool {
    const pool = new pg.Pool({ connectionString: PG_URL, ...options })
    pool.on('error', () => {})
    pools.push(pool)
    return pool
  }

  async function created(store: PostgresStore, extra: { userId?: string | null; expiresAt?: number; data?: Record<string, unknown> } = {}): Promise<string> {
    const id = newId()
    const result = await store.create(id, {
      data: extra.data ?? { user: 'ann' },
      meta: meta(),
      userId: extra.userId ?? null,
      expiresAt: extra.expiresAt ?? Date.now() + HOUR,
    })
    assert.equal(result, 'ok')
    return id
  }

  async function insertExpired(tableName: string, count: number, prefix = 'dead'): Promise<void> {
    await db().query(
      `INSERT INTO "${tableName}" (id, data, expires_at)
       SELECT $1 || g, '{}'::jsonb, now() - interval '1 hour' - g * interval '1 ms' FROM generate_series(1, $2::integer) g`,
      [prefix, count],
    )
  }

  async function rowCount(tableName: string): Promise<number> {
    const { rows } = await db().query(`SELECT count(*)::integer AS n FROM "${tableName}"`)
    return rows[0].n
  }

  after(async () => {
    for (const store of stores) await store.close()
    for (const table of tables) await dropTables(table)
    for (const pool of pools) await pool.end()
  })

  it('accepts a pg.Pool and a pg.Client as its pool (types)', () => {
    const accepted: PostgresPool[] = [db(), new pg.Client()]
    assert.equal(accepted.length, 2)
  })

  describe('round trips', () => {
    it('runs every contract method as one named statement with parameters', async () => {
      const { store, counting } = await fixture()
      const id = await created(store, { userId: 'u1' })
      const now = Date.now()
      const operations: Array<[string, () => Promise<unknown>]> = [
        ['create', () => store.create(newId(), { data: { a: 1 }, meta: meta(), userId: 'u1', expiresAt: now + HOUR })],
        ['create (collision)', () => store.create(id, { data: { a: 1 }, meta: null, userId: null, expiresAt: now + HOUR })],
        ['get', () => store.get(id)],
        ['get (miss)', () => store.get(newId())],
        ['get with a slide', () => store.get(id, { slideTo: now + 2 * HOUR, slideIfBefore: now + 2 * HOUR })],
        ['update', () => store.update(id, patch({ a: 2 }, ['user'], { meta: meta(), userId: 'u1' }), now + HOUR)],
        ['update (gone)', () => store.update(newId(), patch({ a: 2 }), now + HOUR)],
        ['update with expectVersion (ok)', () => store.update(id, patch({ a: 3 }), now + HOUR, { expectVersion: 2 })],
        ['update with expectVersion (conflict)', () => store.update(id, patch({ a: 4 }), now + HOUR, { expectVersion: 1 })],
        ['update with expectVersion (gone)', () => store.update(newId(), patch({ a: 4 }), now + HOUR, { expectVersion: 1 })],
        ['touch', () => store.touch(id, now + 3 * HOUR)],
        ['listByUser', () => store.listByUser('u1')],
        ['destroyByUser', () => store.destroyByUser('u1', id)],
        ['destroy', () => store.destroy(id)],
        ['prune (nothing to do)', () => store.prune()],
      ]
      const measured: Record<string, number> = {}
      for (const [name, run] of operations) {
        const queries = await counting.count(run)
        measured[name] = queries.length
        for (const query of queries) {
          assert.match(query.name ?? '', /^tessera_[A-Za-z]+_[0-9a-f]{16}$/, `${name} sends a named statement`)
          assert.ok(Array.isArray(query.values), `${name} binds its values as parameters`)
        }
      }
      assert.deepEqual(measured, Object.fromEntries(operations.map(([name]) => [name, 1])))
    })

    it('prepares its statements on the server, once per connection', async () => {
      const pool = ownPool({ max: 1 })
      const { store, counting } = await fixture({}, pool)
      const id = await created(store, { userId: 'u' })
      for (let i = 0; i < 3; i++) {
        await store.get(id)
        await store.get(id, { slideTo: Date.now() + HOUR, slideIfBefore: 0 })
        await store.update(id, patch({ n: i }), Date.now() + HOUR)
        await store.update(id, patch({ n: i }), Date.now() + HOUR, { expectVersion: 1 })
        await store.touch(id, Date.now() + HOUR)
        await store.listByUser('u')
        await store.prune()
      }
      await store.destroyByUser('u', id)
      await store.destroy(id)
      const names = new Set(counting.log.map((query) => query.name))
      const { rows } = await pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements')
      const prepared = new Map(rows.map((row) => [row.name, row.statement]))
      assert.equal(names.size, 10)
      for (const query of counting.log) assert.equal(prepared.get(query.name as string), query.text, `${query.name} is prepared with its text`)
    })

    it('with prepare: false sends unnamed statements', async () => {
      const { store, counting } = await fixture({ prepare: false })
      const id = await created(store)
      await store.get(id)
      assert.ok(counting.log.length > 0)
      for (const query of counting.log) assert.equal(query.name, undefined)
    })

    it('names statements by their text, so stores on two tables can share one connection', async () => {
      const pool = ownPool({ max: 1 })
      const a = await fixture({}, pool)
      const b = await fixture({}, pool)
      const idA = await created(a.store, { data: { from: 'a' } })
      const idB = await created(b.store, { data: { from: 'b' } })
      assert.equal((await a.store.get(idA))?.data.from, 'a')
      assert.equal((await b.store.get(idB))?.data.from, 'b')
      assert.equal(await a.store.get(idB), null)
    })
  })

  describe('tables', () => {
    it('creates its tables on first use, with one extra round trip, once, even for concurrent first calls', async () => {
      const tableName = uniqueName('tessera_pgc')
      tables.push(tableName)
      const counting = new CountingPool(db())
      const store = new PostgresStore({ pool: counting, tableName, pruneInterval: false })
      stores.push(store)
      const first = await counting.count(() => Promise.all([store.get(newId()), store.get(newId()), store.get(newId())]))
      assert.equal(first.filter((query) => query.name === undefined).length, 1, 'one DDL round trip')
      assert.equal(first.length, 4)
      assert.equal((await counting.count(() => store.get(newId()))).length, 1)
      const { rows } = await db().query('SELECT to_regclass($1) AS sessions, to_regclass($2) AS tombstones', [tableName, `${tableName}_tombstones`])
      assert.ok(rows[0].sessions && rows[0].tombstones)
    })

    it('two instances creating the same table at once both succeed', async () => {
      const tableName = uniqueName('tessera_pgc')
      tables.push(tableName)
      const instances = [0, 1, 2].map(() => new PostgresStore({ pool: ownPool({ max: 1 }), tableName, pruneInterval: false }))
      stores.push(...instances)
      const results = await Promise.all(instances.map((store) => store.create(newId(), { data: {}, meta: null, userId: null, expiresAt: Date.now() + HOUR })))
      assert.deepEqual(results, ['ok', 'ok', 'ok'])
    })

    it('with createTable: false never sends DDL; the helper creates the tables', async () => {
      const tableName = uniqueName('tessera_pgm')
      tables.push(tableName)
      const counting = new CountingPool(db())
      const store = new PostgresStore({ pool: counting, tableName, createTable: false, pruneInterval: false })
      stores.push(store)
      await assert.rejects(store.get(newId()), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError)
        assert.equal(err.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
        assert.equal((err.cause as { code?: string }).code, '42P01') // undefined_table
        return true
      })
      await PostgresStore.createTable(db(), { tableName })
      await PostgresStore.createTable(db(), { tableName })
      const id = await created(store)
      assert.equal((await store.get(id))?.data.user, 'ann')
      assert.ok(counting.log.every((query) => query.name !== undefined), 'no DDL from the store')
    })

    it('createTableSql() is the documented schema, idempotent, for migration tools', async () => {
      const tableName = uniqueName('tessera_pgm')
      tables.push(tableName)
      const sql = createTableSql({ tableName })
      await db().query(sql)
      await db().query(sql)
      const { rows } = await db().query(
        `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [tableName],
      )
      assert.deepEqual(
        rows.map((row) => `${row.column_name} ${row.data_type}${row.is_nullable === 'NO' ? ' not null' : ''}${row.column_default ? ` default ${row.column_default}` : ''}`),
        [
          'id text not null',
          'data jsonb not null',
          'meta jsonb',
          'user_id text',
          'expires_at timestamp with time zone not null',
          'absolute_expires_at timestamp with time zone',
          'version integer not null default 1',
        ],
      )
      const indexes = await db().query('SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ($1, $2) ORDER BY indexname', [tableName, `${tableName}_tombstones`])
      const defs = indexes.rows.map((row) => row.indexdef as string)
      assert.ok(defs.some((def) => /\(expires_at\)$/.test(def)))
      assert.ok(defs.some((def) => /\(user_id\) WHERE \(user_id IS NOT NULL\)$/.test(def)))
      assert.ok(defs.some((def) => /_tombstones USING btree \(until\)$/.test(def)))
    })

    it('uses schemaName for both tables', async () => {
      const schemaName = uniqueName('tessera_schema')
      await db().query(`CREATE SCHEMA "${schemaName}"`)
      try {
        const store = new PostgresStore({ pool: db(), schemaName, tableName: 'Sessions', pruneInterval: false })
        const id = await created(store)
        await store.destroy(id)
        const { rows } = await db().query(`SELECT (SELECT count(*) FROM "${schemaName}"."Sessions_tombstones")::integer AS n`)
        assert.equal(rows[0].n, 1)
        await store.close()
      } finally {
        await db().query(`DROP SCHEMA "${schemaName}" CASCADE`)
      }
    })

    it('rejects unsafe identifiers and bad options when constructed', () => {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['tableName', { tableName: 'a"b' }],
        ['tableName', { tableName: 'sessions; DROP TABLE users' }],
        ['tableName', { tableName: '1sessions' }],
        ['tableName', { tableName: '' }],
        ['tableName', { tableName: 'x'.repeat(43) }],
        ['schemaName', { schemaName: 'public.x' }],
        ['schemaName', { schemaName: 'my schema' }],
        ['pruneInterval', { pruneInterval: 0 }],
        ['pruneInterval', { pruneInterval: 2 ** 31 }],
        ['pruneBatch', { pruneBatch: 1.5 }],
        ['tombstoneTtl', { tombstoneTtl: -1 }],
        ['touchThreshold', { touchThreshold: -1 }],
        ['createTable', { createTable: 'yes' }],
        ['prepare', { prepare: 1 }],
      ]
      for (const [option, extra] of cases) {
        assert.throws(
          () => new PostgresStore({ pool: db(), ...extra } as PostgresStoreOptions),
          (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === option,
          `${JSON.stringify(extra)} is refused as ${option}`,
        )
      }
      assert.throws(() => new PostgresStore({} as PostgresStoreOptions), (err: unknown) => err instanceof InvalidOptionError && err.option === 'pool')
      assert.throws(() => createTableSql({ tableName: 'x"; --' }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'tableName')
    })
  })

  describe('create', () => {
    it('replaces an expired row that was not pruned yet', async () => {
      const { store } = await fixture()
      const id = await created(store, { expiresAt: Date.now() - 1000, data: { old: true } })
      assert.equal(await store.create(id, { data: { fresh: true }, meta: null, userId: null, expiresAt: Date.now() + HOUR }), 'ok')
      const got = await store.get(id)
      assert.deepEqual({ ...got?.data }, { fresh: true })
      assert.equal(got?.version, 1)
    })

    it('refuses an id while its tombstone lives, and accepts it once the tombstone expired', async () => {
      const { store, tableName } = await fixture()
      const id = await created(store)
      await store.destroy(id)
      assert.equal(await store.create(id, { data: {}, meta: null, userId: null, expiresAt: Date.now() + HOUR }), 'collision')
      await db().query(`UPDATE "${tableName}_tombstones" SET until = now() - interval '1 second' WHERE id = $1`, [id])
      assert.equal(await store.create(id, { data: {}, meta: null, userId: null, expiresAt: Date.now() + HOUR }), 'ok')
    })

    it('destroyByUser tombstones what it destroys', async () => {
      const { store } = await fixture()
      const a = await created(store, { userId: 'ann' })
      assert.equal(await store.destroyByUser('ann'), 1)
      assert.equal(await store.create(a, { data: {}, meta: null, userId: null, expiresAt: Date.now() + HOUR }), 'collision')
      assert.equal(await store.update(a, patch({ x: 1 }), Date.now() + HOUR), 'gone')
    })

    it('serializes the values when the method is called, not when the query is sent', async () => {
      const tableName = uniqueName('tessera_pgs')
      tables.push(tableName)
      // the first call waits for the tables to be created, so the app has time to mutate its objects
      const store = new PostgresStore({ pool: db(), tableName, pruneInterval: false })
      stores.push(store)
      const id = newId()
      const data = { cart: [1] }
      const creating = store.create(id, { data, meta: null, userId: null, expiresAt: Date.now() + HOUR })
      data.cart.push(2)
      assert.equal(await creating, 'ok')
      assert.deepEqual((await store.get(id))?.data.cart, [1])
      const set = { cart: [3] }
      const updating = store.update(id, patch(set), Date.now() + HOUR)
      set.cart.push(4)
      assert.equal(await updating, 'ok')
      assert.deepEqual((await store.get(id))?.data.cart, [3])
    })
  })

  describe('update', () => {
    it('removes a key whose new value JSON cannot hold (undefined), like the other stores', async () => {
      const { store } = await fixture()
      const id = await created(store, { data: { a: 1, b: 2 } })
      assert.equal(await store.update(id, patch({ a: undefined, c: 3 }), Date.now() + HOUR), 'ok')
      assert.deepEqual({ ...(await store.get(id))?.data }, { b: 2, c: 3 })
    })

    it('clears the owner with userId: null', async () => {
      const { store } = await fixture()
      const id = await created(store, { userId: 'ann' })
      assert.equal(await store.update(id, patch({}, [], { userId: null }), Date.now() + HOUR), 'ok')
      assert.equal((await store.get(id))?.userId, null)
      assert.deepEqual(await store.listByUser('ann'), [])
    })
  })

  describe('expiry', () => {
    it('a slide never moves the expiry backwards', async () => {
      const { store } = await fixture()
      const now = Date.now()
      const id = await created(store, { expiresAt: now + HOUR })
      await store.get(id, { slideTo: now + 60_000, slideIfBefore: now + 2 * HOUR })
      assert.ok(Math.abs(((await store.get(id))?.expiresAt ?? 0) - (now + HOUR)) < 1000)
    })

    it('keeps millisecond precision', async () => {
      const { store } = await fixture()
      const expiresAt = Date.now() + HOUR
      const id = await created(store, { expiresAt })
      assert.equal((await store.get(id))?.expiresAt, expiresAt)
    })

    describe('touchThreshold', () => {
      it('touch and update leave an expiry already within the threshold alone, and write one outside it', async () => {
        const { store } = await fixture({ touchThreshold: 60_000 })
        const base = Date.now() + HOUR
        const id = await created(store, { expiresAt: base })
        const expiry = async () => (await store.get(id))?.expiresAt
        // left alone, and still answered as live: a request must not take it for a destroyed session
        assert.equal(await store.touch(id, base + 30_000), 'ok')
        assert.equal(await expiry(), base)
        assert.equal(await store.update(id, patch({ a: 1 }), base + 59_000), 'ok')
        assert.equal(await expiry(), base)
        assert.equal((await store.get(id))?.data.a, 1)
        assert.equal(await store.touch(id, base + 61_000), 'ok')
        assert.equal(await expiry(), base + 61_000)
        // backwards (a shorter cookie lifetime) is always written
        await store.touch(id, base - 10 * 60_000)
        assert.equal(await expiry(), base - 10 * 60_000)
      })
    })
  })

  describe('prune', () => {
    it('deletes in batches of pruneBatch, so no statement holds many rows', async () => {
      const { store, counting, tableName } = await fixture({ pruneBatch: 10 })
      await insertExpired(tableName, 25)
      const live = await created(store)
      const queries = await counting.count(async () => assert.equal(await store.prune(), 25))
      assert.equal(queries.length, 3, '10 + 10 + 5')
      assert.equal(await rowCount(tableName), 1)
      assert.ok(await store.get(live))
    })

    it('an exact multiple of the batch takes one more, empty, batch', async () => {
      const { store, counting, tableName } = await fixture({ pruneBatch: 10 })
      await insertExpired(tableName, 20)
      const queries = await counting.count(async () => assert.equal(await store.prune(), 20))
      assert.equal(queries.length, 3)
    })

    it('removes expired tombstones too, but not live ones', async () => {
      const { store, tableName } = await fixture({ pruneBatch: 10 })
      await db().query(`INSERT INTO "${tableName}_tombstones" (id, until) SELECT 't' || g, now() - interval '1 minute' FROM generate_series(1, 25) g`)
      const id = await created(store)
      await store.destroy(id)
      assert.equal(await store.prune(), 0)
      assert.equal(await rowCount(`${tableName}_tombstones`), 1)
    })

    it('two instances pruning at once both finish and remove every expired row exactly once', async () => {
      const tableName = uniqueName('tessera_pgp')
      tables.push(tableName)
      await PostgresStore.createTable(db(), { tableName })
      await insertExpired(tableName, 3000)
      const instances = [0, 1].map(() => new PostgresStore({ pool: ownPool({ max: 1 }), tableName, createTable: false, pruneInterval: false, pruneBatch: 100 }))
      stores.push(...instances)
      const liveIds: string[] = []
      for (let i = 0; i < 5; i++) liveIds.push(await created(instances[0] as PostgresStore))
      const removed = await Promise.all(instances.map((store) => store.prune()))
      assert.equal((removed[0] as number) + (removed[1] as number), 3000, `removed ${removed.join(' + ')}`)
      assert.equal(await rowCount(tableName), 5)
      for (const id of liveIds) assert.ok(await instances[1]?.get(id))
    })

    it('runs in the background on a jittered timer until close(), which is safe to call twice', async () => {
      const { store, counting, tableName } = await fixture({ pruneInterval: 20 })
      await insertExpired(tableName, 5)
      await until('the background prune', async () => (await rowCount(tableName)) === 0)
      await store.close()
      await store.close()
      await new Promise((resolve) => setTimeout(resolve, 100)) // a prune in flight at close() finishes
      const sent = counting.log.length
      await new Promise((resolve) => setTimeout(resolve, 100)) // over 3 intervals at 150 %
      assert.equal(counting.log.length, sent, 'no prune after close()')
    })
  })

  describe('bad data', () => {
    const shapes: Array<[string, string]> = [
      ['data is a string', `data = '"str"'::jsonb`],
      ['data is null', `data = 'null'::jsonb`],
      ['data is an array', `data = '[1,2]'::jsonb`],
      ['meta is an array', `meta = '[1]'::jsonb`],
      ['meta deadlines are not numbers', `meta = '{"createdAt":"x","absoluteExpiresAt":1,"idleTimeout":1}'::jsonb`],
      ['meta lacks absoluteExpiresAt', `meta = '{"createdAt":1,"idleTimeout":1}'::jsonb`],
    ]
    for (const [name, assignment] of shapes) {
      it(`rejects with SessionDataError when ${name}`, async () => {
        const { store, tableName } = await fixture()
        const id = await created(store, { userId: 'ann' })
        await db().query(`UPDATE "${tableName}" SET ${assignment} WHERE id = $1`, [id])
        await assert.rejects(store.get(id), (err: unknown) => err instanceof SessionDataError && err.code === 'ERR_TESSERA_SESSION_DATA')
      })
    }

    it('listByUser lists a session whose metadata is unreadable with none, and a load of it is malformed', async () => {
      const { store, tableName } = await fixture()
      const id = await created(store, { userId: 'ann' })
      await db().query(`UPDATE "${tableName}" SET meta = '"x"'::jsonb WHERE id = $1`, [id])
      assert.deepEqual((await store.listByUser('ann')).map((info) => [info.id, info.meta]), [[id, null]])
      await assert.rejects(store.get(id), (err: unknown) => err instanceof SessionDataError)
    })

    it('parses through parseJson: prototype keys are dropped at the top level too', async () => {
      const { store, tableName } = await fixture()
      const id = await created(store)
      await db().query(`UPDATE "${tableName}" SET data = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"ok":1}'::jsonb WHERE id = $1`, [id])
      const got = await store.get(id)
      assert.deepEqual(Object.keys(got?.data ?? {}), ['ok'])
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })
  })

  describe('stored format', () => {
    it('keeps each value as its JSON text: jsonb never parses, sorts or refuses the values', async () => {
      const { store, tableName } = await fixture()
      const id = await created(store, { data: { s: 'a\u0000b\ud800', o: { z: 1, a: 2 } } })
      const { rows } = await db().query(`SELECT jsonb_typeof(data) AS type, data ->> 0 AS format, data -> 1 ->> 's' AS s, data -> 1 ->> 'o' AS o FROM "${tableName}" WHERE id = $1`, [id])
      assert.deepEqual({ ...rows[0] }, { type: 'array', format: '2', s: JSON.stringify('a\u0000b\ud800'), o: '{"z":1,"a":2}' })
    })

    // the data object itself, as the store wrote it before: jsonb has sorted its keys
    const PREVIOUS = '{"n": 0.30000000000000004, "o": {"a": [1, {"b": null}], "z": 1}, "s": "é ☃", "t": true, "big": 12345678901234568, "nil": null, "user": "ann"}'
    const updates: Array<[string, (store: PostgresStore, id: string) => Promise<unknown>, Record<string, unknown>]> = [
      ['a field-level update', (store, id) => store.update(id, patch({ added: 1 }, ['t']), Date.now() + HOUR), { added: 1, t: undefined }],
      ['an update with expectVersion', (store, id) => store.update(id, patch({ added: 1 }), Date.now() + HOUR, { expectVersion: 1 }), { added: 1 }],
      ['a metadata-only update', (store, id) => store.update(id, patch({}, [], { meta: meta() }), Date.now() + HOUR), {}],
      ['a whole-object update (replace)', (store, id) => store.update(id, patch({ only: [1] }, [], { replace: true }), Date.now() + HOUR), { only: [1] }],
    ]
    for (const [what, update, change] of updates) {
      it(`reads a row of the previous format, and ${what} rewrites it in the current one, every value unchanged`, async () => {
        const { store, tableName } = await fixture()
        const id = await created(store)
        await db().query(`UPDATE "${tableName}" SET data = $2::jsonb WHERE id = $1`, [id, PREVIOUS])
        const before = { ...(await store.get(id))?.data }
        assert.deepEqual(before, JSON.parse(PREVIOUS))
        assert.equal(await update(store, id), 'ok')
        const expected: Record<string, unknown> = 'only' in change ? { ...change } : { ...before, ...change }
        for (const key of Object.keys(expected)) if (expected[key] === undefined) delete expected[key]
        const after = (await store.get(id))?.data ?? {}
        assert.deepEqual(Object.fromEntries(Object.keys(after).map((k) => [k, JSON.stringify(after[k])])), Object.fromEntries(Object.keys(expected).map((k) => [k, JSON.stringify(expected[k])])))
        const { rows } = await db().query(`SELECT jsonb_typeof(data) AS type FROM "${tableName}" WHERE id = $1`, [id])
        assert.equal(rows[0].type, 'array')
      })
    }

    it('data the server refuses is a SessionDataError (one request\'s data), not an outage', async () => {
      const { store } = await fixture()
      // text cannot hold U+0000: SQLSTATE 22021, a data exception
      await assert.rejects(store.create(newId(), { data: {}, meta: meta(), userId: 'a\u0000b', expiresAt: Date.now() + HOUR }), (err: unknown) => {
        assert.ok(err instanceof SessionDataError)
        assert.equal((err.cause as { code?: string }).code, '22021')
        return true
      })
    })
  })

  describe('failures', () => {
    it('a connection the server terminated rejects with StoreUnavailableError, the driver error as cause', async () => {
      const client = new pg.Client({ connectionString: PG_URL, application_name: uniqueName('tessera_term') })
      client.on('error', () => {})
      await client.connect()
      const { store } = await fixture({}, client)
      const id = await created(store)
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid')
      const ended = new Promise((resolve) => client.once('end', resolve)) // events.once would reject on the 'error' that comes first
      await db().query('SELECT pg_terminate_backend($1)', [rows[0].pid])
      await ended
      await assert.rejects(store.get(id), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError)
        assert.equal(err.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
        assert.ok(err.cause instanceof Error)
        assert.ok(!(err.cause instanceof StoreUnavailableError), 'wrapped once')
        return true
      })
    })

    it('a failed first table creation is retried by the next call', async () => {
      const tableName = uniqueName('tessera_pgr')
      tables.push(tableName)
      const pool = new SwitchablePool({ query: () => Promise.reject(new Error('connection refused')) })
      const store = new PostgresStore({ pool, tableName, pruneInterval: false })
      stores.push(store)
      await assert.rejects(store.get(newId()), (err: unknown) => err instanceof StoreUnavailableError && (err.cause as Error).message === 'connection refused')
      pool.target = db()
      const id = await created(store)
      assert.ok(await store.get(id))
    })
  })
})
