/**
 * Recipe: Passport (0.6 and later) with passport-local on the main entry. Passport calls
 * `req.session.regenerate(callback)` and `req.session.save(callback)` itself, on login and on
 * logout; the main entry's session methods take callbacks as express-session's do.
 *
 * Run: `npm run recipe -- passport`, then sign in at http://127.0.0.1:3000/login as ann / wonderland.
 */
import { scryptSync, timingSafeEqual, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import session from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

interface User {
  id: string
  username: string
  /** scrypt of the password with `salt`. */
  hash: Buffer
  salt: Buffer
}

function hashPassword(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, 32)
}

function makeUser(id: string, username: string, password: string): User {
  const salt = randomBytes(16)
  return { id, username, salt, hash: hashPassword(password, salt) }
}

const USERS = [makeUser('1', 'ann', 'wonderland'), makeUser('2', 'bob', 'builder')]

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // what deserializeUser puts on req.user
    interface User {
      id: string
      username: string
    }
  }
}

/** The example's Express app, with its own Passport instance; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  const auth = new passport.Passport()
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((u) => u.username === username)
      // the same work whether or not the user exists, so timing does not tell which names exist
      const hash = hashPassword(password, user?.salt ?? randomBytes(16))
      if (!user || !timingSafeEqual(hash, user.hash)) return done(null, false, { message: 'Wrong username or password.' })
      return done(null, { id: user.id, username: user.username })
    }),
  )
  // the session holds the user's id only; the rest is read on each request
  auth.serializeUser((user, done) => done(null, user.id))
  auth.deserializeUser((id: string, done) => {
    const user = USERS.find((u) => u.id === id)
    done(null, user ? { id: user.id, username: user.username } : false)
  })

  app.use(session({ secret: sessionSecret() }))
  app.use(auth.session())
  app.use(express.urlencoded({ extended: false }))

  app.get('/', (req, res) => {
    res.send(req.user ? `Signed in as ${req.user.username}. <form method="post" action="/logout"><button>Sign out</button></form>` : '<a href="/login">Sign in</a>')
  })
  app.get('/login', (req, res) => {
    // failureMessage: Passport keeps the strategy's message in req.session.messages
    const messages = (req.session.messages as string[] | undefined) ?? []
    if (messages.length > 0) req.session.messages = []
    res.send(
      `${messages.length > 0 ? `<p>${messages.at(-1)}</p>` : ''}<form method="post" action="/login">` +
        '<input name="username" placeholder="ann"> <input name="password" type="password" placeholder="wonderland"> <button>Sign in</button></form>',
    )
  })
  // Passport regenerates the session (a new id: session fixation defence), stores the user's id, saves, then redirects
  app.post('/login', auth.authenticate('local', { successRedirect: '/profile', failureRedirect: '/login', failureMessage: true }))
  app.get('/profile', (req, res) => {
    if (!req.user) {
      res.status(401).send('Please sign in first.')
      return
    }
    res.send(`Hello, ${req.user.username}!`)
  })
  // Passport clears the user, saves, then regenerates: the old session id no longer names a signed-in user
  app.post('/logout', (req: Request, res: Response, next: NextFunction) => {
    req.logout((err) => (err ? next(err) : res.redirect('/')))
  })
  return app
}

if (isMain(import.meta.url)) {
  const server = createApp().listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`passport recipe listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
}
