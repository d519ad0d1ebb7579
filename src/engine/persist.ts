import { debug } from '../debug.ts'
import { InvalidSessionStateError, type SessionDataError } from '../errors.ts'
import type { CreateResult, NewSession, SessionMeta, SessionPatch, SessionValues, StoredSession, UpdateResult } from '../stores/contract.ts'
import { nextExpiry } from './expiry.ts'
import { enterPhase, type RequestState, type SessionObject } from './state.ts'
import { rememberExpiry } from './verified-cookies.ts'

/**
 * Carries a write plan out through the engine's store gate (`Engine.call`: timeout, bound, breaker)
 * and records the outcome in the request's state, raising the events it calls for.
 */

/** A write decided by engine/plan.ts, with what it carries. */
export type WritePlan =
  | { readonly kind: 'create'; readonly data: SessionValues; readonly serialized: ReadonlyMap<string, string>; readonly now: number }
  | {
      readonly kind: 'update'
      readonly set: SessionValues
      readonly unset: readonly string[]
      /** The expiry the update gives the session, unless `keepExpiry`: then the store may leave it, and the engine goes on with the one it knew (`SessionPatch.keepExpiry`). */
      readonly expiresAt: number
      readonly keepExpiry: boolean
      readonly serialized: ReadonlyMap<string, string> | undefined
    }
  | { readonly kind: 'touch'; readonly expiresAt: number }
  /** `req.session = null` with `unset: 'destroy'`. */
  | { readonly kind: 'destroy' }
  /** Data no store can hold (a SessionDataError) or too much of it: the write fails without a store call. */
  | { readonly kind: 'refused'; readonly error: unknown }

/** Decides a write when it is its turn (`planWrite` or `planEndWrite`). */
export type Planner = (state: RequestState, confirm: boolean) => WritePlan | undefined

function noop(): void {}

const DONE: Promise<void> = Promise.resolve()

/** Carries `plan` out; a failure, even one thrown in the same turn, is a rejection. */
export function carryOut(state: RequestState, plan: WritePlan): Promise<void> {
  try {
    return carryOutNow(state, plan) ?? DONE
  } catch (err) {
    return Promise.reject(err)
  }
}

/**
 * `carryOut`, done in the same turn when the store writes synchronously (a create or an update: see
 * `Engine.createNow`), then undefined; a failure then is thrown.
 */
export function carryOutNow(state: RequestState, plan: WritePlan): Promise<void> | undefined {
  switch (plan.kind) {
    case 'create':
      return create(state, plan)
    case 'update':
      return update(state, plan)
    case 'touch':
      return touch(state, plan.expiresAt)
    case 'destroy':
      return destroyUnset(state)
    case 'refused':
      return Promise.reject(plan.error)
  }
}

/**
 * Runs a write once the writes started before it have settled, deciding what to write only then:
 * a `save()` the handler did not wait for must not make the end of the response create the session twice.
 */
export function queueWrite(state: RequestState, planner: Planner, confirm: boolean): Promise<void> {
  const previous = state.writing
  const run = previous === undefined ? writeNow(state, planner, confirm) : previous.then(noop, noop).then(() => writeNow(state, planner, confirm))
  state.writing = run
  const settled = (): void => {
    if (state.writing === run) state.writing = undefined
  }
  run.then(settled, settled)
  return run
}

function writeNow(state: RequestState, planner: Planner, confirm: boolean): Promise<void> {
  const plan = planner(state, confirm)
  return plan === undefined ? Promise.resolve() : carryOut(state, plan)
}

type CreatePlan = Extract<WritePlan, { kind: 'create' }>

/** Undefined when the store wrote in the same turn (see `carryOutNow`). */
function create(state: RequestState, plan: CreatePlan): Promise<void> | undefined {
  const engine = state.engine
  const meta = state.meta as SessionMeta
  const session: NewSession = { data: plan.data, meta, userId: state.userId ?? null, expiresAt: nextExpiry(meta, engine.policy.idleTimeout, plan.now) }
  const creating: Creating = { plan, id: state.id as string, session }
  const key = state.key as string
  const result = engine.createNow(key, session)
  if (result !== undefined) {
    created(state, creating, result)
    return undefined
  }
  return engine.call('create', (store) => store.create(key, session)).then((answer) => created(state, creating, answer))
}

/** A create under way: its plan, the id it started for, and what it writes. */
interface Creating {
  readonly plan: CreatePlan
  readonly id: string
  readonly session: NewSession
}

function created(state: RequestState, creating: Creating, result: CreateResult): void {
  const engine = state.engine
  const { id, session } = creating
  if (result === 'revoked') {
    // a revocation of the owner (destroyByUser) came after this login began and reached the id first:
    // the login is revoked with the user's other sessions, as if it had been created a moment earlier
    debug('create answered revoked')
    state.phase = 'gone'
    engine.emit('destroyed', () => ({ idHash: engine.idHash(id), reason: 'revoked' }))
    return
  }
  if (result === 'collision') {
    // 256 random bits do not collide; a custom genid might. Never overwrite another session.
    throw new InvalidSessionStateError('session id collision: genid returned an id that is already in use')
  }
  enterPhase(state, 'stored')
  state.metaDirty = false
  state.expiresAt = session.expiresAt
  state.expiryMoved = true
  state.baseline = creating.plan.serialized
  state.record = { data: session.data, meta: session.meta, userId: session.userId, expiresAt: session.expiresAt, version: 1 }
  // as stored (null, not undefined): an unchanged owner is not a change for a later save or the end of the response
  state.userId = session.userId
  engine.emit('created', () => ({ idHash: engine.idHash(id) }))
  debug('session created')
}

