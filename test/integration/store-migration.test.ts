/**
 * Switching stores without logging anyone out: `migrateStore({ from, to })` on real servers,
 * connect-redis → RedisStore and connect-pg-simple → PostgresStore. Users signed in by
 * express-session (or by the main entry on the old store) keep their session on the first request
 * after the switch; it moves into the new store and leaves the old one, and a logout clears both.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import express from 'express'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import session, { migrateStore, type SessionStore } from '../../src/index.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { listen } from '../support/http.ts'
import { postgresSkip, redisSkip } from '../support/services.ts'
import { pgSimpleSchemas } from '../support/connect-pg-simple.ts'
import { redisPrefixes } from '../support/connect-redis.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as (options: object) => express.RequestHandler
const SECRET = 'a store migration test secret, long enough for the policy'

/** The routes of both apps: the "before" app on express-session, the "after" app on the main entry. */
function routes(app: express.Express): express.Express {
  app.get('/login', (req: any, res) => {
    req.session.regenerate((err: unknown) => {
      if (err) return res.status(500).send(String(err))
      req.session.user = 'ann'
      req.session.cart = ['apple']
      res.send('in')
    })
  })
  app.get('/signin', async (req: any, res) => {
    await req.session.login('ann')
    req.session.user = 'ann'
    res.send('in')
  })
  app.get('/me', (req: any, res) => res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null }))
  app.get('/sessions', async (_req, res) => res.json((await middlewares.get(app)?.listUserSessions('ann'))?.length ?? null))
  app.get('/logout', (req: any, res) => req.session.destroy((err: unknown) => res.send(err ? 'error' : 'out')))
  app.use((err: any, _req: any, res: any, _next: any) => res.status(err.status ?? 500).send(err.code ?? err.message))
  return app
}

const middlewares = new WeakMap<express.Express, ReturnType<typeof session>>()

function beforeApp(store: object): express.Express {
  const app = express()
  app.use(expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false }))
  return routes(app)
}

/** The main entry, with the cookie name express-session used, on `store`. */
// renewalGrace 0: the record a migration replaces is deleted at once rather than retired for the grace,
// so the counts below see only sessions of their own (the grace is covered in test/http/migration.test.ts)
function afterApp(store: object): express.Express {
  const app = express()
  const middleware = session({ secret: SECRET, name: 'connect.sid', store: store as SessionStore, renewalGrace: 0 })
  middlewares.set(app, middleware)
  app.use(middleware)
  return routes(app)
}

interface Backend {
  /** The old store (express-session's), and a way to count what it still holds. */
  oldStore(): object
  oldCount(): Promise<number>
  /** The new built-in store, and a way to count its session records. */
  newStore(): SessionStore
  newCount(): Promise<number>
}

