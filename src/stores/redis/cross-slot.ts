import { StoreUnavailableError } from '../../errors.ts'
import { indexKey, userHash } from './keys.ts'
import type { Sender } from './sender.ts'

/*
 * Revocation across slots (keys.ts has the key layout), by ordering and tombstones:
 * - A session gets an owner (create, or an update that sets one) only after it is registered in the
 *   owner's index, and its entry always covers its expiry: `_x` in the hash says up to when, and a write
 *   that would move the expiry past `_x` answers 'raise' instead; the store raises the entry, then writes.
 *   So an owned session is in its owner's index for as long as it lives.
 * - destroyByUser reads the index, then destroys every member it found, leaving a tombstone in place of
 *   each, even of a session not created yet; then removes them from the index. A login registered before
 *   the read is in it: its record was created before the tombstone (and is destroyed), or its create meets
 *   the tombstone and fails. A login registered after the read comes after the revocation, and survives it.
 *   A member that is another user's session by then is kept, marked `_k:<userId>` for tombstoneTtl: an
 *   update handing it to the revoked user meanwhile (registered before the read) destroys it instead.
 * - destroy removes the entry after the session; listing checks each member's owner, so an entry left by a
 *   failed removal (or by a session whose create failed) is never listed, and goes when its score passes.
 * On one server, and for a session in its index's slot, a create registers in the same script.
 */

/** Re-runs of a script whose owner's index entry was raised meanwhile: more only if the owner keeps changing. */
const RAISE_ATTEMPTS = 3

/** Where a session's owner is indexed, and whether a script on the session may touch that index. */
export interface OwnerIndex {
  index: string
  /** On one server always; on a cluster only when the index is in the session's slot. */
  local: boolean
}

/** Adds the owner fields of `userId` to a write of the session tagged `tag`, and answers where its index is. */
export function ownerFields(sender: Sender, prefix: string, tag: string, userId: string, fields: { pairs: string[]; deleted: string[] }): OwnerIndex {
  const owner = userHash(userId)
  fields.pairs.push('_u', userId)
  if (owner === tag) fields.deleted.push('_t')
  else fields.pairs.push('_t', owner)
  return { index: `${prefix}u:{${owner}}${userId}`, local: !sender.cluster || owner === tag }
}

/** A write that may answer the owner and score its index entry must be raised to first. */
export interface CoveredWrite {
  /** Runs the write, saying for whom and to what the entry was just raised ('' the first time). */
  write: (raisedFor: string, raisedTo: string) => Promise<string[]>
  /** The owner and score a reply asks the entry to be raised to, or undefined when the write is done. */
  raise: (reply: string[]) => [string, string] | undefined
}

/**
 * Runs a write that may find the expiry it sets past what the owner's index entry covers: then it
 * answers the owner and a score, the entry is raised to it, and the write runs again saying so.
 */
export async function covered(sender: Sender, prefix: string, operation: string, member: string, run: CoveredWrite): Promise<string[]> {
  let raisedFor = ''
  let raisedTo = ''
  for (let attempt = 0; ; attempt++) {
    const reply = await run.write(raisedFor, raisedTo)
    const needed = run.raise(reply)
    if (needed === undefined) return reply
    if (attempt === RAISE_ATTEMPTS) throw new StoreUnavailableError(`redis: ${operation}: the session's owner kept changing while its index entry was raised`)
    ;[raisedFor, raisedTo] = needed
    await sender.index(operation, indexKey(prefix, raisedFor), 'add', raisedTo, [member])
  }
}
