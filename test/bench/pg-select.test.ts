/**
 * The bare-pg-select reference contender on the real PostgreSQL: it creates and fills its table,
 * answers each request after one primary-key SELECT, and fails a request whose row is missing.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import type { RequestHandler } from 'express'
import { contenderById } from '../../bench/contenders.ts'
import { openSessionLayer } from '../../bench/session-layer.ts'
import { PG_URL, postgresSkip, uniqueName } from '../support/services.ts'

const skip = await postgresSkip()
const admin = skip === false ? new pg.Pool({ connectionString: PG_URL, max: 2 }) : undefined
after(() => admin?.end())

function call(middleware: RequestHandler): Promise<unknown> {
  return new Promise((resolve) => middleware({} as never, {} as never, resolve))
}

describe('bare-pg-select', { skip }, () => {
  it('fills its table and answers each request after one SELECT of a row by primary key', async () => {
    const table = uniqueName('bench_pg_select')
    const at = { redisUrl: '', databaseUrl: PG_URL, prefix: '', table, sqlitePath: '' }
    const layer = await openSessionLayer(contenderById('bare-pg-select'), at)
    try {
      const middleware = layer.middleware as RequestHandler
      const { rows } = await (admin as pg.Pool).query(`SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM "${table}"`)
      assert.deepEqual(rows[0], { n: 1000, lo: 1, hi: 1000 })
      for (let i = 0; i < 5; i++) assert.equal(await call(middleware), undefined)
      await (admin as pg.Pool).query(`DELETE FROM "${table}"`)
      assert.match(String(await call(middleware)), /no row/)
    } finally {
      await layer.close()
      await (admin as pg.Pool).query(`DROP TABLE IF EXISTS "${table}"`)
    }
  })
})
