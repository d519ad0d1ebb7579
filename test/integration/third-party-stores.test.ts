/**
 * express-session stores work unchanged with both entries: connect-redis 10 (node-redis) against
 * the local Redis and connect-pg-simple against the local PostgreSQL, through login → read →
 * modify → logout, on Express 5 and 4.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import express5 from 'express'
import session from '../../src/index.ts'
import compat from '../../src/compat.ts'
import { listen } from '../support/http.ts'
import { postgresSkip, redisSkip } from '../support/services.ts'
import { pgSimpleSchemas } from '../support/connect-pg-simple.ts'
import { redisPrefixes } from '../support/connect-redis.ts'

const require = createRequire(import.meta.url)
const express4 = require('express4') as typeof express5
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
  const redis = redisPrefixes(skip)
  const stores: StoreFactory = () => {
    const { store, prefix } = redis.connectRedis('tess:cr')
    return { store, name: prefix }
  }
  for (const entry of ['main', 'compat'] as const) {
    for (const [label, mod] of matrix) {
      it(`works with the ${entry} entry on ${label}`, { skip }, async () => {
        const { store, name } = stores()
        await journey(mod, entry, store)
        // logout really deleted the record
        assert.deepEqual(await redis.keys(name), [])
      })
    }
  }
})

describe('connect-pg-simple', async () => {
  const skip = await postgresSkip()
  const schemas = pgSimpleSchemas('tess_cpg', skip)
  for (const entry of ['main', 'compat'] as const) {
    for (const [label, mod] of matrix) {
      it(`works with the ${entry} entry on ${label}`, { skip }, async () => {
        const { schemaName, newStore } = await schemas.create(entry === 'main' ? session : compat)
        await journey(mod, entry, newStore())
        const { rows } = await schemas.pool.query(`SELECT count(*)::int AS n FROM "${schemaName}".session`)
        assert.equal(rows[0].n, 0)
      })
    }
  }
})
