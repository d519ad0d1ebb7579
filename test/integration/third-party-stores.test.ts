/**
 * express-session stores work unchanged with both entries: connect-redis 10 (node-redis) against
 * the local Redis and connect-pg-simple against the local PostgreSQL, through login → read →
 * modify → logout, on Express 5 and 4.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import express5 from 'express'
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import pg from 'pg'
import session from '../../src/index.ts'
import compat from '../../src/compat.ts'
import { listen } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const require = createRequire(import.meta.url)
const express4 = require('express4') as typeof express5
const connectPgSimple = require('connect-pg-simple') as (s: unknown) => new (options: object) => object
const SECRET = 'a test secret that is long enough to pass the policy'

type Entry = 'main' | 'compat'
type StoreFactory = () => { store: object; name: string }

function makeApp(expressModule: typeof express5, entry: Entry, store: object) {
  const app = expressModule()
  app.use(
    entry === 'main'
      ? session({ secret: SECRET, store: store as never })
      : compat({ secret: SECRET, store: store as never, resave: false, saveUninitialized: false }),
  )
  app.get('/login', (req: any, res) => {
    req.session.regenerate((err: unknown) => {
      if (err) return res.status(500).send(String(err))
      req.session.user = 'ann'
      req.session.cart = ['apple']
      res.send('in')
    })
  })
  app.get('/me', (req: any, res) => res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null }))
  app.get('/add', (req: any, res) => {
    req.session.cart.push('pear')
    res.send('added')
  })
  app.get('/logout', (req: any, res) => {
    req.session.destroy((err: unknown) => res.send(err ? 'error' : 'out'))
  })
  app.use((err: any, _req: any, res: any, _next: any) => res.status(err.status ?? 500).send(err.message))
  return app
}

async function journey(expressModule: typeof express5, entry: Entry, store: object): Promise<void> {
  const client = await listen(makeApp(expressModule, entry, store))
  try {
    assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, cart: null })
    const login = await client.get('/login')
    assert.equal(login.text, 'in')
    assert.equal(login.setCookies.length, 1)
    assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', cart: ['apple'] })
    assert.equal((await client.get('/add')).text, 'added')
    assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', cart: ['apple', 'pear'] })
    assert.equal((await client.get('/logout')).text, 'out')
    // the old cookie (kept even if the entry does not clear it) no longer finds a session
    assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, cart: null })
  } finally {
    await client.close()
  }
}

const matrix: Array<[string, typeof express5]> = [
  ['Express 5', express5],
  ['Express 4', express4],
]

describe('connect-redis 10 with node-redis', async () => {
  const skip = await redisSkip()
  let client: ReturnType<typeof createClient>
  before(async () => {
    if (skip) return
    client = createClient({ url: REDIS_URL })
    await client.connect()
  })
  after(async () => {
    if (client?.isOpen) await client.quit()
  })
  const stores: StoreFactory = () => {
    const prefix = uniqueName('tess:cr') + ':'
    return { store: new RedisStore({ client, prefix }), name: prefix }
  }
  for (const entry of ['main', 'compat'] as const) {
    for (const [label, mod] of matrix) {
      it(`works with the ${entry} entry on ${label}`, { skip }, async () => {
        const { store, name } = stores()
        await journey(mod, entry, store)
        // logout really deleted the record
        assert.deepEqual(await client.keys(`${name}*`), [])
      })
    }
  }
})

describe('connect-pg-simple', async () => {
  const skip = await postgresSkip()
  let pool: pg.Pool
  const schemas: string[] = []
  before(() => {
    if (!skip) pool = new pg.Pool({ connectionString: PG_URL, max: 4 })
  })
  after(async () => {
    if (!pool) return
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })
  for (const entry of ['main', 'compat'] as const) {
    for (const [label, mod] of matrix) {
      it(`works with the ${entry} entry on ${label}`, { skip }, async () => {
        // connect-pg-simple names its primary key constraint "session_pkey": one schema per test
        const schemaName = uniqueName('tess_cpg').toLowerCase()
        schemas.push(schemaName)
        await pool.query(`CREATE SCHEMA "${schemaName}"`)
        const PgStore = connectPgSimple(entry === 'main' ? session : compat)
        const store = new PgStore({ pool, schemaName, createTableIfMissing: true, pruneSessionInterval: false })
        await journey(mod, entry, store)
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schemaName}".session`)
        assert.equal(rows[0].n, 0)
      })
    }
  }
})
