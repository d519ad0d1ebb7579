import { Cookie } from '../cookie.ts'
import { InvalidOptionError, InvalidSessionStateError, SessionDataError, SessionGoneError } from '../errors.ts'
import { generateId } from '../id.ts'
import { askOption } from '../option-function.ts'
import { isStorableText } from '../safe-json.ts'
import { ManagedSession, type LoginOptions, type SessionOperations } from '../session.ts'
import { isWellFormedId } from '../signing.ts'
import type { SessionMeta, SessionValues } from '../stores/contract.ts'
import { describeClient } from './client-description.ts'
import { hookResponse } from './commit.ts'
import { cookieMaxAge } from './cookie-lifetime.ts'
import { baselineOf } from './dirty.ts'
import { freshMeta, nextExpiry } from './expiry.ts'
import { checkWriteAfterResponse } from './misconfiguration.ts'
import { endReplaced, noteUnstorable, queueWrite } from './persist.ts'
import { planWrite } from './plan.ts'
import { NOTHING_STORED, cookieAttributesOf, enterPhase, type RequestState, type SessionObject } from './state.ts'

/**
 * What a handler does with its session: `req.session` built on first access (the loaded record, or
 * a new session: lazy creation), and the methods behind `req.session.save()`, `reload()`,
 * `destroy()`, `regenerate()` and `login()`.
 */

/** `req.session`: built on first access. */
export function getSession(state: RequestState): SessionObject | null | undefined {
  if (state.session === undefined) materialize(state)
  return state.session
}

/** `req.session = value`: only null (or the session itself) is accepted. */
export function setSession(state: RequestState, value: unknown): void {
  if (value === null || value === undefined) {
    state.session = null
    return
  }
  if (value instanceof ManagedSession && value === state.session) return
  throw new InvalidSessionStateError('req.session can only be set to null (or left as it is); use its methods to change it')
}

/** `req.sessionID`: reading it creates the session, as `req.session` does. */
export function getSessionId(state: RequestState): string | undefined {
  if (state.session === undefined) materialize(state)
  return state.id
}

function materialize(state: RequestState): void {
  if (state.record === null) {
    startNew(state, undefined)
    return
  }
  const session = build(state, state.record.data)
  state.session = session
  state.baseline = baselineOf(session)
}

/** A new, empty, unsaved session with a fresh id (random and nothing else, signed-in or not (R1): an id must not tell whose session it is). */
function startNew(state: RequestState, meta: SessionMeta | undefined, id: string = newId(state)): void {
  const engine = state.engine
  const now = Date.now()
  state.id = id
  state.key = engine.storeKey(state.id)
  enterPhase(state, 'fresh')
  const fresh = meta ?? freshMeta(now, engine.policy)
  const binding = engine.bindingOf(state.req)
  if (binding !== undefined) fresh.binding = binding
  state.meta = fresh
  state.metaDirty = true
  state.expiresAt = nextExpiry(fresh, engine.policy.idleTimeout, now)
  state.session = build(state, null)
  state.baseline = NOTHING_STORED
  hookResponse(state)
}

function newId(state: RequestState): string {
  const genid = state.engine.policy.genid
  if (genid === undefined) return generateId()
  const id = askOption('genid', 'a string', genid, state.req)
  // 120, under the 128 an id may have: ids of earlier versions put an 8-character user tag in front of it
  if (typeof id !== 'string' || id.length > 120 || !isWellFormedId(id)) {
    throw new InvalidOptionError('genid', 'must return 22 to 120 base64url characters (at least 128 random bits)')
  }
  return id
}

function build(state: RequestState, data: SessionValues | null): ManagedSession<RequestState> {
  const attrs = cookieAttributesOf(state)
  const maxAge = cookieMaxAge(state, attrs)
  const cookie = new Cookie({ path: attrs.path, httpOnly: attrs.httpOnly, domain: attrs.domain, sameSite: attrs.sameSite || undefined, priority: attrs.priority })
  if (attrs.secure !== false) cookie.secure = attrs.secure === 'auto' ? state.engine.isSecure(state.req) : true
  if (attrs.partitioned) cookie.partitioned = true
  if (maxAge !== null) {
    cookie.expires = new Date(state.expiresAt)
    cookie.originalMaxAge = maxAge
  }
  state.loadedMaxAge = cookie.originalMaxAge
  return new ManagedSession(OPERATIONS, state, state.id as string, cookie, data)
}

function requireSession(state: RequestState, action: string): SessionObject {
  const session = getSession(state)
  if (!session) throw new InvalidSessionStateError(`cannot ${action}: the session was destroyed or unset in this request`)
  return session
}

