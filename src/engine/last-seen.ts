import type { SessionMeta } from '../stores/contract.ts'

/**
 * When a session was last used, read from its stored expiry: every write or slide sets the expiry to
 * "then + the idle window", so the expiry minus that window is the time of the last one. Reads slide
 * at most every `touchAfter`, so the answer is that fresh. Capped by the absolute deadline, the expiry
 * no longer moves: in that last window the answer is the deadline minus the window, a lower bound.
 * Never before the session's creation, never after `now`; undefined without the engine's metadata.
 */
export function lastSeenAt(expiresAt: number, meta: SessionMeta | null, idleTimeout: number, now: number): number | undefined {
  if (meta === null) return undefined
  const window = meta.cookieMaxAge ?? idleTimeout
  return Math.min(now, Math.max(meta.createdAt, expiresAt - window))
}
