/**
 * An app process for the multi-process tests: the main entry on the store named by STORE
 * (memory | sqlite | redis | postgres, or the express-session stores connect-redis | connect-pg-simple),
 * listening on 127.0.0.1:0; prints `listening <port>` when ready. SECRET is the secret, NAME the
 * cookie name, RENEW_AFTER the `renewAfter` option. Started by `startApp` (spawn-app.ts).
 */
import { createRequire } from 'node:module'
import express from 'express'
import session, { type SessionOptions } from '../../src/index.ts'

async function openStore(): Promise<{ store: SessionOptions['store']; close: () => Promise<void> }> {
  const kind = process.env.STORE
  if (kind === 'memory') {
    const { MemoryStore } = await import('../../src/stores/memory.ts')
    const store = new MemoryStore()
    return { store, close: () => store.close() }
  }
  if (kind === 'sqlite') {
    const { SqliteStore } = await import('../../src/stores/sqlite.ts')
    const store = new SqliteStore({ path: process.env.SQLITE_PATH as string, pruneInterval: false })
    return { store, close: () => store.close() }
  }
  if (kind === 'redis') {
    const { createClient } = await import('redis')
    const { RedisStore } = await import('../../src/stores/redis.ts')
    const client = createClient({ url: process.env.REDIS_URL })
    await client.connect()
    const store = new RedisStore({ client, prefix: process.env.PREFIX })
    return { store, close: async () => void (await client.quit()) }
  }
  if (kind === 'postgres') {
    const { default: pg } = await import('pg')
    const { PostgresStore } = await import('../../src/stores/postgres.ts')
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
    const store = new PostgresStore({ pool, tableName: process.env.TABLE, pruneInterval: false })
    return { store, close: async () => pool.end() }
  }
  if (kind === 'connect-redis') {
    const { createClient } = await import('redis')
    const { RedisStore: ConnectRedis } = await import('connect-redis')
    const client = createClient({ url: process.env.REDIS_URL })
    await client.connect()
    return { store: new ConnectRedis({ client, prefix: process.env.PREFIX }) as never, close: async () => void (await client.quit()) }
  }
  if (kind === 'connect-pg-simple') {
    const { default: pg } = await import('pg')
    const connectPgSimple = createRequire(import.meta.url)('connect-pg-simple') as (s: unknown) => new (options: object) => object
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
    const PgStore = connectPgSimple(session)
    const store = new PgStore({ pool, schemaName: process.env.SCHEMA, pruneSessionInterval: false })
    return { store: store as never, close: async () => pool.end() }
  }
  throw new Error(`unknown STORE ${kind}`)
}

const { store, close } = await openStore()
const app = express()
const renewAfter = process.env.RENEW_AFTER === undefined ? undefined : Number(process.env.RENEW_AFTER)
const sessions = session({ secret: process.env.SECRET as string, store, name: process.env.NAME, renewAfter })
app.use(sessions)
app.get('/login', async (req, res) => {
  const user = typeof req.query.user === 'string' ? req.query.user : 'ann'
  await req.session.login(user)
  req.session.user = user
  res.send(`${process.pid}`)
})
app.get('/sessions/:user', async (req, res) => {
  res.json((await sessions.listUserSessions(req.params.user)).map((s) => s.handle))
})
app.get('/me', (req, res) => res.json({ pid: process.pid, session: req.session ? { ...req.session, cookie: undefined } : null }))
app.get('/set/:key', async (req, res) => {
  // overlap: wait before the response so writes from both processes interleave
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20))
  req.session[req.params.key] = process.pid
  res.send('ok')
})
app.get('/logout', async (req, res) => {
  await req.session.destroy()
  res.send('out')
})
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`)
})
process.on('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  close().finally(() => process.exit(0))
})
