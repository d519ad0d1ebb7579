/**
 * Recipe: "remember me". Without it, the session cookie is a browser-session cookie and the session
 * ends after 30 idle minutes; with it, the cookie is persistent and the session lives 30 days from
 * its last use: `req.session.cookie.maxAge` in the handler gives that one session its own lifetime,
 * and the cookie's expiry always equals the server's. `absoluteTimeout` caps every session, so it
 * is raised to 30 days (left at 12 h, the remembered session would end after 12 h, and the
 * TESSERA_MAXAGE_OVER_ABSOLUTE diagnostic says so).
 *
 * Run: `npm run recipe -- remember-me`, then open http://127.0.0.1:3000.
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    username: string
  }
}

export const REMEMBER_FOR = 30 * 24 * 60 * 60_000

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  app.use(session({ secret: sessionSecret(), idleTimeout: 30 * 60_000, absoluteTimeout: REMEMBER_FOR }))
  app.use(express.urlencoded({ extended: false }))

  app.get('/', (req, res) => {
    if (req.session.username) {
      res.send(`Hello, ${req.session.username}. <form method="post" action="/logout"><button>Sign out</button></form>`)
      return
    }
    res.send('<form method="post" action="/login"><input name="username" value="ann"> <label><input type="checkbox" name="remember" value="1"> Remember me</label> <button>Sign in</button></form>')
  })

  app.post('/login', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { username, remember } = req.body as Record<string, string | undefined>
      if (!username) {
        res.status(400).send('username required')
        return
      }
      // (check the password here) then a new id for the signed-in session
      await req.session.login(username)
      req.session.username = username
      // a persistent cookie for this session only; the others stay browser-session cookies
      if (remember === '1') req.session.cookie.maxAge = REMEMBER_FOR
      res.redirect('/')
    } catch (err) {
      next(err)
    }
  })

  app.post('/logout', async (req: Request, res: Response, next: NextFunction) => {
    try {
      await req.session.destroy()
      res.redirect('/')
    } catch (err) {
      next(err)
    }
  })
  return app
}

if (isMain(import.meta.url)) {
  const server = createApp().listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`remember-me recipe listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
}