type UpdatePlan = Extract<WritePlan, { kind: 'update' }>

/** An update under way: its plan, and the id and owner it started for. */
interface Updating {
  readonly plan: UpdatePlan
  readonly id: string
  readonly userId: string | null | undefined
}

/** Undefined when the store wrote in the same turn (see `carryOutNow`). */
function update(state: RequestState, plan: UpdatePlan): Promise<void> | undefined {
  const engine = state.engine
  const updating: Updating = { plan, id: state.id as string, userId: state.userId }
  const patch = new UpdatePatch(state, plan)
  const key = state.key as string
  const result = engine.updateNow(key, patch, plan.expiresAt)
  if (result !== undefined) {
    updated(state, updating, result)
    return undefined
  }
  return engine.call('update', (store) => store.update(key, patch, plan.expiresAt)).then((answer) => updated(state, updating, answer))
}

function updated(state: RequestState, updating: Updating, result: UpdateResult): void {
  if (result !== 'ok') {
    debug('update answered %s', result)
    // destroyed (or changed) by another request meanwhile: never resurrected, no cookie for it
    state.phase = 'gone'
    const engine = state.engine
    engine.emit('conflict', () => ({ idHash: engine.idHash(updating.id), result }))
    return
  }
  const { plan, userId } = updating
  state.metaDirty = false
  if (!plan.keepExpiry) {
    state.expiresAt = plan.expiresAt
    state.expiryMoved = true
    noteExpiry(state, plan.expiresAt)
  }
  if (plan.serialized !== undefined) state.baseline = plan.serialized
  if (state.record) state.record.userId = userId ?? null
}

/**
 * An update's patch. `whole`, the entire session, is read only by stores that write whole objects
 * (express-session stores, through the legacy adapter): it is copied from the session when first
 * read, so a field-level store's update copies nothing.
 */
class UpdatePatch implements SessionPatch {
  readonly set: SessionValues
  readonly unset: readonly string[]
  // every change of the metadata marks it dirty: unchanged metadata is not sent again
  readonly meta: SessionMeta | undefined
  readonly userId: string | null | undefined
  readonly keepExpiry: boolean
  readonly current: { meta: SessionMeta | null; userId: string | null }
  readonly #session: SessionObject | null | undefined
  readonly #record: StoredSession | null
  #whole: SessionValues | undefined

  constructor(state: RequestState, plan: UpdatePlan) {
    const userId = state.userId
    this.set = plan.set
    this.unset = plan.unset
    this.keepExpiry = plan.keepExpiry
    this.meta = state.metaDirty ? state.meta : undefined
    this.userId = userId === state.record?.userId ? undefined : userId
    this.current = { meta: state.meta ?? null, userId: userId ?? null }
    this.#session = state.session
    this.#record = state.record
  }

  get whole(): SessionValues {
    return (this.#whole ??= wholeOf(this.#session, this.#record))
  }
}

/** The session's data as one object: the handler's keys (not `cookie`), or the record's when the handler never read it. */
function wholeOf(session: SessionObject | null | undefined, record: StoredSession | null): SessionValues {
  const whole: SessionValues = Object.create(null)
  if (session) {
    for (const key of Object.keys(session)) if (key !== 'cookie') whole[key] = session[key]
  } else if (record) {
    Object.assign(whole, record.data)
  }
  return whole
}

async function touch(state: RequestState, next: number): Promise<void> {
  const engine = state.engine
  const key = state.key as string
  const id = state.id as string
  const result = await engine.call('touch', (store) => store.touch(key, next))
  if (result === 'gone') {
    debug('touch answered gone')
    // destroyed by another request meanwhile: no cookie for it, nothing more written
    state.phase = 'gone'
    engine.emit('conflict', () => ({ idHash: engine.idHash(id), result }))
    return
  }
  state.expiresAt = next
  state.expiryMoved = true
  noteExpiry(state, next)
}

/** `req.session = null` with `unset: 'destroy'`: the stored session goes, with the id a rotation replaced. */
async function destroyUnset(state: RequestState): Promise<void> {
  const engine = state.engine
  const id = state.id as string
  const key = state.key as string
  enterPhase(state, 'destroyed')
  await engine.call('destroy', (store) => store.destroy(key))
  await endReplaced(state)
  engine.emit('destroyed', () => ({ idHash: engine.idHash(id), reason: 'unset' }))
}

/** The id the client presented, replaced by a renewal or migration in this request, ends with the session. */
export async function endReplaced(state: RequestState): Promise<void> {
  const replaced = state.replacedKey
  if (replaced === undefined) return
  await state.engine.call('destroy', (store) => store.destroy(replaced))
  state.replacedKey = undefined
}

/** Remembers the expiry just written in the verified cookie's cache entry: the next read's slide hint. */
function noteExpiry(state: RequestState, expiresAt: number): void {
  const presented = state.presented
  if (presented !== undefined && presented.id === state.id) rememberExpiry(state.engine.verified, presented.value, expiresAt)
}

/** `malformed_data` for a write refused because of the session's data: one request's problem, not the store's. */
export function noteUnstorable(state: RequestState, err: SessionDataError): void {
  const id = state.id
  if (id !== undefined) state.engine.emit('malformed_data', () => ({ idHash: state.engine.idHash(id), error: err }))
}
