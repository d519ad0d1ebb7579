/**
 * Recipe: moving from express-session with connect-redis to tessera-session with its RedisStore,
 * without logging anyone out. The cookie name stays `connect.sid` and the secret stays the same, so
 * express-session's cookies verify; `migrateStore` reads a session the new store does not have from
 * the old one, once, and moves it (the old copy is deleted). On that same request the session gets a
 * new id in the main entry's format. Once the old store's longest session lifetime has passed,
 * replace `migrateStore({ from, to })` with `to` alone. (connect-pg-simple → PostgresStore: the same,
 * see docs/recipes.md.)
 *
 * Run (needs Redis at REDIS_URL, default redis://127.0.0.1:6379): `npm run recipe -- store-migration`.
 * It also starts the app as it was before the move (express-session + connect-redis) on port 3001:
 * sign in there, then open port 3000 (cookies do not depend on the port) and you are still signed in.
 */
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import express from 'express'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import { createClient } from 'redis'
import session, { migrateStore } from '../../../src/index.ts'
import { RedisStore } from '../../../src/stores/redis.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    user: string
  }
}

type RedisClient = ReturnType<typeof createClient>

export interface MigrationRecipeOptions extends ExampleOptions {
  /** A connected node-redis client; the app owns it. */
  client: RedisClient
  /** connect-redis's key prefix (its default is `sess:`). */
  oldPrefix?: string
  /** The new store's key prefix (its default is `tsess:`). */
  newPrefix?: string
}

function routes(app: express.Express): express.Express {
  app.get('/', (req: express.Request, res) => {
    const user = (req.session as { user?: string } | undefined)?.user
    res.send(user ? `Signed in as ${user}.` : 'Not signed in. <a href="/login">Sign in</a>')
  })
  app.get('/login', (req, res, next) => {
    // callbacks, as an express-session app is written; the main entry takes them too
    req.session.regenerate((err) => {
      if (err) return next(err)
      ;(req.session as { user?: string }).user = 'ann'
      res.redirect('/')
    })
  })
  return app
}

/** The app before the move: express-session with connect-redis. */
export function createBeforeApp(options: MigrationRecipeOptions): express.Express {
  const expressSession = createRequire(import.meta.url)('express-session') as (o: object) => express.RequestHandler
  const app = (options.express ?? express)()
  app.use(expressSession({ secret: sessionSecret(), resave: false, saveUninitialized: false, store: new ConnectRedisStore({ client: options.client, prefix: options.oldPrefix }) }))
  return routes(app)
}

/** The app after the move: the main entry on RedisStore, reading what is left in connect-redis. */
export function createApp(options: MigrationRecipeOptions): express.Express {
  const app = (options.express ?? express)()
  const store = migrateStore({
    from: new ConnectRedisStore({ client: options.client, prefix: options.oldPrefix }),
    to: new RedisStore({ client: options.client, prefix: options.newPrefix }),
  })
  app.use(session({ secret: sessionSecret(), name: 'connect.sid', store }))
  return routes(app)
}

if (isMain(import.meta.url)) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const client: RedisClient = createClient({ url })
  client.on('error', (err: Error) => console.error(`redis: ${err.message}`))
  try {
    await client.connect()
  } catch {
    console.error(`store-migration needs Redis at ${url} (set REDIS_URL)`)
    process.exit(1)
  }
  const before = createBeforeApp({ client }).listen(Number(process.env.BEFORE_PORT ?? 3001), '127.0.0.1', () => {
    const server = createApp({ client }).listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      console.log(`store-migration recipe listening on http://127.0.0.1:${port} (before the move: http://127.0.0.1:${(before.address() as AddressInfo).port})`)
    })
  })
}
