import { debug } from '../debug.ts'
import { SessionDataError } from '../errors.ts'
import { isWellFormedId } from '../signing.ts'
import type { GetOptions, SessionStore, StoredSession } from '../stores/contract.ts'
import { expiryAfterRead, judge, needsOwnSlide, slideOnRead, type Verdict } from './expiry.ts'
import type { Presented } from './read.ts'
import type { Rotations, Successor } from './rotate.ts'
import type { RequestState } from './state.ts'
import { rememberExpiry, rememberKey } from './verified-cookies.ts'

/** What the load gives the request. */
export type Loaded =
  /** The presented id's record, live; `slidTo`: the expiry the read's slide gave it; `touch`: slide it by its own window. */
  | { readonly kind: 'live'; readonly key: string; readonly record: StoredSession; readonly slidTo: number | undefined; readonly touch: boolean }
  /** The session a renewal or migration moved the presented id to. */
  | { readonly kind: 'successor'; readonly successor: Successor }
  /** No session: unknown, expired, revoked, bound to another client, unreadable, or its successor is gone. */
  | { readonly kind: 'none' }
  /** The store failed: the request fails closed, or is served without a session (`onStoreError: 'anonymous'`). */
  | { readonly kind: 'unavailable'; readonly error: unknown }

const NONE: Loaded = { kind: 'none' }

function noop(): void {}

/**
 * One store read for the presented id (sliding its expiry in the same round trip when due), then
 * the judgement: expired (R10), revoked (R14), bound to another client (R26), a legacy cookie for
 * a record of ours (R3), or moved to a successor (R12). A record not used is deleted, fail-safe.
 * A store failure is a `Loaded` too, not a rejection. A store that reads synchronously (see
 * `Engine.readNow`) gives the answer in the same turn, without a promise, unless a rotation is due.
 */
export function loadSession(state: RequestState, presented: Presented, rotations: Rotations): Loaded | Promise<Loaded> {
  const load = new Load(state, presented, rotations)
  let read: Held | undefined
  try {
    read = readHeldNow(load)
  } catch (err) {
    return failed(load, err)
  }
  return read === undefined ? loadLater(load) : judgeRead(load, read)
}

/**
 * One load: the request, the id it presented, the rotations it may follow, when it started and the
 * slide it asks the read for. A class, not a literal: it holds the request's state (see state.ts).
 */
class Load {
  readonly state: RequestState
  readonly presented: Presented
  readonly rotations: Rotations
  readonly now: number
  readonly slide: Required<GetOptions> | undefined

  constructor(state: RequestState, presented: Presented, rotations: Rotations) {
    this.state = state
    this.presented = presented
    this.rotations = rotations
    this.now = Date.now()
    this.slide = state.readOnly ? undefined : slideOnRead(this.now, presented.expiresAt, state.engine.policy)
  }
}

/** A read's answer: the record (or null) and the key it is under. */
interface Held {
  readonly key: string
  readonly record: StoredSession | null
}

async function loadLater(load: Load): Promise<Loaded> {
  let read: Held
  try {
    read = await load.state.engine.call('get', (store) => readHeld(load, store))
  } catch (err) {
    return failed(load, err)
  }
  return judgeRead(load, read)
}

/** The record read (or none), judged; a promise only when a rotation has to be followed. */
function judgeRead(load: Load, read: Held): Loaded | Promise<Loaded> {
  const { state, presented, slide } = load
  const engine = state.engine
  const { key, record } = read
  if (key !== presented.key) rememberKey(engine.verified, presented.value, key)
  const verdict = verdictOf(load, record)
  if (verdict !== 'live') return refuse(load, verdict, key)
  const live = record as StoredSession
  // renewal, migration, or an id one of them replaced: the request takes the successor
  const replacing = load.rotations.successorOf(presented, key, live, state.readOnly)
  if (replacing !== undefined) {
    return replacing.then(
      (successor) => followed(load, successor),
      (err: unknown) => failed(load, err),
    )
  }
  const slidTo = expiryAfterRead(live, slide)
  rememberExpiry(engine.verified, presented.value, slidTo ?? live.expiresAt)
  return { kind: 'live', key, record: live, slidTo, touch: needsOwnSlide(live, slide) }
}

