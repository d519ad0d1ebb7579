/**
 * Cookie values this middleware verified before, and what they gave, so that a returning value skips
 * the HMAC (and the store-key hash). Only values that verified are kept: input that fails costs its
 * HMAC every time and can never fill the cache. Bounded; the oldest entry goes first. A hit returns
 * the very result a full verification of the same string would, since the string includes its MAC.
 */
export class VerifiedCookies<T> {
  readonly #entries = new Map<string, T>()
  readonly #max: number

  constructor(max = 10_000) {
    this.#max = max
  }

  get(value: string): T | undefined {
    return this.#entries.get(value)
  }

  set(value: string, result: T): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(value, result)
  }
}

/**
 * What the main entry remembers of a cookie value it verified or issued. Requests get copies
 * (`readPresented`), never the entry itself; only `rememberExpiry` changes an entry.
 */
export interface KnownCookie {
  readonly id: string
  /** Signed by a retired secret or in express-session's format: re-issue the cookie (R4). */
  readonly reissue: boolean
  /** `legacy`: an express-session cookie, whose session is stored under the raw id. */
  readonly format: 'v1' | 'legacy'
  /** The key the session is stored under, computed once per value (or found by a read: see `rememberKey`). */
  key: string
  /**
   * The session's server expiry as this process last saw or wrote it: while it is later than the
   * slide threshold, a read need not ask the store to slide (a plain read is cheaper, for Redis no
   * script). Only a hint: the store decides, and the end of the response touches if it was wrong.
   */
  expiresAt: number | undefined
}

/** Records the expiry a read or write just gave the session the cookie `value` names: the next read's slide hint. */
export function rememberExpiry(cache: VerifiedCookies<KnownCookie>, value: string, expiresAt: number): void {
  const known = cache.get(value)
  if (known !== undefined) known.expiresAt = expiresAt
}

/** Records the key a read found the session of the cookie `value` under (a session stored by an earlier version). */
export function rememberKey(cache: VerifiedCookies<KnownCookie>, value: string, key: string): void {
  const known = cache.get(value)
  if (known !== undefined) known.key = key
}
