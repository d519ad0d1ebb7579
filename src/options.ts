import type { IncomingMessage } from 'node:http'
import { cookieName, cookiePolicy, type CookieAttributes } from './cookie-options.ts'
import { InvalidOptionError } from './errors.ts'
import { headerMacName, resolveHeader, type IdHeader } from './header-option.ts'
import { SESSION_OPTION_NAMES, rejectUnknownOptions } from './option-names.ts'
import { checkedRevokedBefore } from './revoked-before.ts'
import { resolveSecrets } from './secrets.ts'
import type { Secret } from './signing.ts'
import type { SharedSessionOptions } from './shared-options.ts'

/** Options of the main entry: express-session's names (see `SharedSessionOptions`), secure defaults, and a few additions. */
export interface SessionOptions extends SharedSessionOptions {
  /** One secret or up to five; the first signs, all verify (rotation). In production the first must be 32 bytes or more; no key twice. */
  secret: Secret | Secret[]
  /** Milliseconds of inactivity after which a session dies. Default 30 minutes (or `cookie.maxAge` when set). */
  idleTimeout?: number | undefined
  /** Milliseconds after creation (or `login`) after which a session dies whatever its activity. Default 12 hours. */
  absoluteTimeout?: number | undefined
  /** Least milliseconds between two expiry slides of an unmodified session. Default a tenth of the idle window. */
  touchAfter?: number | undefined
  /** Milliseconds a store call may take before the request fails with 503. Default 5000. */
  storeTimeout?: number | undefined
  /** Largest serialized session, in bytes; larger ones are refused before anything is written. Default 65 536. */
  maxSessionBytes?: number | undefined
  /** Requests for which the session is read but never written nor slid (long polls, SSE, static files). */
  readOnly?: ((req: IncomingMessage) => boolean) | undefined
  /**
   * Renewal: a session whose id is older than this many ms gets a new id on its next request,
   * keeping its data and its absolute deadline (OWASP renewal timeout). The new id is derived from
   * the old one, so concurrent requests with the old id all move to the same one. Off by default.
   */
  renewAfter?: number | undefined
  /** How long (ms) the id a renewal or migration replaced still leads to the session (under its new id), for requests already in flight. Default 10 000. */
  renewalGrace?: number | undefined
  /**
   * Bind sessions to client properties (R26): a session used from another user agent (or IP prefix)
   * raises `binding_mismatch`; with `action: 'destroy'` it is also ended. Off by default.
   */
  binding?: BindingOptions | undefined
  /** On `destroy()`, also send `Clear-Site-Data` with these directives (`true`: "cache", "cookies", "storage"). Default off. */
  clearSiteData?: boolean | readonly ('cache' | 'cookies' | 'storage' | 'executionContexts' | '*')[] | undefined
  /** What a store failure does: `'fail'` the request with 503 (default), or serve it `'anonymous'`ly (no session, nothing written). */
  onStoreError?: 'fail' | 'anonymous' | undefined
  /** Stop calling a failing store for a while: after `failures` consecutive failures, fail fast for `cooldown` ms. Off by default. */
  circuitBreaker?: { failures?: number; cooldown?: number } | undefined
  /** Most store calls in flight at once; past it requests fail fast with 503 instead of piling up on a slow store (R22). Default 1000. */
  maxStoreCalls?: number | undefined
  /**
   * Global revocation (R14): sessions created (or signed in) before this epoch ms are dead. A function
   * is asked on every load, so an app can end every session at once, on every instance, by changing
   * the value it returns (from its configuration or database). The function is asked synchronously: if
   * it throws or returns anything but a number (a promise included), the request fails closed with
   * `RevocationCheckError`. Default: none.
   */
  revokedBefore?: number | (() => number) | undefined
  /**
   * Describes the client at `login()` ("Firefox on Linux"), for `listUserSessions`: the result is kept in
   * the session's metadata, at most 200 characters, control characters replaced by spaces. Off by default; the
   * raw User-Agent is never stored unless this function returns it.
   */
  describeClient?: ((req: IncomingMessage) => string | undefined) | undefined
  /**
   * Header mode, for API and mobile clients: the id travels in this request header (for example
   * `'X-Session-Token'`) instead of a cookie, which is then neither read nor set. A new or rotated
   * id comes back in the same header on the response; `destroy()` sends it empty. Cannot be given
   * with `cookie`, `name` or `key`. Off by default (the cookie).
   */
  header?: string | undefined
}