/** Writes the session now instead of at the end of the response. */
async function save(state: RequestState): Promise<void> {
  checkWriteAfterResponse(state.engine, state.res, 'save')
  requireSession(state, 'save')
  // a read-only request (the option, a retired id in its renewal grace, a failed read served anonymously) never writes
  if (state.readOnly) return
  try {
    await queueWrite(state, planWrite, false)
  } catch (err) {
    if (err instanceof SessionDataError) noteUnstorable(state, err)
    throw err
  }
}

/** Replaces the session with its stored copy. */
async function reload(state: RequestState): Promise<void> {
  requireSession(state, 'reload')
  if (state.phase !== 'stored') throw new SessionGoneError('failed to load session: it was never saved')
  const key = state.key as string
  const record = await state.engine.call('get', (store) => store.get(key))
  if (record === null) throw new SessionGoneError('failed to load session: it was destroyed or has expired')
  state.record = record
  state.meta = record.meta ?? state.meta
  state.userId = record.userId
  state.expiresAt = record.expiresAt
  const session = build(state, record.data)
  state.session = session
  state.baseline = baselineOf(session)
}

/** Deletes the stored session now and clears the cookie on this response. */
async function destroy(state: RequestState): Promise<void> {
  const engine = state.engine
  const id = state.id
  const key = state.key
  const wasStored = state.phase === 'stored' && id !== undefined && key !== undefined
  // R24: a logout on an anonymous client touches no store. The store goes first: if it fails, the
  // session is as it was (alive on the server, so its cookie is not cleared either)
  if (wasStored) await engine.call('destroy', (store) => store.destroy(key as string))
  await endReplaced(state)
  state.session = null
  state.record = null
  enterPhase(state, 'destroyed')
  if (wasStored) engine.emit('destroyed', () => ({ idHash: engine.idHash(id as string), reason: 'destroy' }))
}

/** A new id and an empty session; the old record is deleted before the response is sent (R12). */
async function regenerate(state: RequestState): Promise<void> {
  checkWriteAfterResponse(state.engine, state.res, 'regenerate')
  await rotateId(state, 'regenerate', { keep: [], userId: undefined })
}

/** Regenerates, carries `keep` keys over, records the user and restarts the absolute deadline. */
async function login(state: RequestState, userId: string, options: LoginOptions = {}): Promise<void> {
  checkWriteAfterResponse(state.engine, state.res, 'login')
  if (typeof userId !== 'string' || userId.length === 0) throw new InvalidSessionStateError('login needs a non-empty user id string')
  if (!isStorableText(userId)) throw new SessionDataError('a user id must not contain U+0000 or a lone surrogate')
  await rotateId(state, 'login', { keep: options.keep ?? [], userId })
}

/** What a new id takes over: the keys to keep, and the user signing in (login) or none (regenerate). */
interface Carry {
  readonly keep: readonly string[]
  readonly userId: string | undefined
}

async function rotateId(state: RequestState, reason: 'regenerate' | 'login', carry: Carry): Promise<void> {
  const { keep, userId } = carry
  const engine = state.engine
  // asked before anything changes, so that a failing describeClient or genid leaves the session as it was
  const client = reason === 'login' ? describeClient(engine.policy, state.req) : undefined
  const id = newId(state)
  const previous = getSession(state)
  const carried: SessionValues = Object.create(null)
  if (previous) for (const key of keep) if (Object.hasOwn(previous, key) && key !== 'cookie') carried[key] = previous[key]
  const oldId = state.id
  const oldKey = state.key
  const wasStored = state.phase === 'stored' && oldId !== undefined && oldKey !== undefined
  if (wasStored) await engine.call('destroy', (store) => store.destroy(oldKey as string))
  await endReplaced(state)
  const now = Date.now()
  const meta = freshMeta(now, engine.policy)
  if (reason === 'login') meta.authTime = now
  if (client !== undefined) meta.client = client
  state.record = null
  // the cookie the client sent names the session just deleted: the response replaces or clears it
  if ((wasStored || state.phase === 'destroyed') && state.clientCookie === 'sent') state.clientCookie = 'stale'
  startNew(state, meta, id)
  state.userId = userId ?? null
  const session = state.session as SessionObject
  for (const key of Object.keys(carried)) session[key] = carried[key]
  if (wasStored) {
    engine.emit('rotated', () => ({ idHash: engine.idHash(id), previousIdHash: engine.idHash(oldId as string), reason }))
  }
}

/** The operations `req.session`'s methods call (session.ts is handed them, so it need not import this module). */
/** `req.session.touch()`: the expiry slides on this response, whatever the `touchAfter` throttle says. */
function touch(state: RequestState): void {
  state.touchRequested = true
}

const OPERATIONS: SessionOperations<RequestState> = { save, reload, destroy, regenerate, login, touch }
