/**
 * Concurrent requests that present the same old id (a page and its XHR, as every browser sends them)
 * at the moment it is rotated: on the first main-entry request after the switch from express-session
 * (connect-redis, connect-pg-simple), and at a renewal (`renewAfter`) on the built-in stores; in one
 * app process and spread over two. Every response keeps the user signed in with the same new id, one
 * new record is written, and a logout with the new id ends the old one too.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RedisStore as ConnectRedis } from 'connect-redis'
import { createClient } from 'redis'
import pg from 'pg'
import express from 'express'
import { storeKeyOf } from '../../src/engine/engine.ts'
import { listen, type Client } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'
import { PgSimpleSchemas } from '../support/connect-pg-simple.ts'
import { APP_SECRET, startApp, stopApp, type AppProcess } from '../support/spawn-app.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as (options: object) => express.RequestHandler

/** Sessions rotated per test, and requests presenting the old id at once for each. */
const ROUNDS = 12
const CONCURRENT = 4
const RENEW_AFTER = 400

const dir = mkdtempSync(join(tmpdir(), 'tessera-race-'))
after(() => rmSync(dir, { recursive: true, force: true }))

interface Answer {
  status: number
  user: unknown
  /** The value of our Set-Cookie, if any (empty when it clears the cookie). */
  cookie: string | undefined
}

async function ask(url: string, cookie: string, name: string): Promise<Answer> {
  const res = await fetch(url, { headers: { cookie } })
  const text = await res.text()
  const line = res.headers.getSetCookie().find((l) => l.startsWith(name + '='))
  const user = res.status === 200 && text.startsWith('{') ? (JSON.parse(text) as { session: { user?: unknown } | null }).session?.user : undefined
  return { status: res.status, user, cookie: line?.slice(name.length + 1).split(';')[0] }
}

/** The id inside a `v1.<id>.<mac>` cookie value. */
function idOfValue(value: string): string {
  const match = /^v1\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{43}$/.exec(value)
  assert.ok(match, `a v1 cookie value: ${value}`)
  return match[1] as string
}

/**
 * Sends CONCURRENT requests with `cookie` at once, round robin over the apps; every one must succeed
 * for `user` and carry the same new cookie. Resolves that cookie's `name=value`.
 */
async function burst(apps: AppProcess[], cookie: string, name: string, user: string): Promise<string> {
  const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => ask(`${apps[i % apps.length]!.url}/me`, cookie, name)))
  for (const [i, answer] of answers.entries()) {
    assert.equal(answer.status, 200, `request ${i} answered ${answer.status}`)
    assert.equal(answer.user, user, `request ${i} kept the user signed in`)
    assert.ok(answer.cookie, `request ${i} sent the new cookie`)
  }
  const values = new Set(answers.map((a) => a.cookie))
  assert.equal(values.size, 1, `one new id for every request, got ${values.size}`)
  const value = [...values][0] as string
  assert.notEqual(`${name}=${value}`, cookie)
  return `${name}=${value}`
}

/** After a logout with the new cookie, neither cookie gives a session, on any app, and nothing re-creates it. */
async function assertEnded(apps: AppProcess[], cookies: string[], name: string): Promise<void> {
  for (const app of apps) {
    for (const cookie of cookies) {
      const answer = await ask(`${app.url}/me`, cookie, name)
      assert.equal(answer.status, 200)
      assert.equal(answer.user, undefined, `no session for ${cookie.slice(0, 20)}… after the logout`)
      assert.ok(!answer.cookie, 'and no new cookie')
    }
  }
}

async function withApps(count: number, env: Record<string, string>, run: (apps: AppProcess[]) => Promise<void>): Promise<void> {
  const apps = await Promise.all(Array.from({ length: count }, () => startApp(env)))
  try {
    await run(apps)
  } finally {
    await Promise.all(apps.map(stopApp))
  }
}

/** express-session over `store`, as the app ran before the switch: `/login?user=…` signs a user in. */
async function legacyApp(store: object): Promise<Client> {
  const app = express()
  app.use(expressSession({ secret: APP_SECRET, store, resave: false, saveUninitialized: false }))
  app.get('/login', (req, res) => {
    ;(req as unknown as { session: Record<string, unknown> }).session.user = req.query.user
    res.send('in')
  })
  return listen(app)
}

/**
 * The migration race on an express-session store: `keys()` lists the store's record keys (without
 * its prefix). Each round signs a user in with express-session, sends the burst to the main entry,
 * checks that one record was added, then logs out with the new cookie.
 */
async function migrationRace(apps: AppProcess[], legacy: Client, keys: () => Promise<string[]>): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const user = `user${round}`
    const login = await legacy.get(`/login?user=${user}`, { headers: { cookie: '' } })
    const legacyCookie = (login.setCookies[0] as string).split(';')[0] as string
    const before = new Set(await keys())
    const cookie = await burst(apps, legacyCookie, 'connect.sid', user)
    const added = (await keys()).filter((k) => !before.has(k))
    assert.deepEqual(added, [storeKeyOf(idOfValue(cookie.slice('connect.sid='.length)))], `round ${round}: one new record, under the new id`)

    const logout = await fetch(`${apps[round % apps.length]!.url}/logout`, { headers: { cookie } })
    assert.equal(await logout.text(), 'out')
    await assertEnded(apps, [legacyCookie, cookie], 'connect.sid')
    assert.ok(!(await keys()).includes(added[0] as string), `round ${round}: the new record is gone`)
  }
}

