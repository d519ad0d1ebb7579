import { randomBytes } from 'node:crypto'

/** A main-entry session id: 32 random bytes, base64url (43 characters, 256 bits), and nothing else. R1. */
export function generateId(): string {
  return randomBytes(32).toString('base64url')
}

/** express-session's default id (uid-safe with 24 bytes): 32 base64url characters. */
export function generateLegacyId(): string {
  return randomBytes(24).toString('base64url')
}