/** Runs `fn` on one fresh browser of `app`, closing the server afterwards. */
async function visit<T>(app: express.Express, cookie: string | undefined, fn: (client: Awaited<ReturnType<typeof listen>>) => Promise<T>): Promise<T> {
  const client = await listen(app)
  if (cookie !== undefined) client.jar.store([cookie])
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

/** Signs ann in on `app`; returns the `connect.sid=…` pair. */
async function signIn(app: express.Express, path = '/login'): Promise<string> {
  return visit(app, undefined, async (client) => {
    assert.equal((await client.get(path)).text, 'in')
    return `connect.sid=${client.jar.cookies.get('connect.sid')}`
  })
}

function suite(backend: () => Promise<Backend>): void {
  it('an express-session user stays signed in: the session moves to the new store, in the new format', async () => {
    const b = await backend()
    const old = b.oldStore()
    const oldCookie = await signIn(beforeApp(old))
    assert.equal(await b.oldCount(), 1)

    const app = afterApp(migrateStore({ from: old as never, to: b.newStore() }))
    const newCookie = await visit(app, oldCookie, async (client) => {
      const me = await client.get('/me')
      assert.deepEqual(JSON.parse(me.text), { user: 'ann', cart: ['apple'] })
      assert.match(me.setCookies[0] ?? '', /^connect\.sid=v1\./, 'moved to a new id in the main entry format')
      assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', cart: ['apple'] })
      return `connect.sid=${client.jar.cookies.get('connect.sid')}`
    })
    assert.equal(await b.oldCount(), 0, 'the old store no longer holds it')
    assert.equal(await b.newCount(), 1)
    // the express-session cookie is spent; the new one works
    await visit(app, oldCookie, async (client) => assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, cart: null }))
    await visit(app, newCookie, async (client) => assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', cart: ['apple'] }))
  })

  it('without migrateStore the same user is logged out (the reason it exists)', async () => {
    const b = await backend()
    const oldCookie = await signIn(beforeApp(b.oldStore()))
    await visit(afterApp(b.newStore()), oldCookie, async (client) => assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, cart: null }))
  })

  it('a session the main entry wrote to the old store keeps its owner: the per-user index lists it after the move', async () => {
    const b = await backend()
    const old = b.oldStore()
    const cookie = await signIn(afterApp(old), '/signin')
    const app = afterApp(migrateStore({ from: old as never, to: b.newStore() }))
    await visit(app, cookie, async (client) => {
      assert.equal(JSON.parse((await client.get('/me')).text).user, 'ann')
      assert.equal(JSON.parse((await client.get('/sessions')).text), 1)
    })
    assert.equal(await b.oldCount(), 0)
  })

  // as with express-session's cookies on a single store: a request that loads the old id after
  // another one moved it to its new id finds nothing (never a resurrected copy), but one always wins
  it('two first requests at once: no error, the session is found and moved once', async () => {
    const b = await backend()
    const old = b.oldStore()
    const oldCookie = await signIn(beforeApp(old))
    const app = afterApp(migrateStore({ from: old as never, to: b.newStore() }))
    const client = await listen(app)
    try {
      const replies = await Promise.all([1, 2].map(() => client.get('/me', { headers: { cookie: oldCookie } })))
      for (const reply of replies) assert.equal(reply.status, 200)
      assert.ok(replies.some((reply) => JSON.parse(reply.text).user === 'ann'), 'at least one request has the session')
    } finally {
      await client.close()
    }
    assert.equal(await b.oldCount(), 0)
  })

  it('a logout during the move deletes the session from both stores, and no cookie brings it back', async () => {
    const b = await backend()
    const old = b.oldStore()
    const oldCookie = await signIn(beforeApp(old))
    const app = afterApp(migrateStore({ from: old as never, to: b.newStore() }))
    const newCookie = await visit(app, oldCookie, async (client) => {
      await client.get('/me')
      const cookie = `connect.sid=${client.jar.cookies.get('connect.sid')}`
      assert.equal((await client.get('/logout')).text, 'out')
      return cookie
    })
    assert.equal(await b.oldCount(), 0)
    assert.equal(await b.newCount(), 0)
    for (const cookie of [oldCookie, newCookie]) {
      await visit(app, cookie, async (client) => assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, cart: null }))
    }
  })
}

describe('migrateStore', () => {
  it('refuses what is not a store, and the same store twice', () => {
    assert.throws(() => migrateStore({ from: {} as never, to: {} as never }), { code: 'ERR_TESSERA_INVALID_OPTION' })
    const store = { get() {}, set() {}, destroy() {} }
    assert.throws(() => migrateStore({ from: store as never, to: store as never }), { code: 'ERR_TESSERA_INVALID_OPTION' })
  })

  describe('connect-redis → RedisStore', async () => {
    const skip = await redisSkip()
    const redis = redisPrefixes(skip)
    const backend = async (): Promise<Backend> => {
      const oldPrefix = redis.prefix('tess:mig:old')
      const newPrefix = redis.prefix('tess:mig:new')
      const client = redis.client
      return {
        oldStore: () => new ConnectRedisStore({ client, prefix: oldPrefix }),
        oldCount: async () => (await redis.keys(oldPrefix)).length,
        newStore: () => new RedisStore({ client, prefix: newPrefix }),
        // session records only: tombstones are `<prefix>t:…`, user indexes `<prefix>u:…`
        // session records only: user indexes are `<prefix>u:…`, and a destroyed session's key is its tombstone (only `_d`)
        newCount: async () => {
          const keys = (await client.keys(`${newPrefix}*`)).filter((key) => !key.startsWith(`${newPrefix}u:`))
          const tombstones = await Promise.all(keys.map((key) => client.hExists(key, '_d')))
          return tombstones.filter((tombstone) => !tombstone).length
        },
      }
    }
    describe('with a real Redis', { skip }, () => suite(backend))
  })

  describe('connect-pg-simple → PostgresStore', async () => {
    const skip = await postgresSkip()
    const schemas = pgSimpleSchemas('tess_mig', skip)
    const backend = async (): Promise<Backend> => {
      const { schemaName, newStore } = await schemas.create(expressSession)
      const pool = schemas.pool
      return {
        oldStore: newStore,
        oldCount: async () => Number((await pool.query(`SELECT count(*)::int AS n FROM "${schemaName}".session`)).rows[0].n),
        newStore: () => new PostgresStore({ pool, schemaName, tableName: 'tessera_sessions', pruneInterval: false }),
        newCount: async () => Number((await pool.query(`SELECT count(*)::int AS n FROM "${schemaName}".tessera_sessions`)).rows[0].n),
      }
    }
    describe('with a real PostgreSQL', { skip }, () => suite(backend))
  })
})