/** Client binding (R26): which properties a session is bound to, and what a mismatch does. */
export interface BindingOptions {
  /** Bind to the User-Agent header. Default true. */
  userAgent?: boolean
  /** Bind to the client address: `'prefix'` (IPv4 /24, IPv6 /48), `'full'`, or `false` (default). Uses Express's `req.ip` (trust proxy aware). */
  ip?: 'prefix' | 'full' | false
  /** `'log'`: only the event; `'destroy'`: the event, and the session is ended. */
  action: 'log' | 'destroy'
}

/** Everything `session()` resolved once, frozen. */
export interface Policy {
  readonly production: boolean
  readonly secrets: readonly Secret[]
  /** The cookie's name; in header mode the name the id's MAC binds instead (`headerMacName`). */
  readonly name: string
  /** Header mode: the header that carries the id; undefined: the cookie. */
  readonly header: IdHeader | undefined
  /** The attributes for a request (static options give the same object every time). */
  readonly cookieFor: (req: IncomingMessage) => CookieAttributes
  /** The attributes when the `cookie` option is an object; undefined when it is a function. */
  readonly staticCookie: CookieAttributes | undefined
  readonly genid: ((req: IncomingMessage) => string) | undefined
  readonly saveUninitialized: boolean
  readonly rolling: boolean
  readonly resave: boolean
  readonly proxy: boolean | undefined
  readonly unsetDestroy: boolean
  readonly idleTimeout: number
  readonly absoluteTimeout: number
  readonly touchAfter: number
  readonly storeTimeout: number
  readonly maxSessionBytes: number
  readonly readOnly: ((req: IncomingMessage) => boolean) | undefined
  readonly renewAfter: number | undefined
  readonly renewalGrace: number
  readonly binding: Readonly<Required<BindingOptions>> | undefined
  readonly clearSiteData: string | undefined
  readonly onStoreError: 'fail' | 'anonymous'
  readonly circuitBreaker: { readonly failures: number; readonly cooldown: number } | undefined
  readonly maxStoreCalls: number
  readonly revokedBefore: (() => number) | undefined
  readonly describeClient: ((req: IncomingMessage) => string | undefined) | undefined
}

const MINUTE = 60_000
const DEFAULT_IDLE = 30 * MINUTE
const DEFAULT_ABSOLUTE = 12 * 60 * MINUTE

function duration(option: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(option, `must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds`)
  }
  return Math.floor(value)
}

/** Node fires a timer at once when its delay does not fit in 32 bits: every store call would time out. */
function timerDelay(option: string, value: number): number {
  if (value > 2_147_483_647) throw new InvalidOptionError(option, 'must be at most 2147483647 ms (a timer delay)')
  return value
}

/** Resolves the main entry's options into a frozen policy; every mistake throws `InvalidOptionError`. */
export function resolvePolicy(options: SessionOptions): Policy {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object with at least a secret')
  rejectUnknownOptions(options, SESSION_OPTION_NAMES)
  const production = process.env.NODE_ENV === 'production'
  const secrets = resolveSecrets(options.secret, production)
  const header = resolveHeader(options)
  const name = header === undefined ? cookieName(options, production) : headerMacName(header)
  checkFunctionOptions(options)
  const { cookieFor, staticCookie } = cookiePolicy(options.cookie, name, production)
  const timeouts = resolveTimeouts(options, staticCookie?.maxAge ?? null)

  return Object.freeze({
    production,
    secrets: Object.freeze(secrets),
    name,
    header,
    cookieFor,
    staticCookie,
    genid: options.genid,
    saveUninitialized: options.saveUninitialized === true,
    rolling: options.rolling === true,
    resave: options.resave === true,
    proxy: options.proxy,
    unsetDestroy: options.unset === 'destroy',
    ...timeouts,
    storeTimeout: timerDelay('storeTimeout', duration('storeTimeout', options.storeTimeout, 5_000)),
    maxSessionBytes: duration('maxSessionBytes', options.maxSessionBytes, 65_536),
    readOnly: options.readOnly,
    renewAfter: options.renewAfter === undefined ? undefined : duration('renewAfter', options.renewAfter, 0),
    renewalGrace: duration('renewalGrace', options.renewalGrace, 10_000, true),
    binding: resolveBinding(options.binding),
    clearSiteData: resolveClearSiteData(options.clearSiteData),
    onStoreError: resolveStoreErrorPolicy(options.onStoreError),
    circuitBreaker: resolveBreaker(options.circuitBreaker),
    maxStoreCalls: resolveMaxStoreCalls(options.maxStoreCalls),
    revokedBefore: resolveRevokedBefore(options.revokedBefore),
    describeClient: options.describeClient,
  })
}

