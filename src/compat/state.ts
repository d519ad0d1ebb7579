import type { ServerResponse } from 'node:http'
import type { CompatRequest, Session } from '../express-store.ts'
import type { Secret } from '../signing.ts'
import type { CompatSettings, NextFunction } from './options.ts'

/**
 * One request of the compat entry: what express-session keeps in its middleware's closure. A class
 * rather than an object literal, for the reason engine/state.ts gives (V8 pretenures literals).
 */
export class CompatState {
  readonly settings: CompatSettings
  readonly req: CompatRequest
  readonly res: ServerResponse
  readonly next: NextFunction
  /** The configured secrets, or this request's `req.secret`. */
  readonly secrets: Secret[]
  /** The id the cookie gave, if any. */
  readonly cookieId: string | undefined
  /** The session's id and JSON when generated or loaded: the base of `isModified`. */
  originalId: string | undefined = undefined
  originalHash: string | undefined = undefined
  /** The JSON last saved (or loaded, without `resave`): the base of `isSaved`. */
  savedHash: string | undefined = undefined
  /** `req.session.touch()` was called by the middleware in this request (once, at headers or at the end). */
  touched = false
  /** The header-time hook could not serialize the session: it is not saved either. */
  unserializable = false
  /** `req.session`'s own `reload` and `save`, before the compat wrappers (which call them) replaced them. */
  unwrappedReload: Session['reload'] | undefined = undefined
  unwrappedSave: Session['save'] | undefined = undefined

  /** `exchange.req.sessionID` is the id the cookie gave (or none). */
  constructor(settings: CompatSettings, exchange: { req: CompatRequest; res: ServerResponse; next: NextFunction }, secrets: Secret[]) {
    this.settings = settings
    this.req = exchange.req
    this.res = exchange.res
    this.next = exchange.next
    this.secrets = secrets
    this.cookieId = exchange.req.sessionID
  }
}
