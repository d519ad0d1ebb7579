import { createHmac } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import session, { toCallbackStore, type CallbackStore, type SessionStore } from '../../src/index.ts'
import compatSession, { type StoredSessionData } from '../../src/compat.ts'
import type { Device } from './devices-page.ts'
import { describeUserAgent } from './user-agent.ts'

/**
 * What the demo asks of its session library, written once per entry: the main entry's own API
 * (`login`, `listUserSessions`, `revokeUserSession(s)`, `describeClient`, `clearSiteData`), and what
 * an express-session app has to do itself with the compat entry's API (`regenerate`, `store.all`,
 * `store.destroy`, its own last-seen time and client description in the session data).
 */
export interface SessionLayer {
  readonly middleware: RequestHandler[]
  /** The session cookie's name: a request that sends it but has no session was signed out meanwhile. */
  readonly cookieName: string
  /** The store can find a user's sessions (without it the devices page lists none and offers no sign-out). */
  readonly listsSessions: boolean
  /** Starts a signed-in session for `username`, under a new id. */
  signIn(req: Request, username: string): Promise<void>
  /** Destroys the current session. */
  signOut(req: Request, res: Response): Promise<void>
  /** The browsers signed in as `username`. */
  listDevices(req: Request, username: string): Promise<Device[]>
  /** Signs out one of the user's devices by its handle; resolves whether there was such a device. */
  signOutDevice(req: Request, username: string, handle: string): Promise<boolean>
  /** Signs out the user's devices but the current one; resolves how many. */
  signOutOtherDevices(req: Request, username: string): Promise<number>
}

export interface SessionLayerOptions {
  secret: string
  store: SessionStore
}

/** The main entry's cookie name, as its secure defaults choose it (`__Host-` needs HTTPS). */
const MAIN_COOKIE = process.env.NODE_ENV === 'production' ? '__Host-sid' : 'sid'

function describeClient(req: { headers: { 'user-agent'?: string | undefined } }): string | undefined {
  return describeUserAgent(req.headers['user-agent'])
}

/** `import session from 'tessera-session'`. */
export function mainEntry({ secret, store }: SessionLayerOptions): SessionLayer {
  const handler = session({
    secret,
    store,
    name: MAIN_COOKIE,
    // the client description of each sign-in, for the devices page ("Firefox on Linux", not the User-Agent)
    describeClient,
    // logout also drops the pages of this site the browser keeps in its back/forward cache (docs/security.md)
    clearSiteData: ['cache'],
  })
  return {
    middleware: [handler],
    cookieName: MAIN_COOKIE,
    listsSessions: typeof store.listByUser === 'function' && typeof store.destroyByUser === 'function',
    async signIn(req, username) {
      // a new id (fixation defence), recorded under the user for listUserSessions and revokeUserSessions
      await req.session.login(username)
      req.session.username = username
      req.session.signedInAt = Date.now()
    },
    signOut: (req) => req.session.destroy(),
    async listDevices(req, username) {
      const sessions = await handler.listUserSessions(username, { currentId: req.sessionID })
      return sessions.map((s) => ({ handle: s.handle, current: s.current, client: s.client, signedInAt: s.authTime, lastSeenAt: s.lastSeenAt }))
    },
    async signOutDevice(req, username, handle) {
      // this browser signs out with "Log out"; the form offers only the others
      const devices = await handler.listUserSessions(username, { currentId: req.sessionID })
      if (!devices.some((device) => device.handle === handle && !device.current)) return false
      return handler.revokeUserSession(username, handle)
    },
    signOutOtherDevices: (req, username) => handler.revokeUserSessions(username, { exceptId: req.sessionID }),
  }
}

/** Every stored session by id, through express-session's optional `store.all`. */
function allSessions(store: CallbackStore): Promise<Record<string, StoredSessionData>> {
  return new Promise((resolve, reject) => {
    if (typeof store.all !== 'function') {
      reject(new Error('this store cannot list its sessions (it has no all())'))
      return
    }
    store.all((err, sessions) => {
      if (err) reject(err)
      else if (Array.isArray(sessions)) reject(new Error('this store lists its sessions without their ids'))
      else resolve(sessions ?? {})
    })
  })
}

function destroySession(store: CallbackStore, id: string): Promise<void> {
  return new Promise((resolve, reject) => store.destroy(id, (err) => (err ? reject(err) : resolve())))
}

/** How often an express-session app records "last seen" in the session: each record is a write. */
const SEEN_EVERY = 60_000

/** `import session from 'tessera-session/compat'`, used as an express-session app would. */
export function compatEntry({ secret, store }: SessionLayerOptions): SessionLayer {
  // compat: express-session sends no SameSite attribute unless asked; resave and saveUninitialized must be given
  const sessions = compatSession({ secret, store, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax' } })
  // the store's express-session face, to list and destroy sessions as such an app does
  const callbackStore = toCallbackStore(store)
  // express-session has no handles: a keyed hash of the id names a session in a form without revealing it
  const handleOf = (id: string): string => createHmac('sha256', secret).update(`device|${id}`).digest('base64url').slice(0, 32)

  /** express-session keeps no "last seen": the app writes it into the session, at most every SEEN_EVERY. */
  function recordSeen(req: Request, _res: Response, next: NextFunction): void {
    const now = Date.now()
    if (req.session.username && now - (req.session.seenAt ?? 0) >= SEEN_EVERY) req.session.seenAt = now
    next()
  }

  /** The user's sessions; express-session stores keep no per-user index, so this reads every session. */
  async function sessionsOf(username: string): Promise<Array<[string, StoredSessionData]>> {
    return Object.entries(await allSessions(callbackStore)).filter(([, data]) => data.username === username)
  }

  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)

  return {
    middleware: [sessions, recordSeen],
    cookieName: 'connect.sid',
    listsSessions: typeof callbackStore.all === 'function',
    signIn: (req, username) =>
      new Promise((resolve, reject) => {
        // regenerate(): a new id before the privilege changes (fixation defence)
        req.session.regenerate((err) => {
          if (err) {
            reject(err)
            return
          }
          const now = Date.now()
          req.session.username = username
          req.session.signedInAt = now
          req.session.seenAt = now
          const client = describeClient(req)
          if (client !== undefined) req.session.client = client
          resolve()
        })
      }),
    signOut: (req, res) =>
      new Promise((resolve, reject) =>
        req.session.destroy((err) => {
          if (err) {
            reject(err)
            return
          }
          // compat: express-session's destroy() leaves the cookie in the browser; the main entry clears it
          res.clearCookie('connect.sid', { path: '/', httpOnly: true, sameSite: 'lax' })
          // what the main entry's clearSiteData option sends
          res.set('Clear-Site-Data', '"cache"')
          resolve()
        }),
      ),
    async listDevices(req, username) {
      return (await sessionsOf(username)).map(([id, data]) => ({
        handle: handleOf(id),
        current: id === req.sessionID,
        client: typeof data.client === 'string' ? data.client : undefined,
        signedInAt: number(data.signedInAt),
        lastSeenAt: number(data.seenAt),
      }))
    },
    async signOutDevice(req, username, handle) {
      const found = (await sessionsOf(username)).find(([id]) => handleOf(id) === handle && id !== req.sessionID)
      if (found === undefined) return false
      await destroySession(callbackStore, found[0])
      return true
    },
    async signOutOtherDevices(req, username) {
      let count = 0
      for (const [id] of await sessionsOf(username)) {
        if (id === req.sessionID) continue
        await destroySession(callbackStore, id)
        count++
      }
      return count
    },
  }
}
