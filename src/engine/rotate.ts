import { createHmac } from 'node:crypto'
import type { Policy } from '../options.ts'
import { parseJson } from '../safe-json.ts'
import { isWellFormedId } from '../signing.ts'
import type { NewSession, SessionMeta, SessionPatch, SessionValues, StoredSession } from '../stores/contract.ts'
import type { Engine } from './engine.ts'
import { freshMeta, isRenewalDue, nextExpiry, retiredExpiry } from './expiry.ts'
import type { PresentedId } from './read.ts'

export type RotationReason = 'renewal' | 'migration'

/** The session a request takes instead of the one its cookie names. */
export interface Successor {
  id: string
  key: string
  record: StoredSession
  /** The store key of the id the client presented (retired, or gone): a logout in this request removes it too. */
  replacedKey: string
  /** This request wrote the record: its expiry is the one just stored. */
  created: boolean
}

interface Previous {
  id: string
  key: string
  record: StoredSession
}

/** Successors followed from a retired id at most: a successor renewed again within its predecessor's grace. */
const MAX_HOPS = 3

/**
 * Id rotation without coordination (renewal, and migration from express-session). The successor of
 * an id is derived from it with a server key, so every request that presents the same old id, in
 * any process, agrees on the new one: the first `create` of it wins, the others read the winner's
 * record instead of making one of their own. The old record is then retired: for `renewalGrace` it
 * leads to its successor (never to itself), and to nothing once the successor is destroyed.
 * One per `session()` call.
 */
export class Rotations {
  readonly #engine: Engine
  readonly #key: Buffer
  /** Rotations in flight in this process, by the store key of the id they replace. */
  readonly #inFlight = new Map<string, Promise<Successor | null>>()

  constructor(engine: Engine) {
    this.#engine = engine
    // never used to sign: a key of its own, derived from the signing secret
    this.#key = createHmac('sha256', engine.policy.secrets[0] as string).update('tessera-session successor id').digest()
  }

  /**
   * What the presented id leads to when it is no longer the session's own: a promise of the
   * successor (null when there is none any more), or undefined when the id stays the session's.
   */
  successorOf(presented: PresentedId, key: string, record: StoredSession, readOnly: boolean): Promise<Successor | null> | undefined {
    const reason: RotationReason = presented.format === 'legacy' ? 'migration' : 'renewal'
    const previous = { id: presented.id, key, record }
    if (record.meta?.retiredAt !== undefined) return this.#follow(previous, reason)
    if (readOnly || !isRotationDue(this.#engine.policy, presented, record)) return undefined
    return this.#rotate(previous, reason)
  }

  /**
   * The id that replaces `previous`: HMAC-SHA-256 over the reason and the old id, 256 bits in
   * base64url like a random id. Unpredictable without the secret, the same in every process.
   */
  #successorId(previous: Previous, reason: RotationReason): string {
    // nothing of the user in it, like every id (R1): a signed-in session's successor carries no user tag
    return createHmac('sha256', this.#key).update(`${reason}|${previous.id}`).digest('base64url')
  }

  /**
   * Requests of this process that present the same id while its rotation is in flight share it
   * (fewer store calls). Correctness does not depend on it: across processes the derived id and
   * `create`'s refusal to overwrite pick the one winner.
   */
  #rotate(previous: Previous, reason: RotationReason): Promise<Successor | null> {
    let flight = this.#inFlight.get(previous.key)
    const joined = flight !== undefined
    if (flight === undefined) {
      const started = this.#run(previous, reason)
      const settled = (): void => {
        if (this.#inFlight.get(previous.key) === started) this.#inFlight.delete(previous.key)
      }
      started.then(settled, settled)
      this.#inFlight.set(previous.key, started)
      flight = started
    }
    return flight.then((successor) => (successor === null ? null : ownCopy(successor, joined)))
  }

  async #run(previous: Previous, reason: RotationReason): Promise<Successor | null> {
    const engine = this.#engine
    const policy = engine.policy
    const now = Date.now()
    const old = previous.record
    // a migrated session's deadlines start now (express-session stored none); a renewal keeps them (R12)
    const meta: SessionMeta = { ...(old.meta ?? freshMeta(now, policy)), renewedAt: now }
    const id = this.#successorId(previous, reason)
    const key = engine.storeKey(id)
    if (engine.lastWriterWins) {
      // an express-session store's create is a plain set: look first, so a late request does not overwrite the winner's record
      const found = await engine.call('get', (store) => store.get(key))
      if (found !== null) return this.#adoptWinner(previous, { id, key, record: found, replacedKey: previous.key, created: false }, meta)
    }
    const session: NewSession = { data: withoutCookie(old.data), meta, userId: old.userId, expiresAt: nextExpiry(meta, policy.idleTimeout, now) }
    const result = await engine.call('create', (store) => store.create(key, session))
    if (result !== 'ok') {
      // another request (of any process) rotated this id first, or the successor was destroyed or revoked since (a tombstone)
      const found = await engine.call('get', (store) => store.get(key))
      if (found === null) {
        // a logout ended the successor: the old id, still live here, must lead nowhere either
        await engine.call('destroy', (store) => store.destroy(previous.key))
        return null
      }
      return this.#adoptWinner(previous, { id, key, record: found, replacedKey: previous.key, created: false }, meta)
    }
    engine.emit('created', () => ({ idHash: engine.idHash(id) }))
    await this.#retire(previous, meta)
    engine.emit('rotated', () => ({ idHash: engine.idHash(id), previousIdHash: engine.idHash(previous.id), reason }))
    return { id, key, record: { ...session, version: 1 }, replacedKey: previous.key, created: true }
  }

  /** A request that lost the rotation retires the old record too: the winner's request may have failed right after its create. */
  async #adoptWinner(previous: Previous, winner: Successor, meta: SessionMeta): Promise<Successor> {
    await this.#retire(previous, winner.record.meta ?? meta)
    return winner
  }

