/**
 * The tessera-session demo: a small site with a login form, a profile, "Your devices" (every browser
 * signed in as the user, signing one or all others out) and logout. No framework: template literals,
 * escaped; one inline style and one inline script, allowed by their hashes.
 *
 * Run: `npm start` (or `npm run example -- demo`; add `--compat` for the express-session API), then
 * open http://127.0.0.1:3000 and log in with any user name and the password `demo`. Sessions are kept
 * in `demo-sessions.sqlite` (or the file `SESSION_DB` names), so they survive a restart.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import type { SessionStore } from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { isMain, sessionSecret } from '../setup.ts'
import { devicesPage } from './devices-page.ts'
import { CONTENT_SECURITY_POLICY } from './layout.ts'
import { homePage, loginPage, profilePage } from './pages.ts'
import { compatEntry, mainEntry, type SessionLayer } from './session-layer.ts'

declare module '../../src/index.ts' {
  interface SessionData {
    username: string
    /** Epoch ms of the sign-in that created the session. */
    signedInAt: number
    visits: number
    /** compat entry only: what the app records itself (the main entry's listing has them). */
    seenAt: number
    client: string
  }
}

export interface DemoOptions {
  /** Use the compat entry (express-session's API, `tessera-session/compat`). Default false. */
  compat?: boolean
  /** The Express module to build the app with. Default Express 5. */
  express?: typeof express
  /** The session store. Default `createStore()`. */
  store?: SessionStore
}

const DEMO_PASSWORD_DIGEST = createHash('sha256').update('demo').digest()
const MAX_USERNAME_LENGTH = 64

/** Where sessions live: a SQLite file, so they survive a restart of the demo. */
export function createStore(path = process.env.SESSION_DB ?? 'demo-sessions.sqlite'): SessionStore {
  return new SqliteStore({ path })
}

/** The demo's one credential check: any user name, the password "demo". */
function isDemoPassword(password: string): boolean {
  // digests have one length, so the comparison takes the same time however much of the password matched
  return timingSafeEqual(createHash('sha256').update(password).digest(), DEMO_PASSWORD_DIGEST)
}

/** Sec-Fetch-Site, or else Origin, says another site sent this request (a cross-site form post). */
function isCrossOrigin(req: Request): boolean {
  const site = req.get('sec-fetch-site')
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  const origin = req.get('origin')
  // no Origin: not a browser, or an old one, for which the SameSite=Lax cookie is the defence
  if (origin === undefined) return false
  return !URL.canParse(origin) || new URL(origin).host !== req.get('host')
}

/** State changes are POSTs; a POST another site sent is refused (defence in depth on top of SameSite=Lax). */
function refuseCrossOrigin(req: Request, res: Response, next: NextFunction): void {
  if (isCrossOrigin(req)) {
    res.status(403).type('text').send('Cross-origin request refused.')
    return
  }
  next()
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  })
  next()
}

/** Whether the request sent `name` among its cookies. */
function sentCookie(req: Request, name: string): boolean {
  return (req.get('cookie') ?? '').split(';').some((pair) => pair.trim().startsWith(`${name}=`))
}

/**
 * The signed-in user, or undefined after sending the browser to the login form: with a word of why
 * when it still sent a session cookie (its session was signed out from another device, or expired).
 */
function signedInUser(layer: SessionLayer, req: Request, res: Response): string | undefined {
  const username = req.session.username
  if (username) return username
  if (sentCookie(req, layer.cookieName)) {
    // the cookie names no session any more: dropped, so that the notice is given once
    res.clearCookie(layer.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: layer.cookieName.startsWith('__Host-') })
    res.redirect(303, '/login?ended=1')
  } else {
    res.redirect(303, '/login')
  }
  return undefined
}

/** A count from the query string (`?signed-out=2`), or undefined. */
function countParameter(value: unknown): number | undefined {
  return typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : undefined
}

