/**
 * One request's data never opens the circuit breaker for everyone: on real PostgreSQL and SQLite,
 * concurrent requests store what those databases could not hold before (U+0000, lone surrogates)
 * and read it back exactly, or are refused one by one (values nested too deeply), while every other
 * user keeps being served.
 */
import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import session from '../../src/index.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { HOSTS, SECRET, cleanup, cookiePair, recordEvents, serve, track, type Host, type Reply, type Req, type Res, type TestServer } from '../http/helpers.ts'
import { PG_URL, postgresSkip, uniqueName } from '../support/services.ts'

afterEach(cleanup)

const dir = mkdtempSync(join(tmpdir(), 'tessera-request-data-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const pgSkipped = await postgresSkip()
const pool = pgSkipped === false ? new pg.Pool({ connectionString: PG_URL, max: 8 }) : undefined
const tables: string[] = []
after(async () => {
  for (const table of tables) await pool?.query(`DROP TABLE IF EXISTS "${table}", "${table}_tombstones"`)
  await pool?.end()
})

const STORES: Array<{ name: string; skip: string | false; make: () => SessionStore }> = [
  { name: 'SQLite', skip: false, make: () => track(new SqliteStore({ path: join(dir, `${uniqueName('db')}.sqlite`), pruneInterval: false })) },
  {
    name: 'PostgreSQL',
    skip: pgSkipped,
    make: () => {
      const tableName = uniqueName('tessera_rd')
      tables.push(tableName)
      return track(new PostgresStore({ pool: pool as pg.Pool, tableName, pruneInterval: false }))
    },
  },
]

const BREAKER = { failures: 3, cooldown: 60_000 }
const CONCURRENT = 12

async function dataApp(host: Host, store: SessionStore) {
  const middleware = session({ secret: SECRET, store, circuitBreaker: BREAKER })
  const events = recordEvents(middleware, ['store_error', 'malformed_data'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    // request data kept in the session, as in the reported case
    app.get('/q', (req: Req, res: Res) => {
      req.session.q = req.query.q
      res.send('ok')
    })
    app.post('/q', (host.express as any).json({ limit: '1mb' }), (req: Req, res: Res) => {
      req.session.q = req.body.q
      res.send('ok')
    })
    app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, q: req.session.q ?? null }))
  })
  return { server, events }
}

/** A JSON POST; a string is sent as it is (JSON.stringify here cannot nest 5,000 levels either). */
const post = (body: unknown) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }, body: text }
}

for (const { name, skip, make } of STORES) {
  describe(`${name}: one request's data and the circuit breaker`, { skip }, () => {
    for (const host of HOSTS) {
      describe(host.name, () => {
        const roundTrips: Array<[string, string, (server: TestServer, cookie?: string) => Promise<Reply>]> = [
          ['U+0000 (?q=a%00b)', 'a\u0000b', (server, cookie) => server.request('/q?q=a%00b', { cookie })],
          ['a lone surrogate (JSON body)', 'a\ud800b', (server, cookie) => server.request('/q', { cookie, ...post({ q: 'a\ud800b' }) })],
        ]
        for (const [what, value, send] of roundTrips) {
          it(`${CONCURRENT} concurrent requests storing ${what}: stored and read back exactly, and nobody gets 503`, async () => {
            const { server, events } = await dataApp(host, make())
            const signedIn = cookiePair(await server.request('/login'))
            const replies = await Promise.all([
              ...Array.from({ length: CONCURRENT }, () => send(server)),
              ...Array.from({ length: CONCURRENT }, () => send(server, signedIn)),
            ])
            assert.deepEqual(new Set(replies.map((reply) => reply.status)), new Set([200]))
            for (const reply of replies.slice(0, CONCURRENT)) assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(reply) })).body), { user: null, q: value })
            assert.deepEqual(JSON.parse((await server.request('/me', { cookie: signedIn })).body), { user: 'ann', q: value })
            assert.equal(events.store_error.length, 0)
          })
        }

        for (const depth of [1001, 5000]) {
          it(`${CONCURRENT} concurrent requests storing JSON nested ${depth} levels deep: each refused with ERR_TESSERA_SESSION_DATA, everyone else still served`, async () => {
            const { server, events } = await dataApp(host, make())
            const signedIn = cookiePair(await server.request('/login'))
            const replies = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => server.request('/q', { cookie: i % 2 === 0 ? signedIn : undefined, ...post(`{"q":${'['.repeat(depth)}${']'.repeat(depth)}}`) })))
            assert.deepEqual(new Set(replies.map((reply) => reply.status)), new Set([500]))
            assert.deepEqual(new Set(server.errors.map((err) => err.code)), new Set(['ERR_TESSERA_SESSION_DATA']))
            assert.equal(events.store_error.length, 0)
            assert.equal(events.malformed_data.length, CONCURRENT)
            // the breaker is closed: the signed-in user keeps the session, a new visitor signs in
            assert.deepEqual(JSON.parse((await server.request('/me', { cookie: signedIn })).body), { user: 'ann', q: null })
            assert.equal((await server.request('/login')).status, 200)
          })
        }
      })
    }
  })
}
