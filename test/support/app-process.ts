/**
 * An app process for the multi-process tests: the main entry on the store named by STORE
 * (sqlite | redis | postgres), listening on 127.0.0.1:0; prints `listening <port>` when ready.
 */
import express from 'express'
import session from '../../src/index.ts'
import type { SessionStore } from '../../src/stores/contract.ts'

async function openStore(): Promise<{ store: SessionStore; close: () => Promise<void> }> {
  const kind = process.env.STORE
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
  throw new Error(`unknown STORE ${kind}`)
}

const { store, close } = await openStore()
const app = express()
app.use(session({ secret: 'a multi-process test secret, long enough', store }))
app.get('/login', async (req, res) => {
  await req.session.login('ann')
  req.session.user = 'ann'
  res.send(`${process.pid}`)
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