  /**
   * The replaced record: kept for `renewalGrace`, marked retired, then gone; deleted at once when the
   * grace is 0. An update never recreates a destroyed record, so a late retirement changes nothing.
   */
  async #retire(previous: Previous, meta: SessionMeta): Promise<void> {
    const engine = this.#engine
    const grace = engine.policy.renewalGrace
    const key = previous.key
    if (grace === 0) {
      await engine.call('destroy', (store) => store.destroy(key))
      return
    }
    const now = Date.now()
    const retired: SessionMeta = { ...meta, retiredAt: now }
    const old = previous.record
    const patch: SessionPatch = { set: {}, unset: [], meta: retired, current: { meta: retired, userId: old.userId }, whole: old.data }
    await engine.call('update', (store) => store.update(key, patch, retiredExpiry(retired, now, grace)))
  }

  /**
   * A retired id (its rotation is done): the request takes the successor, whose cookie the response
   * sends. Null when the successor is gone (a logout ended it): the retired record leads nowhere and
   * expires with its grace.
   */
  async #follow(presented: Previous, reason: RotationReason): Promise<Successor | null> {
    let previous = presented
    let hopReason = reason
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const id = this.#successorId(previous, hopReason)
      const key = this.#engine.storeKey(id)
      const found = await this.#engine.call('get', (store) => store.get(key))
      if (found === null) return null
      if (found.meta?.retiredAt === undefined) return { id, key, record: found, replacedKey: presented.key, created: false }
      // a successor is always a main-entry id: any further step is a renewal
      previous = { id, key, record: found }
      hopReason = 'renewal'
    }
    return null
  }
}

/** An express-session session moves to the main entry's format; one of ours moves when older than `renewAfter` (R12). */
function isRotationDue(policy: Policy, presented: PresentedId, record: StoredSession): boolean {
  // an id the v1 format cannot carry (a custom genid's) stays where it is
  if (presented.format === 'legacy') return isWellFormedId(presented.id)
  return isRenewalDue(record.meta, Date.now(), policy.renewAfter)
}

/** The session's data: an express-session record also holds its cookie, which is not data (the main entry keeps it apart). */
function withoutCookie(data: SessionValues): SessionValues {
  if (!Object.hasOwn(data, 'cookie')) return data
  const copy: SessionValues = Object.create(null)
  for (const key of Object.keys(data)) if (key !== 'cookie') copy[key] = data[key]
  return copy
}

/** Each request gets its own copy: a handler changing a nested value must not change another request's session. */
function ownCopy(successor: Successor, joined: boolean): Successor {
  const record = successor.record
  const data = parseJson(JSON.stringify(record.data)) as SessionValues
  const meta = record.meta === null ? null : { ...record.meta }
  return { ...successor, record: { ...record, data, meta }, created: successor.created && !joined }
}
