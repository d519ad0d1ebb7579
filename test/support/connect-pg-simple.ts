/**
 * connect-pg-simple, the express-session store on PostgreSQL, as the tests build it: each store in a
 * schema of its own, because connect-pg-simple names its primary key constraint "session_pkey" and
 * two of its tables cannot share a schema. The table is made on first use; nothing is pruned.
 */
import { after, before } from 'node:test'
import { createRequire } from 'node:module'
import pg from 'pg'
import { PG_URL, uniqueName } from './services.ts'

/** A connect-pg-simple store (an express-session store: callbacks, `touch`). */
export type PgSimpleStore = object & { touch?: unknown }

const require = createRequire(import.meta.url)
const connectPgSimple = require('connect-pg-simple') as (session: unknown) => new (options: object) => PgSimpleStore

/** A fresh schema, and how to open connect-pg-simple stores on it. */
export interface PgSimpleSchema {
  schemaName: string
  /** A store on the schema's `session` table, extending the Store of `session` (express-session, or either of our entries). */
  newStore(): PgSimpleStore
}

/** A pool and the schemas made on it, for one describe block: `open()` before, `close()` after (it drops them). */
export class PgSimpleSchemas {
  #pool: pg.Pool | undefined
  readonly #schemas: string[] = []
  readonly #name: string

  /** `name`: the schema names' prefix (made unique per schema). */
  constructor(name: string) {
    this.#name = name
  }

  get pool(): pg.Pool {
    if (this.#pool === undefined) throw new Error('PgSimpleSchemas: open() first')
    return this.#pool
  }

  open(max = 4): void {
    this.#pool = new pg.Pool({ connectionString: PG_URL, max })
  }

  async create(session: unknown): Promise<PgSimpleSchema> {
    const pool = this.pool
    const schemaName = uniqueName(this.#name).toLowerCase()
    this.#schemas.push(schemaName)
    await pool.query(`CREATE SCHEMA "${schemaName}"`)
    const PgStore = connectPgSimple(session)
    return { schemaName, newStore: () => new PgStore({ pool, schemaName, createTableIfMissing: true, pruneSessionInterval: false }) }
  }

  async close(): Promise<void> {
    const pool = this.#pool
    if (pool === undefined) return
    this.#pool = undefined
    for (const schema of this.#schemas.splice(0)) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  }
}

/** Schemas for the describe block this is called in: the pool opens before its tests (unless `skip`), and closes after, dropping them. */
export function pgSimpleSchemas(name: string, skip: string | false): PgSimpleSchemas {
  const schemas = new PgSimpleSchemas(name)
  before(() => {
    if (!skip) schemas.open()
  })
  after(() => schemas.close())
  return schemas
}