/**
 * The renewal race on a built-in store: each round's user signs in, and once the id is older than
 * `renewAfter` the burst renews it; the user's index then lists exactly one session, the new one.
 */
async function renewalRace(apps: AppProcess[]): Promise<void> {
  const first = apps[0] as AppProcess
  const logins: Array<{ user: string; cookie: string }> = []
  for (let round = 0; round < ROUNDS; round++) {
    const user = `user${round}`
    const res = await fetch(`${first.url}/login?user=${user}`)
    logins.push({ user, cookie: (res.headers.getSetCookie()[0] as string).split(';')[0] as string })
  }
  await new Promise((resolve) => setTimeout(resolve, RENEW_AFTER))
  for (const { user, cookie: old } of logins) {
    const cookie = await burst(apps, old, 'sid', user)
    const listed = (await (await fetch(`${first.url}/sessions/${user}`)).json()) as string[]
    assert.deepEqual(listed, [storeKeyOf(idOfValue(cookie.slice('sid='.length)))], `${user}: one session, under the new id`)
    const logout = await fetch(`${apps[apps.length - 1]!.url}/logout`, { headers: { cookie } })
    assert.equal(await logout.text(), 'out')
    await assertEnded(apps, [old, cookie], 'sid')
    assert.deepEqual(await (await fetch(`${first.url}/sessions/${user}`)).json(), [])
  }
}

describe('concurrent requests presenting an id as it is rotated', { timeout: 120_000 }, async () => {
  const redisSkipped = await redisSkip()
  const pgSkipped = await postgresSkip()

  describe('the first main-entry requests after the switch from express-session', () => {
    for (const processes of [1, 2]) {
      const label = processes === 1 ? 'in one process' : 'across two processes'

      it(`connect-redis, ${label}: one new id for all, one new record, and a logout ends both cookies`, { skip: redisSkipped }, async () => {
        const prefix = uniqueName('tess:race') + ':'
        const client = createClient({ url: REDIS_URL })
        await client.connect()
        const legacy = await legacyApp(new ConnectRedis({ client, prefix }))
        try {
          const keys = async () => (await client.keys(`${prefix}*`)).map((k) => k.slice(prefix.length))
          await withApps(processes, { STORE: 'connect-redis', REDIS_URL, PREFIX: prefix, NAME: 'connect.sid' }, (apps) => migrationRace(apps, legacy, keys))
        } finally {
          await legacy.close()
          const keys = await client.keys(`${prefix}*`)
          if (keys.length > 0) await client.del(keys)
          await client.quit()
        }
      })

      it(`connect-pg-simple, ${label}: one new id for all, one new record, and a logout ends both cookies`, { skip: pgSkipped }, async () => {
        const schemas = new PgSimpleSchemas('tess_race')
        schemas.open(2)
        try {
          const { schemaName, newStore } = await schemas.create(expressSession)
          const pool = schemas.pool
          const legacy = await legacyApp(newStore())
          try {
            // the table exists once the express-session store has written to it
            await legacy.get('/login?user=setup', { headers: { cookie: '' } })
            const keys = async () => (await pool.query<{ sid: string }>(`SELECT sid FROM "${schemaName}".session`)).rows.map((r) => r.sid)
            await withApps(processes, { STORE: 'connect-pg-simple', DATABASE_URL: PG_URL, SCHEMA: schemaName, NAME: 'connect.sid' }, (apps) => migrationRace(apps, legacy, keys))
          } finally {
            await legacy.close()
          }
        } finally {
          await schemas.close()
        }
      })
    }
  })

  describe('a renewal (renewAfter) on the built-in stores', () => {
    const renew = { RENEW_AFTER: String(RENEW_AFTER) }
    it('MemoryStore, in one process: one new id for all, one session listed, and a logout ends both cookies', async () => {
      await withApps(1, { STORE: 'memory', ...renew }, renewalRace)
    })

    for (const processes of [1, 2]) {
      const label = processes === 1 ? 'in one process' : 'across two processes'

      it(`SqliteStore, ${label}: one new id for all, one session listed, and a logout ends both cookies`, async () => {
        await withApps(processes, { STORE: 'sqlite', SQLITE_PATH: join(dir, `renewal-${processes}.db`), ...renew }, renewalRace)
      })

      it(`RedisStore, ${label}: one new id for all, one session listed, and a logout ends both cookies`, { skip: redisSkipped }, async () => {
        const prefix = uniqueName('tess:renew') + ':'
        try {
          await withApps(processes, { STORE: 'redis', REDIS_URL, PREFIX: prefix, ...renew }, renewalRace)
        } finally {
          const client = createClient({ url: REDIS_URL })
          await client.connect()
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await client.del(keys)
          await client.quit()
        }
      })

      it(`PostgresStore, ${label}: one new id for all, one session listed, and a logout ends both cookies`, { skip: pgSkipped }, async () => {
        const table = uniqueName('tess_renew').toLowerCase()
        try {
          await withApps(processes, { STORE: 'postgres', DATABASE_URL: PG_URL, TABLE: table, ...renew }, renewalRace)
        } finally {
          const pool = new pg.Pool({ connectionString: PG_URL })
          await pool.query(`DROP TABLE IF EXISTS "${table}"`)
          await pool.query(`DROP TABLE IF EXISTS "${table}_tombstones"`)
          await pool.end()
        }
      })
    }
  })
})
