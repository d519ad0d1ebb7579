import { InvalidOptionError } from './errors.ts'
import { taggedStoreKeyOf, type Engine } from './engine/engine.ts'
import { lastSeenAt } from './engine/expiry.ts'
import type { UserSessionInfo } from './stores/contract.ts'

/** One of a user's sessions, as `listUserSessions` lists it. */
export interface UserSession {
  /** Opaque, stable for the session's id; for `revokeUserSession`. */
  handle: string
  /** Whether it is the session whose id was given as `currentId`. */
  current: boolean
  /** Epoch ms it expires unless used. */
  expiresAt: number
  /** Epoch ms it was created (or signed in). */
  createdAt: number | undefined
  /** Epoch ms of the sign-in, for `login()` sessions. */
  authTime: number | undefined
  /**
   * Epoch ms the session was last used, as fresh as its expiry slides: within `touchAfter` of the last
   * request (requests marked `readOnly` do not count). Undefined for a record without our metadata.
   */
  lastSeenAt: number | undefined
  /** What the `describeClient` option said of the client at sign-in; undefined when it is off or said nothing. */
  client: string | undefined
}

/** The per-user operations of a `session()` middleware. */
export interface UserSessions {
  /**
   * The live sessions of a user (those signed in with `req.session.login(userId)`). Each has an
   * opaque `handle` (not its id: ids never leave the cookie) for `revokeUserSession`; pass the
   * current request's `req.sessionID` as `currentId` to have that one marked `current`.
   */
  listUserSessions(userId: string, options?: { currentId?: string }): Promise<UserSession[]>
  /** Destroys every session of a user, but `exceptId` (e.g. `req.sessionID`); resolves how many. */
  revokeUserSessions(userId: string, options?: { exceptId?: string }): Promise<number>
  /** Destroys one session of a user by the `handle` `listUserSessions` gave; resolves whether it was that user's. */
  revokeUserSession(userId: string, handle: string): Promise<boolean>
}

/**
 * List and revoke by user, over the store's per-user index. Whether the store keeps one is checked
 * here, once: without it the operations reject with `InvalidOptionError` naming the missing method.
 */
export function userSessions(engine: Engine): UserSessions {
  const store = engine.store
  const lists = typeof store.listByUser === 'function'
  const revokes = typeof store.destroyByUser === 'function'
  const listByUser = (userId: string): Promise<UserSessionInfo[]> => {
    if (!lists) return Promise.reject(new InvalidOptionError('store', 'does not keep a per-user index (listByUser)'))
    return engine.call('listByUser', (s) => (s.listByUser as (u: string) => Promise<UserSessionInfo[]>)(userId))
  }
  return {
    async listUserSessions(userId, listOptions) {
      const currentId = listOptions?.currentId
      // the current session may still be under its tagged key (stored before ids were fully random)
      const currentKeys = currentId === undefined ? [] : [engine.storeKey(currentId), taggedStoreKeyOf(currentId)]
      const sessions = await listByUser(userId)
      const now = Date.now()
      // a record a renewal replaced is still listed during its grace period: not a session of its own
      return sessions
        .filter((info) => info.meta?.retiredAt === undefined)
        .map((info) => ({
          handle: info.id,
          current: currentKeys.includes(info.id),
          expiresAt: info.expiresAt,
          createdAt: info.meta?.createdAt,
          authTime: info.meta?.authTime,
          lastSeenAt: lastSeenAt(info.expiresAt, info.meta, engine.policy.idleTimeout, now),
          client: info.meta?.client,
        }))
    },
    async revokeUserSessions(userId, revokeOptions) {
      if (!revokes) throw new InvalidOptionError('store', 'does not keep a per-user index (destroyByUser)')
      const exceptKey = revokeOptions?.exceptId === undefined ? undefined : await engine.heldKey(revokeOptions.exceptId)
      return engine.call('destroyByUser', (s) => (s.destroyByUser as (u: string, e?: string) => Promise<number>)(userId, exceptKey))
    },
    async revokeUserSession(userId, handle) {
      // only a handle of this user's: a handle from elsewhere must not destroy another user's session
      const sessions = await listByUser(userId)
      if (!sessions.some((info) => info.id === handle)) return false
      await engine.call('destroy', (s) => s.destroy(handle))
      return true
    },
  }
}
