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
