import type { IncomingMessage } from 'node:http'
import type { CookieOptions } from './cookie.ts'
import type { ExpressSessionStore } from './express-store.ts'
import type { SessionStore } from './stores/contract.ts'

/**
 * The options both entries take, under express-session's names and with its types. Each entry adds
 * its own (`secret` differs: the main entry requires it); where the two entries' defaults or meaning
 * differ, the option says both.
 */
export interface SharedSessionOptions {
  /** Cookie name. Default `connect.sid` (compat); main entry: `sid` in development, `__Host-sid` in production (`__Secure-sid` when a domain or path rules out `__Host-`). */
  name?: string | undefined
  /** Legacy alias of `name`. */
  key?: string | undefined
  /** A built-in store or any express-session store. Default: a `MemoryStore` (both entries warn in production). */
  store?: SessionStore | ExpressSessionStore | undefined
  /** Cookie attributes, or a function of the request that returns them. */
  cookie?: CookieOptions | ((req: IncomingMessage) => CookieOptions) | undefined
  /** Id generator. Default: 24 random bytes (compat), 32 (main entry, whose ids must be 22–120 base64url characters). */
  genid?: ((req: IncomingMessage) => string) | undefined
  /**
   * compat: save an unmodified session back on every request (default true, with a deprecation when
   * not given). Main entry: slide a loaded session's expiry on every request instead of every `touchAfter` (default false).
   */
  resave?: boolean | undefined
  /** `true` stores (and sends a cookie for) every new session, even an empty one. Default true in compat (with a deprecation when not given), false in the main entry. */
  saveUninitialized?: boolean | undefined
  /** `true` re-sends the cookie on every response that has a session. Default false. */
  rolling?: boolean | undefined
  /** Trust `X-Forwarded-Proto` (`true`), only the socket (`false`), or Express's `trust proxy` (undefined). */
  proxy?: boolean | undefined
  /** What `req.session = null` does: `'keep'` the stored session (default) or `'destroy'` it. */
  unset?: 'destroy' | 'keep' | undefined
}
