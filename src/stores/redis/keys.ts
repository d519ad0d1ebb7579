import { createHash } from 'node:crypto'

/*
 * Key layout. The store is given keys, not ids (the engine's storeKeyOf: the SHA-256 of the id, or, for a
 * session stored by an earlier version, that hash behind the id's first 8 characters). `tag` is a key's
 * first TAG_LENGTH characters, `rest` the others:
 *   <prefix>{<tag>}<rest>           HASH  one session; native TTL (PEXPIREAT) at its expiresAt. Once destroyed,
 *                                         its tombstone: only the field `_d`, PX tombstoneTtl
 *   <prefix>u:{<userHash>}<userId>  ZSET  a user's index: member `{<tag>}<rest>`, scored by the latest expiry
 *                                         the session may reach (its absolute deadline); TTL = highest score
 * `userHash` is the first TAG_LENGTH characters of the SHA-256 (base64url) of the user id. On a cluster a
 * session and its user's index are almost never in one slot (their tags are unrelated); sessions of earlier
 * versions are, their ids began with their user's hash. Every script declares every key it touches and
 * works on one slot; what spans two is two commands, in the order cross-slot.ts describes. Scripts on a
 * session touch that one key (and its index when in the same slot), which a slot migration serves through
 * ASK; a script on two keys would get TRYAGAIN for as long as the migration has moved one but not the
 * other (it is retried).
 *
 * Hash fields: `d:<key>` holds the JSON of data key `<key>`. Metadata fields start with `_`, which no
 * `d:` field does, so no data key can collide with them:
 *   _v version   _e expiresAt (ms)   _m SessionMeta as short JSON (meta.ts)   _a meta.absoluteExpiresAt (ms, read by the slide)
 *   _u userId    _x until when (ms) the owner's index entry covers the session
 *   _t the user hash, when it differs from the key's tag: where earlier versions, still running during an
 *      upgrade, look for the index
 *   _d in a tombstone only;  _k:<userId> until when (ms) the session may not be handed to that user
 *   _r in the tombstone a revocation left for an id not created yet: the revoked user
 * Earlier versions kept tombstones in keys of their own (`<prefix>t:{<tag>}<rest>`); they expire unread.
 * JSON is never decoded in Lua: cjson turns [] into {} and rounds big numbers.
 */

/** Length of the hash tag taken from the front of a store key, and of a user hash. */
export const TAG_LENGTH = 8

/** The keys of one session: its hash tag, its member in a user index, and its Redis key. */
export interface SessionKeys {
  tag: string
  member: string
  session: string
}

/** The hash tag and the Redis key of store key `id`, and its member in a user index. */
export function sessionKeys(prefix: string, id: string): SessionKeys {
  const tag = id.slice(0, TAG_LENGTH)
  const member = `{${tag}}${id.slice(TAG_LENGTH)}`
  return { tag, member, session: prefix + member }
}

/** The first characters of the SHA-256 of a user id: the hash tag of the user's index. */
export function userHash(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, TAG_LENGTH)
}

/** The key of a user's index. */
export function indexKey(prefix: string, userId: string): string {
  return `${prefix}u:{${userHash(userId)}}${userId}`
}

/** The store key of an index member `{<tag>}<rest>` (the tag is the key's first TAG_LENGTH characters, or all of a shorter key). */
export function idOf(member: string): string {
  const inner = member.slice(1)
  if (inner.length <= TAG_LENGTH + 1) return inner.slice(0, -1)
  return inner.slice(0, TAG_LENGTH) + inner.slice(TAG_LENGTH + 1)
}
