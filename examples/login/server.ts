/**
 * Log in, see a profile, log out: the smallest authentication flow, with a new session id at login
 * (session fixation defence) and the session destroyed at logout.
 *
 * Run: `npm run example -- login` (add `--compat` for the express-session API), then open
 * http://127.0.0.1:3000/login, /profile and /logout.
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../src/index.ts'
import compatSession from '../../src/compat.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../setup.ts'
export type { ExampleOptions }

declare module '../../src/index.ts' {
  interface SessionData {
    username: string
  }
}

// Express 4 does not catch a rejected promise: each async handler passes its error to next itself

/** Main entry: every session method returns a Promise. */
async function logIn(req: Request, res: Response, next: NextFunction): Promise<void> {
  try {
    // a new id before the privilege changes, so an id planted in the browser beforehand is worth nothing
    await req.session.regenerate()
    req.session.username = 'JohnDoe'
    res.send('Logged in successfully!')
  } catch (err) {
    next(err)
  }
}

async function logOut(req: Request, res: Response, next: NextFunction): Promise<void> {
  try {
    await req.session.destroy()
    res.send('Logged out successfully!')
  } catch (err) {
    next(err)
  }
}

/** Compat entry: the same flow written as express-session apps are, with callbacks. */
function logInWithCallback(req: Request, res: Response, next: NextFunction): void {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.username = 'JohnDoe'
    res.send('Logged in successfully!')
  })
}

function logOutWithCallback(req: Request, res: Response, next: NextFunction): void {
  req.session.destroy((err) => {
    if (err) return next(err)
    res.send('Logged out successfully!')
  })
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  const secret = sessionSecret()
  const compat = options.compat === true
  // compat: express-session apps must pass resave and saveUninitialized (the main entry defaults both to false)
  app.use(compat ? compatSession({ secret, resave: false, saveUninitialized: false }) : session({ secret }))

  app.get('/login', compat ? logInWithCallback : logIn)
  app.get('/profile', (req, res) => {
    if (!req.session.username) {
      res.status(401).send('Please log in first.')
      return
    }
    res.send(`Welcome, ${req.session.username}!`)
  })
  app.get('/logout', compat ? logOutWithCallback : logOut)
  return app
}

if (isMain(import.meta.url)) {
  const compat = process.argv.includes('--compat')
  const server = createApp({ compat }).listen(Number(process.env.PORT || 3000), '127.0.0.1', (error) => {
    if (error) throw error
    const { port } = server.address() as AddressInfo
    console.log(`login example (${compat ? 'compat' : 'main'} entry) listening on http://127.0.0.1:${port}`)
  })
}
