import { createHmac, timingSafeEqual, type BinaryLike, type KeyObject } from 'node:crypto'

/** What `crypto.createHmac` accepts as a key; express-session passes secrets through unchecked. */
export type Secret = BinaryLike | KeyObject

/** Ids the main entry issues and accepts: base64url, 22 to 128 characters (R1). */
const ID_PATTERN = /^[A-Za-z0-9_-]{22,128}$/
const V1_PREFIX = 'v1.'
const MAC_LENGTH = 43 // base64url of 32 bytes, no padding

/**
 * express-session's signature (cookie-signature 1.0.x): `<value>.<base64 HMAC-SHA256 without '='>`.
 * Throws as cookie-signature does when the secret is null or undefined.
 */
export function signLegacy(value: string, secret: Secret): string {
  if (secret == null) throw new TypeError('Secret key must be provided.')
  return value + '.' + createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')
}

/**
 * Verifies `<value>.<mac>` against each secret in order; returns the value, and the index of the
 * secret that verified, or undefined. The value is everything before the last `.`, as cookie-signature reads it.
 */
export function unsignLegacy(input: string, secrets: readonly Secret[]): { value: string; secretIndex: number } | undefined {
  const value = input.slice(0, input.lastIndexOf('.'))
  const given = Buffer.from(input)
  for (let i = 0; i < secrets.length; i++) {
    // compat: equal to cookie-signature's sha1-of-both comparison, but constant-time on equal lengths
    const expected = Buffer.from(signLegacy(value, secrets[i] as Secret))
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      return { value, secretIndex: i }
    }
  }
  return undefined
}

function macV1(secret: Secret, cookieName: string, id: string): string {
  // R3: the MAC binds the format version and the cookie name, so a value signed for another
  // cookie or by cookie-parser with the same secret never verifies as a session id.
  return createHmac('sha256', secret).update(`v1|${cookieName}|${id}`).digest('base64url')
}

/** The main entry's cookie value: `v1.<id>.<mac>`. */
export function signV1(id: string, cookieName: string, secret: Secret): string {
  return V1_PREFIX + id + '.' + macV1(secret, cookieName, id)
}

/** Whether a string is shaped like an id this library accepts (R1). */
export function isWellFormedId(id: string): boolean {
  return ID_PATTERN.test(id)
}

/**
 * Verifies a `v1.<id>.<mac>` value. Malformed input is rejected before any HMAC is computed.
 * Returns `'malformed'` or `'bad_mac'` as the reason for a rejection.
 */
export function unsignV1(
  input: string,
  cookieName: string,
  secrets: readonly Secret[],
): { id: string; secretIndex: number } | 'malformed' | 'bad_mac' {
  if (!input.startsWith(V1_PREFIX)) return 'malformed'
  const dot = input.indexOf('.', V1_PREFIX.length)
  if (dot === -1 || input.length - dot - 1 !== MAC_LENGTH) return 'malformed'
  const id = input.slice(V1_PREFIX.length, dot)
  if (!ID_PATTERN.test(id)) return 'malformed'
  const given = Buffer.from(input.slice(dot + 1))
  for (let i = 0; i < secrets.length; i++) {
    const expected = Buffer.from(macV1(secrets[i] as Secret, cookieName, id))
    // both are 43 bytes here; the length check keeps timingSafeEqual from throwing on odd input
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { id, secretIndex: i }
  }
  return 'bad_mac'
}
