/**
 * Two app processes on different ports share one store (the SQLite file, Redis, PostgreSQL); a
 * client alternates between them through login, writes and logout, and overlapping writes sent to
 * both processes at once all survive.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import pg from 'pg'
import { CookieJar } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'
import { startApp as start, stopApp as stop } from '../support/spawn-app.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-multi-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function get(jar: CookieJar, url: string): Promise<string> {
  const res = await fetch(url, { headers: { cookie: jar.header() } })
  jar.store(res.headers.getSetCookie())
  return res.text()
}

async function journey(env: Record<string, string>): Promise<void> {
  const a = await start(env)
  const b = await start(env)
  try {
    const jar = new CookieJar()
    const pidA = await get(jar, `${a.url}/login`)
    const seen = JSON.parse(await get(jar, `${b.url}/me`)) as { pid: number; session: Record<string, unknown> }
    assert.notEqual(String(seen.pid), pidA, 'the two requests went to different processes')
    assert.equal(seen.session.user, 'ann')
    // 40 overlapping writes of different keys, alternating between the processes
    await Promise.all(Array.from({ length: 40 }, (_, i) => get(jar, `${i % 2 === 0 ? a.url : b.url}/set/k${i}`)))
    const after = JSON.parse(await get(jar, `${a.url}/me`)) as { session: Record<string, unknown> }
    for (let i = 0; i < 40; i++) assert.ok(after.session[`k${i}`] !== undefined, `write k${i} was lost`)
    assert.equal(await get(jar, `${b.url}/logout`), 'out')
    assert.equal((JSON.parse(await get(jar, `${a.url}/me`)) as { session: Record<string, unknown> }).session.user, undefined)
  } finally {
    await Promise.all([stop(a), stop(b)])
  }
}

describe('two app processes on one store', { timeout: 60_000 }, async () => {
  it('SQLite file', async () => {
    await journey({ STORE: 'sqlite', SQLITE_PATH: join(dir, 'shared.db') })
  })

  const redisSkipped = await redisSkip()
  it('Redis', { skip: redisSkipped }, async () => {
    const prefix = uniqueName('tess:mp') + ':'
    try {
      await journey({ STORE: 'redis', REDIS_URL, PREFIX: prefix })
    } finally {
      const client = createClient({ url: REDIS_URL })
      await client.connect()
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await client.del(keys)
      await client.quit()
    }
  })

  const pgSkipped = await postgresSkip()
  it('PostgreSQL', { skip: pgSkipped }, async () => {
    const table = uniqueName('tess_mp').toLowerCase()
    try {
      await journey({ STORE: 'postgres', DATABASE_URL: PG_URL, TABLE: table })
    } finally {
      const pool = new pg.Pool({ connectionString: PG_URL })
      await pool.query(`DROP TABLE IF EXISTS "${table}"`)
      await pool.query(`DROP TABLE IF EXISTS "${table}_tombstones"`)
      await pool.end()
    }
  })
})
