import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Cookie } from '../cookie.ts'
import type { CookieAttributes } from '../cookie-options.ts'
import type { SessionMeta, StoredSession } from '../stores/contract.ts'
import type { Engine } from './engine.ts'
import { correctFuture, freshMeta } from './expiry.ts'
import type { Presented } from './read.ts'
import type { Successor } from './rotate.ts'

export type NextFunction = (err?: unknown) => void

/** `req.session` as the engine handles it: the cookie and the application's keys (session.ts adds the methods). */
export interface SessionObject {
  cookie: Cookie
  [key: string]: unknown
}

/**
 * Where the request's session stands with the store. `gone` is final: another request ended the
 * session while this one ran (a write or touch found it deleted), so nothing more is written or
 * sent for it, whatever the handler does next.
 */
export type Phase =
  /** Not in the store: a new session, or none yet. */
  | 'fresh'
  /** The store holds it under `key`. */
  | 'stored'
  /** This request deleted it (`destroy()`, or `unset: 'destroy'`). */
  | 'destroyed'
  | 'gone'

/** How far the response has got, as far as the session is concerned. */
export type ResponsePhase =
  /** No hook on `res` yet: nothing was loaded or created, so the response needs none. */
  | 'unhooked'
  | 'open'
  /** The end-of-response write has been carried out (or there was none). */
  | 'ended'
  /** The request failed (a store error, data no store can hold): no more writes, no Set-Cookie. */
  | 'failed'

/** What the client's session cookie (or header, in header mode) has to do with this request. */
export type ClientCookie =
  /** The request brought no cookie of ours. */
  | 'none'
  /** It brought one, valid or not: a logout clears it. */
  | 'sent'
  /** It brought one naming a session this request replaced (regenerate, login): the response replaces or clears it. */
  | 'stale'
  /**
   * Header mode: it brought a verified id whose session is no more (logged out, expired, revoked,
   * bound to another client): unless the request starts a new session, the response sends the header
   * empty, so the client drops the id.
   */
  | 'dead'

/** The baseline of a session nothing of which is stored yet: shared, never changed (a write replaces the baseline). */
export const NOTHING_STORED: ReadonlyMap<string, string> = new Map()

/**
 * Everything one request knows about its session: the one record a request allocates, created by
 * the middleware and handed to the load, to `req.session`'s methods and to the response hooks.
 * A class, not an object literal: V8 may move a literal's objects straight to the old generation
 * once most of them outlive a minor GC, and an old record holding a request's young objects keeps
 * them, and every later request's, alive until a full GC (measured: a quarter of the throughput
 * of the compat entry went to garbage collection). Instances of a class are never pretenured.
 */
export class RequestState {
  readonly engine: Engine
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly next: NextFunction
  /** Read-only requests never write nor slide (the option, a retired id in its grace, a failed read served anonymously). */
  readOnly = false
  phase: Phase = 'fresh'
  response: ResponsePhase = 'unhooked'
  clientCookie: ClientCookie = 'none'
  /** The id the client presented and we verified, if any. */
  presented: Presented | undefined = undefined
  /** The record as loaded (or last written); null before a load and after a destroy or rotation. */
  record: StoredSession | null = null
  /** undefined: not materialized yet; null: removed by the app (`req.session = null`) or destroyed. */
  session: SessionObject | null | undefined = undefined
  id: string | undefined = undefined
  /** The key `id` is stored under: a hash of it (R5), or the raw id of an express-session record. */
  key: string | undefined = undefined
  /** The store key of the id the client presented, when a renewal or migration replaced it: ended with the session. */
  replacedKey: string | undefined = undefined
  /** Serialized form of each top-level key as stored; the base of dirty tracking. */
  baseline: ReadonlyMap<string, string> = NOTHING_STORED
  meta: SessionMeta | undefined = undefined
  /** `meta` differs from what the store holds: the next write sends it. */
  metaDirty = false
  userId: string | null | undefined = undefined
  expiresAt = 0
  /** `expiresAt` was moved in this request (by the read's slide or a write): no further slide is due. */
  expiryMoved = false
  /** `touch()` was called, or the read slid a session by the wrong window: slide on this response. */
  touchRequested = false
  /** Our Set-Cookie went out with this response's headers. */
  cookieSent = false
  /** The store write `save()` started, until it settles: later writes wait for it. */
  writing: Promise<void> | undefined = undefined
  cookieAttributes: CookieAttributes | undefined = undefined
  /** The cookie lifetime `req.session.cookie` had when built, or last recorded in `meta`. */
  loadedMaxAge: number | null | undefined = undefined

  constructor(engine: Engine, exchange: { req: IncomingMessage; res: ServerResponse; next: NextFunction }) {
    this.engine = engine
    this.req = exchange.req
    this.res = exchange.res
    this.next = exchange.next
  }
}

/** The cookie attributes for this request, resolved on first use and kept for the rest of it. */
export function cookieAttributesOf(state: RequestState): CookieAttributes {
  return (state.cookieAttributes ??= state.engine.policy.cookieFor(state.req))
}

/** Moves the session to `phase`, unless another request ended it: a `gone` session stays gone. */
export function enterPhase(state: RequestState, phase: Phase): void {
  if (state.phase !== 'gone') state.phase = phase
}

/** A loaded record: the key it is stored under, and the expiry the read's slide gave it (undefined: it did not move). */
export interface Found {
  readonly key: string
  readonly record: StoredSession
  readonly slidTo: number | undefined
}

/** Takes a verified, live record as this request's session. */
export function adopt(state: RequestState, presented: Presented, found: Found): void {
  const { key, record, slidTo } = found
  const policy = state.engine.policy
  state.presented = presented
  state.clientCookie = 'sent'
  state.record = record
  state.id = presented.id
  state.key = key
  enterPhase(state, 'stored')
  state.userId = record.userId
  state.expiresAt = slidTo ?? record.expiresAt
  state.expiryMoved = slidTo !== undefined
  if (record.meta === null) {
    // a session written by express-session (migration): its deadlines start now and are stored at the end
    state.meta = freshMeta(Date.now(), policy)
    state.metaDirty = true
  } else {
    const corrected = correctFuture({ meta: record.meta, expiresAt: state.expiresAt }, Date.now(), policy)
    state.meta = corrected?.meta ?? record.meta
    if (corrected !== undefined) {
      state.expiresAt = corrected.expiresAt
      state.metaDirty = true
    }
  }
  // replaced by a renewal moments ago: requests still in flight may read it, none may write it
  if (record.meta?.retiredAt !== undefined) state.readOnly = true
}

/**
 * Takes the session that replaced the presented id (R12: a renewal or migration, done by this
 * request or by a concurrent one): the response sends its id's cookie.
 */
export function adoptSuccessor(state: RequestState, presented: Presented, successor: Successor): void {
  adopt(state, presented, { key: successor.key, record: successor.record, slidTo: successor.created ? successor.record.expiresAt : undefined })
  state.id = successor.id
  state.replacedKey = successor.replacedKey
}
