import type { Request, RequestHandler } from 'express'
import session, { toCallbackStore, type CallbackStore, type SessionStore } from '../../src/index.ts'
import compatSession, { type StoredSessionData } from '../../src/compat.ts'
import type { SessionSummary } from './pages.ts'

/**
 * What the demo asks of its session library, written once per entry: the main entry's own API
 * (`login`, `listUserSessions`, `revokeUserSessions`), and what an express-session app has to do
 * with the compat entry's API (`regenerate`, `store.all`, `store.destroy`).
 */
export interface SessionLayer {
  readonly middleware: RequestHandler
  /** The store can find a user's sessions (without it the profile lists none and offers no revocation). */
  readonly listsSessions: boolean
  /** Starts a signed-in session for `username`, under a new id. */
  signIn(req: Request, username: string): Promise<void>
  /** Destroys the current session. */
  signOut(req: Request): Promise<void>
  /** The live sessions of `username`. */
  listSessions(req: Request, username: string): Promise<SessionSummary[]>
  /** Destroys the sessions of `username` but the current one; resolves how many. */
  revokeOtherSessions(req: Request, username: string): Promise<number>
}

export interface SessionLayerOptions {
  secret: string
  store: SessionStore
}

/** `import session from 'tessera-session'`. */
export function mainEntry({ secret, store }: SessionLayerOptions): SessionLayer {
  const handler = session({ secret, store })
  return {
    middleware: handler,
    listsSessions: typeof store.listByUser === 'function' && typeof store.destroyByUser === 'function',
    async signIn(req, username) {
      // a new id (fixation defence), recorded under the user for listUserSessions and revokeUserSessions
      await req.session.login(username)
      req.session.username = username
      req.session.signedInAt = Date.now()
    },
    signOut: (req) => req.session.destroy(),
    async listSessions(req, username) {
      const sessions = await handler.listUserSessions(username, { currentId: req.sessionID })
      return sessions.map((s) => ({ current: s.current, createdAt: s.createdAt, expiresAt: s.expiresAt }))
    },
    revokeOtherSessions: (req, username) => handler.revokeUserSessions(username, { exceptId: req.sessionID }),
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

/** `import session from 'tessera-session/compat'`, used as an express-session app would. */
export function compatEntry({ secret, store }: SessionLayerOptions): SessionLayer {
  // compat: express-session sends no SameSite attribute unless asked; resave and saveUninitialized must be given
  const middleware = compatSession({ secret, store, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax' } })
  // the store's express-session face, to list and destroy sessions as such an app does
  const callbackStore = toCallbackStore(store)

  /** The user's sessions; express-session stores keep no per-user index, so this reads every session. */
  async function sessionsOf(username: string): Promise<Array<[string, StoredSessionData]>> {
    return Object.entries(await allSessions(callbackStore)).filter(([, data]) => data.username === username)
  }

  return {
    middleware,
    listsSessions: typeof callbackStore.all === 'function',
    signIn: (req, username) =>
      new Promise((resolve, reject) => {
        // regenerate(): a new id before the privilege changes (fixation defence)
        req.session.regenerate((err) => {
          if (err) {
            reject(err)
            return
          }
          req.session.username = username
          req.session.signedInAt = Date.now()
          resolve()
        })
      }),
    signOut: (req) => new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve()))),
    async listSessions(req, username) {
      return (await sessionsOf(username)).map(([id, data]) => ({
        current: id === req.sessionID,
        createdAt: typeof data.signedInAt === 'number' ? data.signedInAt : undefined,
        // a browser-session cookie has no expiry of its own
        expiresAt: data.cookie.expires ? Date.parse(String(data.cookie.expires)) : undefined,
      }))
    },
    async revokeOtherSessions(req, username) {
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
