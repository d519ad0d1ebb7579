/**
 * express-session stores under the main entry, on the local Redis (connect-redis) and PostgreSQL
 * (connect-pg-simple): a read slides the expiry through the store's `touch` (throttled like the
 * built-in stores), so a user who only reads stays signed in; a record whose expiry has passed and
 * that the store still returns is destroyed. Deadlines are short and real (the stores expire records
 * on their own clock); the assertions are on outcomes only, never on durations.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import session from '../../src/index.ts'
import { listen } from '../support/http.ts'
import { postgresSkip, redisSkip } from '../support/services.ts'
import { pgSimpleSchemas } from '../support/connect-pg-simple.ts'
import { redisPrefixes } from '../support/connect-redis.ts'

const SECRET = 'a test secret that is long enough to pass the policy'
/** Whole seconds: both stores keep their expiry at a resolution of one second. */
const IDLE = 3000

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function app(store: object, idleTimeout = IDLE) {
  const server = express()
  server.use(session({ secret: SECRET, store: store as never, idleTimeout }))
  server.get('/login', (req: any, res) => {
    req.session.user = 'ann'
    res.send('in')
  })
  server.get('/me', (req: any, res) => res.send(req.session.user ?? 'anonymous'))
  return listen(server)
}

/**
 * Logs in, then only reads, every sixth of the idle window, until two and a half idle windows have
 * passed since the login: every read must still find the user (bounded: at most 40 reads). Then
 * stops reading: after one idle window, the session is over.
 */
async function readOnlyUser(store: object, live: () => Promise<boolean>): Promise<void> {
  const client = await app(store)
  try {
    assert.equal((await client.get('/login')).text, 'in')
    const start = Date.now()
    let reads = 0
    while (Date.now() - start < 2.5 * IDLE && reads < 40) {
      await delay(IDLE / 6)
      assert.equal((await client.get('/me')).text, 'ann', `read ${reads + 1}, ${Date.now() - start} ms after the login`)
      reads++
    }
    assert.ok(Date.now() - start >= 2 * IDLE, 'the reads outlasted the idle window twice')
    assert.equal(await live(), true, 'the record is live in the store')
    // the slide moved the store's expiry by the idle window, no further: once the reads stop, the session ends
    await delay(IDLE + 1500)
    assert.equal((await client.get('/me')).text, 'anonymous')
    assert.equal(await live(), false, 'the store expired the record')
  } finally {
    await client.close()
  }
}

/** Logs in, waits past the idle window, reads: no session, and the record the store kept is gone. */
async function expiredRecord(store: object, exists: () => Promise<boolean>, afterLogin?: () => Promise<unknown>): Promise<void> {
  const client = await app(store, 1000)
  try {
    assert.equal((await client.get('/login')).text, 'in')
    await afterLogin?.()
    await delay(1500)
    assert.equal(await exists(), true, 'the store kept the record past its expiry')
    assert.equal((await client.get('/me')).text, 'anonymous')
    assert.equal(await exists(), false, 'the expired record was destroyed')
  } finally {
    await client.close()
  }
}

describe('express-session stores under the main entry: sliding and expiry', async () => {
  describe('connect-redis on Redis', async () => {
    const skip = await redisSkip()
    const redis = redisPrefixes(skip)
    const keys = (prefix: string) => async () => (await redis.keys(prefix)).length > 0

    it('a user who only reads stays signed in past the idle timeout (reads slide the expiry through touch)', { skip, timeout: 30_000 }, async () => {
      const { store, prefix } = redis.connectRedis('tess:crslide')
      await readOnlyUser(store, keys(prefix))
    })

    it('a record past its expiry that a store without touch still returns is destroyed', { skip, timeout: 30_000 }, async () => {
      // a store that keeps records a minute, whatever their cookie says, and cannot slide them
      const { store, prefix } = redis.connectRedis('tess:crexp', { ttl: () => 60 })
      ;(store as { touch?: unknown }).touch = undefined
      await expiredRecord(store, keys(prefix))
    })
  })

  describe('connect-pg-simple on PostgreSQL', async () => {
    const skip = await postgresSkip()
    const schemas = pgSimpleSchemas('tess_cpgslide', skip)
    async function pgStore() {
      const { schemaName, newStore } = await schemas.create(session)
      const store = newStore()
      const count = async (where: string) => (await schemas.pool.query(`SELECT count(*)::int AS n FROM "${schemaName}".session WHERE ${where}`)).rows[0].n > 0
      // connect-pg-simple leaves expired rows until it prunes (off here): it only stops returning them
      return { store, schemaName, exists: () => count('true'), live: () => count('expire >= now()') }
    }

    it('a user who only reads stays signed in past the idle timeout (reads slide the expiry through touch)', { skip, timeout: 30_000 }, async () => {
      const { store, live } = await pgStore()
      await readOnlyUser(store, live)
    })

    it('a record past its expiry that a store without touch still returns is destroyed', { skip, timeout: 30_000 }, async () => {
      const { store, schemaName, exists } = await pgStore()
      store.touch = undefined
      // the store keeps the row an hour longer than its cookie says (its own expiry column)
      await expiredRecord(store, exists, () => schemas.pool.query(`UPDATE "${schemaName}".session SET expire = now() + interval '1 hour'`))
    })
  })
})