/**
 * The presented id's record, and the key it is under: a session stored before ids were fully random
 * is under its tagged key until it expires or is renewed (one more read on a miss, for as long as
 * such a session can be alive).
 */
async function readHeld(load: Load, store: SessionStore): Promise<Held> {
  const { presented, slide } = load
  const first = await store.get(presented.key, slide)
  if (first !== null || presented.format === 'legacy') return { key: presented.key, record: first }
  const other = load.state.engine.otherStoreKey(presented.id, presented.key)
  return other === undefined ? { key: presented.key, record: null } : { key: other, record: await store.get(other, slide) }
}

/** `readHeld` without a promise, when the store reads synchronously; undefined when it cannot. */
function readHeldNow(load: Load): Held | undefined {
  const { presented, slide } = load
  const engine = load.state.engine
  const first = engine.readNow(presented.key, slide)
  if (first === undefined) return undefined
  if (first !== null || presented.format === 'legacy') return { key: presented.key, record: first }
  const other = engine.otherStoreKey(presented.id, presented.key)
  if (other === undefined) return { key: presented.key, record: null }
  const second = engine.readNow(other, slide)
  return second === undefined ? undefined : { key: other, record: second }
}

function verdictOf(load: Load, record: StoredSession | null): Verdict | 'unknown' | 'binding' {
  const { state, presented } = load
  if (record === null) return 'unknown'
  // R3/R5: a legacy (`s:`) cookie opens only an express-session record (one without our metadata), never
  // one of ours: otherwise a store key read from the store and signed by cookie-parser would be a credential.
  // A retired record never opens itself: it leads to the successor derived from the presented id and its format
  if (presented.format === 'legacy' && record.meta !== null && record.meta.retiredAt === undefined && isWellFormedId(presented.id)) return 'unknown'
  const judged = judge(record, load.now, state.engine.policy)
  return judged === 'live' ? checkBinding(state, record, presented.id) : judged
}

/** R26: a session used from another client than the one it was created for. */
function checkBinding(state: RequestState, record: StoredSession, id: string): 'live' | 'binding' {
  const engine = state.engine
  const binding = engine.policy.binding
  const bound = record.meta?.binding
  if (binding === undefined || bound === undefined || bound === engine.bindingOf(state.req)) return 'live'
  engine.emit('binding_mismatch', () => ({ idHash: engine.idHash(id), action: binding.action }))
  return binding.action === 'destroy' ? 'binding' : 'live'
}

function refuse(load: Load, verdict: Exclude<Verdict, 'live'> | 'unknown' | 'binding', key: string): Loaded {
  const { state, presented } = load
  const engine = state.engine
  debug('stored session not used: %s', verdict)
  const idHash = engine.idHash(presented.id)
  if (verdict === 'unknown') {
    engine.emit('rejected', () => ({ reason: 'unknown', idHash }))
    return NONE
  }
  if (verdict === 'binding' || verdict === 'revoked') engine.emit('destroyed', () => ({ idHash, reason: verdict }))
  else engine.emit('expired', () => ({ idHash, kind: verdict }))
  // the store still held it (its TTL is longer than our deadline), or its client changed: delete it, fail-safe
  engine.call('destroy', (store) => store.destroy(key)).catch(noop)
  return NONE
}

/** The presented id was rotated (by this request or another): its successor is the session, or there is none any more. */
function followed(load: Load, successor: Successor | null): Loaded {
  const { state, presented } = load
  if (successor !== null && judge(successor.record, Date.now(), state.engine.policy) === 'live') return { kind: 'successor', successor }
  // ended since (a logout, a revocation, its deadline): the old id leads nowhere
  const engine = state.engine
  debug('stored session not used: its successor is gone')
  engine.emit('rejected', () => ({ reason: 'unknown', idHash: engine.idHash(presented.id) }))
  return NONE
}

/** The read (or the rotation after it) failed. */
function failed(load: Load, err: unknown): Loaded {
  const { state, presented } = load
  const engine = state.engine
  if (err instanceof SessionDataError) {
    // unreadable stored data means no session (and the record goes), never a crash
    engine.emit('malformed_data', () => ({ idHash: engine.idHash(presented.id), error: err }))
    engine.call('destroy', (store) => store.destroy(presented.key)).catch(noop)
    return NONE
  }
  debug('store read failed: %s', (err as Error)?.message)
  return { kind: 'unavailable', error: err }
}
