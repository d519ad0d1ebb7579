import { createHash, randomBytes } from 'node:crypto'

/** A main-entry session id: 32 random bytes, base64url (43 characters, 256 bits). R1. */
export function generateId(): string {
  return randomBytes(32).toString('base64url')
}

/** express-session's default id (uid-safe with 24 bytes): 32 base64url characters. */
export function generateLegacyId(): string {
  return randomBytes(24).toString('base64url')
}

/** Length of the user tag that starts the ids of signed-in sessions. */
export const USER_TAG_LENGTH = 8

/**
 * The first characters of every id `login(userId)` issues: a short hash of the user id, so that a
 * store can keep all of a user's sessions beside the user's index (one Redis Cluster slot, through
 * the hash tag `{<tag>}`). 48 bits: tags of different users may coincide, which only co-locates them.
 */
export function userTag(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, USER_TAG_LENGTH)
}