/** The demo's Express app; `listen` is left to the caller. */
export function createApp(options: DemoOptions = {}): express.Express {
  const host = options.express ?? express
  const app = host()
  const sessions = (options.compat ? compatEntry : mainEntry)({ secret: sessionSecret(), store: options.store ?? createStore() })
  const form = host.urlencoded({ extended: false, limit: '2kb', parameterLimit: 10 })

  app.disable('x-powered-by')
  app.use(securityHeaders)
  app.use(sessions.middleware)

  app.get('/', (req, res) => {
    res.send(homePage(req.session.username))
  })

  app.get('/login', (req, res) => {
    if (req.session.username) res.redirect('/devices')
    else res.send(loginPage({ reason: req.query.ended === '1' ? 'ended' : undefined }))
  })

  // Express 4 does not catch a rejected promise: each async handler passes its error to next itself
  app.post('/login', refuseCrossOrigin, form, async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>
      const username = typeof body.username === 'string' ? body.username.trim() : ''
      const password = typeof body.password === 'string' ? body.password : ''
      if (username.length === 0 || username.length > MAX_USERNAME_LENGTH) {
        res.status(400).send(loginPage({ username, error: `Enter a user name of 1 to ${MAX_USERNAME_LENGTH} characters.` }))
        return
      }
      if (!isDemoPassword(password)) {
        res.status(401).send(loginPage({ username, error: 'Wrong password (it is "demo").' }))
        return
      }
      await sessions.signIn(req, username)
      res.redirect(303, '/devices')
    } catch (err) {
      next(err)
    }
  })

  app.get('/profile', (req, res) => {
    const username = signedInUser(sessions, req, res)
    if (username === undefined) return
    req.session.visits = (req.session.visits ?? 0) + 1
    // a page about one user must not be kept by a shared cache
    res.set('Cache-Control', 'no-store')
    res.send(profilePage({ username, signedInAt: req.session.signedInAt, visits: req.session.visits, now: Date.now() }))
  })

  app.get('/devices', async (req, res, next) => {
    try {
      const username = signedInUser(sessions, req, res)
      if (username === undefined) return
      const devices = sessions.listsSessions ? await sessions.listDevices(req, username) : undefined
      res.set('Cache-Control', 'no-store')
      res.send(devicesPage({ username, devices, signedOut: countParameter(req.query['signed-out']), now: Date.now() }))
    } catch (err) {
      next(err)
    }
  })

  app.post('/devices/sign-out', refuseCrossOrigin, form, async (req, res, next) => {
    try {
      const username = signedInUser(sessions, req, res)
      if (username === undefined) return
      if (!sessions.listsSessions) {
        res.status(501).type('text').send("This session store cannot find a user's sessions.")
        return
      }
      const handle = (req.body as Record<string, unknown> | undefined)?.device
      const signedOut = typeof handle === 'string' && handle.length <= 128 && (await sessions.signOutDevice(req, username, handle))
      res.redirect(303, signedOut ? '/devices?signed-out=1' : '/devices')
    } catch (err) {
      next(err)
    }
  })

  app.post('/devices/sign-out-others', refuseCrossOrigin, async (req, res, next) => {
    try {
      const username = signedInUser(sessions, req, res)
      if (username === undefined) return
      if (!sessions.listsSessions) {
        res.status(501).type('text').send("This session store cannot find a user's sessions.")
        return
      }
      const count = await sessions.signOutOtherDevices(req, username)
      res.redirect(303, `/devices?signed-out=${count}`)
    } catch (err) {
      next(err)
    }
  })

  app.post('/logout', refuseCrossOrigin, async (req, res, next) => {
    try {
      await sessions.signOut(req, res)
      res.redirect(303, '/')
    } catch (err) {
      next(err)
    }
  })
  return app
}

if (isMain(import.meta.url)) {
  const compat = process.argv.includes('--compat')
  if (compat) console.log('tessera-session demo: compat entry (the express-session API)')
  const server = createApp({ compat }).listen(Number(process.env.PORT || 3000), '127.0.0.1', (error) => {
    if (error) throw error
    const { port } = server.address() as AddressInfo
    console.log(`tessera-session demo listening on http://127.0.0.1:${port}`)
  })
}