function checkFunctionOptions(options: SessionOptions): void {
  if (options.genid !== undefined && typeof options.genid !== 'function') throw new InvalidOptionError('genid', 'must be a function')
  if (options.unset !== undefined && options.unset !== 'destroy' && options.unset !== 'keep') {
    throw new InvalidOptionError('unset', "must be 'destroy' or 'keep'")
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'function') throw new InvalidOptionError('readOnly', 'must be a function of the request')
  if (options.describeClient !== undefined && typeof options.describeClient !== 'function') {
    throw new InvalidOptionError('describeClient', 'must be a function of the request returning a string or undefined')
  }
}

/** The idle window (by default the cookie's `maxAge`), the absolute deadline, and the slide throttle (0 with `resave`). */
function resolveTimeouts(options: SessionOptions, configuredMaxAge: number | null): Pick<Policy, 'idleTimeout' | 'absoluteTimeout' | 'touchAfter'> {
  const idleTimeout = duration('idleTimeout', options.idleTimeout, configuredMaxAge ?? DEFAULT_IDLE)
  const absoluteTimeout = duration('absoluteTimeout', options.absoluteTimeout, Math.max(DEFAULT_ABSOLUTE, idleTimeout))
  if (absoluteTimeout < idleTimeout) throw new InvalidOptionError('absoluteTimeout', 'must not be shorter than idleTimeout')
  const touchAfter = duration('touchAfter', options.touchAfter, Math.floor(idleTimeout / 10), true)
  if (touchAfter >= idleTimeout) throw new InvalidOptionError('touchAfter', 'must be shorter than idleTimeout')
  return { idleTimeout, absoluteTimeout, touchAfter: options.resave === true ? 0 : touchAfter }
}

function resolveBinding(binding: SessionOptions['binding']): Policy['binding'] {
  if (binding === undefined) return undefined
  if (typeof binding !== 'object' || binding === null || (binding.action !== 'log' && binding.action !== 'destroy')) {
    throw new InvalidOptionError('binding', "must be an object with action 'log' or 'destroy'")
  }
  const ip = binding.ip ?? false
  if (ip !== false && ip !== 'prefix' && ip !== 'full') throw new InvalidOptionError('binding.ip', "must be 'prefix', 'full' or false")
  const userAgent = binding.userAgent ?? true
  if (!userAgent && ip === false) throw new InvalidOptionError('binding', 'binds to nothing: enable userAgent or ip')
  return Object.freeze({ userAgent, ip, action: binding.action })
}

const SITE_DATA = new Set(['cache', 'cookies', 'storage', 'executionContexts', '*'])

function resolveClearSiteData(value: SessionOptions['clearSiteData']): string | undefined {
  if (value === undefined || value === false) return undefined
  const directives = value === true ? ['cache', 'cookies', 'storage'] : value
  if (!Array.isArray(directives) || directives.length === 0 || !directives.every((d) => SITE_DATA.has(d))) {
    throw new InvalidOptionError('clearSiteData', 'must be true or a list of "cache", "cookies", "storage", "executionContexts", "*"')
  }
  return directives.map((d) => `"${d}"`).join(', ')
}

function resolveStoreErrorPolicy(value: SessionOptions['onStoreError']): 'fail' | 'anonymous' {
  if (value === undefined) return 'fail'
  if (value !== 'fail' && value !== 'anonymous') throw new InvalidOptionError('onStoreError', "must be 'fail' or 'anonymous'")
  return value
}

function resolveRevokedBefore(value: SessionOptions['revokedBefore']): Policy['revokedBefore'] {
  if (value === undefined) return undefined
  if (typeof value === 'function') return checkedRevokedBefore(value)
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidOptionError('revokedBefore', 'must be an epoch ms number or a function returning one')
  return () => value
}

function resolveMaxStoreCalls(value: number | undefined): number {
  if (value === undefined) return 1000
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError('maxStoreCalls', 'must be a positive whole number')
  return value
}

function resolveBreaker(value: SessionOptions['circuitBreaker']): Policy['circuitBreaker'] {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('circuitBreaker', 'must be an object { failures, cooldown }')
  const failures = value.failures ?? 5
  if (!Number.isSafeInteger(failures) || failures <= 0) throw new InvalidOptionError('circuitBreaker.failures', 'must be a positive whole number')
  return Object.freeze({ failures, cooldown: duration('circuitBreaker.cooldown', value.cooldown, 5_000) })
}
