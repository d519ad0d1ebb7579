/**
 * Every built-in store also works under express-session itself, through the one adapter that gives
 * it express-session's callback face (`toCallbackStore`), and under the compat entry the same way.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import compat from '../../src/compat.ts'
import { toCallbackStore } from '../../src/stores/legacy.ts'
import { MemoryStore } from '../../src/stores/memory.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { createClient } from 'redis'
import pg from 'pg'
import { listen } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as typeof compat
const dir = mkdtempSync(join(tmpdir(), 'tessera-under-es-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const redisSkipped = await redisSkip()
const pgSkipped = await postgresSkip()
const redis = redisSkipped ? undefined : createClient({ url: REDIS_URL })
await redis?.connect()
const pool = pgSkipped ? undefined : new pg.Pool({ connectionString: PG_URL, max: 4 })
const tables: string[] = []
after(async () => {
  await redis?.quit()
  for (const table of tables) await pool?.query(`DROP TABLE IF EXISTS "${table}", "${table}_tombstones"`)
  await pool?.end()
})

const builtInStores: Array<[string, () => SessionStore, string | false]> = [
  ['memory', () => new MemoryStore(), false],
  ['sqlite', () => new SqliteStore({ path: join(dir, `s-${Math.random().toString(36).slice(2)}.db`), pruneInterval: false }), false],
  ['redis', () => new RedisStore({ client: redis as never, prefix: uniqueName('tess:ues') + ':' }), redisSkipped],
  [
    'postgres',
    () => {
      const tableName = uniqueName('tess_ues').toLowerCase()
      tables.push(tableName)
      return new PostgresStore({ pool: pool as never, tableName, pruneInterval: false })
    },
    pgSkipped,
  ],
]

const factories: Array<[string, typeof compat]> = [
  ['express-session', expressSession],
  ['the compat entry', compat],
]

for (const [storeName, makeStore, skip] of builtInStores) {
  for (const [label, factory] of factories) {
    describe(`${storeName} store under ${label}`, { skip }, () => {
      it('keeps a session through login, read, modify and logout', async () => {
        const store = makeStore()
        const app = express()
        app.use(factory({ secret: 'keyboard cat', store: toCallbackStore(store), resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }))
        app.get('/login', (req: any, res) => {
          req.session.regenerate((err: unknown) => {
            if (err) return res.status(500).end()
            req.session.user = 'ann'
            res.send('in')
          })
        })
        app.get('/me', (req: any, res) => res.json({ user: req.session.user ?? null, n: req.session.n ?? 0 }))
        app.get('/inc', (req: any, res) => {
          req.session.n = (req.session.n ?? 0) + 1
          res.send(String(req.session.n))
        })
        app.get('/logout', (req: any, res) => req.session.destroy(() => res.send('out')))
        const client = await listen(app)
        try {
          assert.equal((await client.get('/login')).text, 'in')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', n: 0 })
          assert.equal((await client.get('/inc')).text, '1')
          assert.equal((await client.get('/inc')).text, '2')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', n: 2 })
          assert.equal((await client.get('/logout')).text, 'out')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, n: 0 })
        } finally {
          await client.close()
          await store.close?.()
        }
      })
    })
  }
}
