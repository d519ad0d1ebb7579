/**
 * Recipe: two apps on one domain (a shop at /shop and its admin at /admin), each with its own
 * session. Two cookies of the same name and path would overwrite each other, so each app has its
 * own cookie name and path: the browser sends each cookie only under its path, and each middleware
 * reads only its own name. Separate secrets and stores keep a shop session from ever opening the admin.
 *
 * Run: `npm run recipe -- two-apps`, then open http://127.0.0.1:3000/shop and /admin.
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session, { MemoryStore } from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    cart: string[]
    admin: string
  }
}

function shop(expressModule: typeof express): express.Router {
  const router = expressModule.Router()
  router.use(session({ secret: sessionSecret(), name: 'shop.sid', cookie: { path: '/shop' }, store: new MemoryStore() }))
  router.get('/', (req, res) => res.json({ app: 'shop', cart: req.session.cart ?? [], admin: req.session.admin ?? null }))
  router.post('/cart/:item', (req, res) => {
    req.session.cart = [...(req.session.cart ?? []), req.params.item]
    res.json(req.session.cart)
  })
  return router
}

function admin(expressModule: typeof express): express.Router {
  const router = expressModule.Router()
  // a secret of its own: a value signed for the shop's cookie can never open an admin session
  const secret = `${sessionSecret()} (admin)`
  router.use(session({ secret, name: 'admin.sid', cookie: { path: '/admin' }, store: new MemoryStore(), idleTimeout: 10 * 60_000 }))
  router.get('/', (req, res) => res.json({ app: 'admin', admin: req.session.admin ?? null, cart: req.session.cart ?? null }))
  router.post('/login', async (req: Request, res: Response, next: NextFunction) => {
    try {
      await req.session.login('root')
      req.session.admin = 'root'
      res.json({ admin: 'root' })
    } catch (err) {
      next(err)
    }
  })
  return router
}

/** Both apps in one Express app, as a reverse proxy routing /shop and /admin would see them. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const expressModule = options.express ?? express
  const app = expressModule()
  app.use('/shop', shop(expressModule))
  app.use('/admin', admin(expressModule))
  return app
}

if (isMain(import.meta.url)) {
  const server = createApp().listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`two-apps recipe listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
}
