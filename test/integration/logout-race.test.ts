/**
 * A request in flight while another request of the same user logs out (and signs in again): its
 * response must not send `Set-Cookie` with the dead id, which would replace the logout's clearing
 * cookie, or the new login's cookie, in the browser. Covered for every reason a response re-sends the
 * cookie of the session it loaded (`rolling`, `req.session.touch()`, a persistent cookie whose expiry
 * slid), on every built-in store against its real server. The slow request is held at a gate, not by
 * timing.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import pg from 'pg'
import session, { MemoryStore, type SessionOptions, type SessionStore } from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { HOSTS, SECRET, cleanup, gate, handle, recordEvents, serve, setCookies, track, type Req, type Res } from '../http/helpers.ts'
import { CookieJar } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-race-'))
const redisSkipped = await redisSkip()
const postgresSkipped = await postgresSkip()
const redis = redisSkipped ? undefined : await createClient({ url: REDIS_URL }).connect()
const pool = postgresSkipped ? undefined : new pg.Pool({ connectionString: PG_URL, max: 4 })
const prefixes: string[] = []
const tables: string[] = []

after(async () => {
  await cleanup()
  rmSync(dir, { recursive: true, force: true })
  if (redis) {
    for (const prefix of prefixes) {
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await redis.del(keys)
    }
    await redis.quit()
  }
  if (pool) {
    for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_tombstones" CASCADE`)
    await pool.end()
  }
})

interface StoreKind {
  name: string
  skip: string | false
  make(): SessionStore
}

let files = 0
const STORES: StoreKind[] = [
  { name: 'MemoryStore', skip: false, make: () => new MemoryStore() },
  { name: 'SqliteStore', skip: false, make: () => new SqliteStore({ path: join(dir, `race-${files++}.db`), pruneInterval: false }) },
  {
    name: 'RedisStore',
    skip: redisSkipped,
    make: () => {
      const prefix = uniqueName('tess:race') + ':'
      prefixes.push(prefix)
      return new RedisStore({ client: redis as never, prefix })
    },
  },
  {
    name: 'PostgresStore',
    skip: postgresSkipped,
    make: () => {
      const tableName = uniqueName('tess_race').toLowerCase()
      tables.push(tableName)
      return new PostgresStore({ pool: pool as pg.Pool, tableName, pruneInterval: false })
    },
  },
]

/** Why the slow request re-sends the cookie of the session it loaded. */
const REASONS: Array<{ name: string; options: Partial<SessionOptions>; slow: (req: Req) => void }> = [
  { name: 'rolling: true', options: { rolling: true }, slow: () => {} },
  { name: 'req.session.touch() with a persistent cookie', options: { cookie: { maxAge: 60_000 } }, slow: (req) => req.session.touch() },
  { name: 'a persistent cookie whose expiry slid on the read (resave: true)', options: { cookie: { maxAge: 60_000 }, resave: true }, slow: () => {} },
]

/** Resolves once `Date.now()` has moved on: a read in the millisecond of the write before it has no expiry to slide. */
async function nextMillisecond(): Promise<void> {
  const now = Date.now()
  while (Date.now() <= now) await new Promise((resolve) => setImmediate(resolve))
}

/** The app: login, a slow read held at a gate, logout. */
async function raceApp(store: SessionStore, options: Partial<SessionOptions>, slow: (req: Req) => void) {
  const middleware = session({ secret: SECRET, store, ...options })
  const events = recordEvents(middleware, ['conflict'])
  let loaded = gate()
  let release = gate()
  const server = await serve(HOSTS[0] as (typeof HOSTS)[number], (app) => {
    app.use(middleware)
    app.get(
      '/login',
      handle(async (req, res) => {
        await req.session.login('user-1')
        req.session.user = 'ann'
        res.send('in')
      }),
    )
    app.get(
      '/slow',
      handle(async (req, res) => {
        const user = String(req.session.user ?? 'anonymous')
        loaded.open()
        await release.promise
        slow(req)
        res.send(user)
      }),
    )
    app.get(
      '/logout',
      handle(async (req, res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  const jar = new CookieJar()
  const send = async (path: string, cookie = jar.header()) => {
    const reply = await server.request(path, { cookie })
    jar.store(reply.cookies)
    return reply
  }
  /** Starts /slow and resolves once its handler holds the loaded session; `finish` lets it answer. */
  const startSlow = async () => {
    // with resave (touchAfter 0) the read slides the expiry only if the clock moved since the last write
    await nextMillisecond()
    loaded = gate()
    release = gate()
    const reply = send('/slow')
    await loaded.promise
    return {
      finish: () => {
        release.open()
        return reply
      },
    }
  }
  return { send, startSlow, jar, events }
}

describe('a response in flight while the session is logged out', () => {
  for (const kind of STORES) {
    describe(kind.name, () => {
      for (const reason of REASONS) {
        it(`${reason.name}: re-sends the cookie normally, and sends none for the id a concurrent logout destroyed`, { skip: kind.skip }, async () => {
          const { send, startSlow, jar, events } = await raceApp(track(kind.make()), reason.options, reason.slow)
          await send('/login')
          const first = jar.header()

          // without a logout, the slow response re-sends the cookie (the reason under test is real)
          let slow = await startSlow()
          const kept = await slow.finish()
          assert.equal(kept.body, 'ann')
          assert.equal(setCookies(kept).length, 1, `re-sent: ${JSON.stringify(kept.cookies)}`)
          assert.equal(jar.header(), first, 'the same id')

          // the same, with a logout and a new login while it is in flight
          slow = await startSlow()
          const logout = await send('/logout', first)
          assert.equal(setCookies(logout)[0]?.attributes['max-age'], '0', 'the logout cleared the cookie')
          assert.equal(jar.header(), '')
          await send('/login', '')
          const second = jar.header()
          assert.notEqual(second, '')
          const late = await slow.finish()
          assert.equal(late.body, 'ann', 'the slow request had loaded the session')
          assert.deepEqual(setCookies(late), [], 'no Set-Cookie for the destroyed id')
          assert.equal(jar.header(), second, "the browser keeps the new login's cookie")
          assert.deepEqual(
            events.conflict.map((e) => e.result),
            ['gone'],
          )
          assert.equal((await send('/me', first)).body, 'anonymous', 'the old id stays dead')
          assert.equal((await send('/me', second)).body, 'ann')
        })
      }
    })
  }

  describe('a response whose headers leave before it ends (res.write), with rolling: true', () => {
    it('sends no rolling cookie: it could not wait for the store to confirm the session', async () => {
      const store = track(new MemoryStore())
      const middleware = session({ secret: SECRET, store, rolling: true })
      const server = await serve(HOSTS[0] as (typeof HOSTS)[number], (app) => {
        app.use(middleware)
        app.get('/login', (req: Req, res: Res) => {
          req.session.user = 'ann'
          res.send('in')
        })
        app.get('/stream', (req: Req, res: Res) => {
          res.write(String(req.session.user))
          res.end()
        })
        app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
      })
      const login = await server.request('/login')
      const cookie = setCookies(login)[0]
      const pair = `${cookie?.name}=${cookie?.value}`
      const streamed = await server.request('/stream', { cookie: pair })
      assert.equal(streamed.body, 'ann')
      assert.deepEqual(setCookies(streamed), [])
      // a response that ends with its headers unsent re-sends it
      assert.equal(setCookies(await server.request('/me', { cookie: pair })).length, 1)
    })
  })
})
