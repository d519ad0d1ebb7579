/**
 * The "typical small session" of the scale measurements, as each store receives it: from the main
 * entry (data, engine metadata, owner, expiry, under a hashed store key) and from express-session
 * (one object with its cookie, under a 32-character id).
 */
import { createHash, randomBytes } from 'node:crypto'
import { storeKeyOf } from '../../src/engine/engine.ts'
import type { NewSession } from '../../src/stores/contract.ts'

const MINUTE = 60_000
export const IDLE = 30 * MINUTE
export const ABSOLUTE = 12 * 60 * MINUTE

export function userOf(i: number): string {
  return `user-${String(i).padStart(6, '0')}`
}

/** A signed-in user's session: who, a role, a CSRF token. */
export function typicalData(i: number): Record<string, unknown> {
  return { user: userOf(i), roles: ['member'], csrf: randomBytes(16).toString('base64url') }
}

/** What the main entry's engine hands a store when `login(user)` created the session. */
export function typicalNewSession(i: number, now = Date.now()): NewSession {
  return {
    data: typicalData(i),
    meta: { createdAt: now, absoluteExpiresAt: now + ABSOLUTE, idleTimeout: IDLE, authTime: now },
    userId: userOf(i),
    expiresAt: now + IDLE,
  }
}

/** The store key of a session `login()` issued: the engine's hash of a random id (the user is not part of it). */
export function loginStoreKey(): string {
  return storeKeyOf(randomBytes(32).toString('base64url'))
}

/** What express-session stores for the same session (its default cookie: a browser-session cookie). */
export function typicalLegacySession(i: number): Record<string, unknown> {
  return { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, ...typicalData(i) }
}

export function legacyId(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * Store keys of bulk-inserted sessions, computable from the row number on both sides (SQL, Lua and
 * here): 51 characters like the engine's keys, spread over the key space like them.
 */
export function bulkKey(i: number, hash: 'md5' | 'sha1'): string {
  const h = createHash(hash).update(`k${i}`).digest('hex')
  return hash === 'md5' ? h + h.slice(0, 19) : h.slice(0, 8) + h + h.slice(0, 3)
}

/** The hash tag of a user's index in RedisStore (src/stores/redis.ts). */
export function userHash(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, 8)
}
