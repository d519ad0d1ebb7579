import type { IncomingMessage } from 'node:http'
import { isValidCookieDomain, isValidCookieName, isValidCookiePath, type CookieOptions } from './cookie.ts'
import { InvalidOptionError } from './errors.ts'
import { askOption } from './option-function.ts'
import { COOKIE_OPTION_NAMES, SESSION_OPTION_NAMES, rejectUnknownOptions } from './option-names.ts'

/** The main entry's `cookie` and `name` options, resolved and checked once (R17). */

/** Cookie attributes after defaults, as serialized. */
export interface CookieAttributes {
  path: string
  domain: string | undefined
  httpOnly: boolean
  secure: boolean | 'auto'
  sameSite: 'lax' | 'strict' | 'none' | 'auto' | false
  priority: 'low' | 'medium' | 'high' | undefined
  partitioned: boolean
  /** Persistent cookie lifetime (ms) from the options, or null for a browser-session cookie. */
  maxAge: number | null
}

/** Browsers cap cookie lifetimes at 400 days (RFC 6265bis §5.5). */
export const MAX_COOKIE_LIFETIME = 400 * 24 * 60 * 60_000

function sameSiteOf(value: CookieOptions['sameSite'], option: string): CookieAttributes['sameSite'] {
  if (value === undefined) return 'lax'
  if (value === false) return false
  if (value === true) return 'strict'
  const lower = typeof value === 'string' ? value.toLowerCase() : value
  if (lower === 'lax' || lower === 'strict' || lower === 'none' || lower === 'auto') return lower
  throw new InvalidOptionError(option, "must be 'lax', 'strict', 'none', 'auto', true or false")
}

/** Resolves and checks cookie attributes (R17); throws `InvalidOptionError` naming the attribute. */
export function resolveCookie(options: CookieOptions, name: string, production: boolean): CookieAttributes {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('cookie', 'must be an object or a function returning one')
  rejectUnknownOptions(options, COOKIE_OPTION_NAMES, { cookie: true, topLevel: SESSION_OPTION_NAMES })
  const path = options.path ?? '/'
  if (typeof path !== 'string' || !path.startsWith('/') || !isValidCookiePath(path) || path.length > 1024) {
    throw new InvalidOptionError('cookie.path', 'must start with "/" and hold no control characters or ";" (RFC 6265)')
  }
  const domain = options.domain
  if (domain !== undefined && (typeof domain !== 'string' || !isValidCookieDomain(domain) || domain.length > 1024)) {
    throw new InvalidOptionError('cookie.domain', 'must be a host name of letters, digits, "-" and "." (RFC 6265)')
  }
  const secure = options.secure ?? production
  if (secure !== true && secure !== false && secure !== 'auto') throw new InvalidOptionError('cookie.secure', "must be true, false or 'auto'")
  const sameSite = sameSiteOf(options.sameSite, 'cookie.sameSite')
  const priority = options.priority === undefined ? 'high' : (String(options.priority).toLowerCase() as CookieAttributes['priority'])
  if (priority !== 'low' && priority !== 'medium' && priority !== 'high') throw new InvalidOptionError('cookie.priority', "must be 'low', 'medium' or 'high'")
  let maxAge: number | null = null
  if (options.maxAge !== undefined && options.maxAge !== null) {
    if (typeof options.maxAge !== 'number' || !Number.isFinite(options.maxAge) || options.maxAge <= 0) {
      throw new InvalidOptionError('cookie.maxAge', 'must be a positive number of milliseconds, or null for a browser-session cookie')
    }
    maxAge = Math.min(Math.floor(options.maxAge), MAX_COOKIE_LIFETIME)
  }
  if (options.expires !== undefined && options.expires !== null) {
    throw new InvalidOptionError('cookie.expires', 'is not supported by the main entry: use cookie.maxAge (a lifetime) so every session gets its own expiry')
  }
  const httpOnly = options.httpOnly ?? true
  const partitioned = options.partitioned === true
  const attrs: CookieAttributes = { path, domain, httpOnly: httpOnly !== false, secure, sameSite, priority, partitioned, maxAge }
  checkPrefix(name, attrs)
  if (sameSite === 'none' && secure !== true) throw new InvalidOptionError('cookie.sameSite', "'none' requires cookie.secure: true (browsers drop it otherwise)")
  if (partitioned && secure !== true) throw new InvalidOptionError('cookie.partitioned', 'requires cookie.secure: true')
  return Object.freeze(attrs)
}

/** Cookie-name prefixes bind attributes (RFC 6265bis §4.1.3); browsers match them case-insensitively. */
function checkPrefix(name: string, attrs: CookieAttributes): void {
  const lower = name.toLowerCase()
  const host = lower.startsWith('__host-')
  const http = lower.startsWith('__http-') || lower.startsWith('__host-http-')
  if ((host || http || lower.startsWith('__secure-')) && attrs.secure !== true) {
    throw new InvalidOptionError('cookie.secure', `must be true for a cookie named "${name}" (its prefix requires Secure)`)
  }
  if (host && (attrs.path !== '/' || attrs.domain !== undefined)) {
    throw new InvalidOptionError('cookie', `a cookie named "${name}" needs path "/" and no domain (the __Host- prefix requires them)`)
  }
  if (http && !attrs.httpOnly) throw new InvalidOptionError('cookie.httpOnly', `must be true for a cookie named "${name}"`)
}

/** The `cookie` option: attributes, or a function of the request that returns them. */
type CookieOption = CookieOptions | ((req: IncomingMessage) => CookieOptions) | undefined

/** The cookie's name: the `name` option (or its alias `key`), else the default for the environment. */
export function cookieName(options: { name?: string | undefined; key?: string | undefined; cookie?: CookieOption }, production: boolean): string {
  const name = options.name || options.key || defaultName(production, options.cookie)
  if (!isValidCookieName(name) || name.length > 256) {
    throw new InvalidOptionError('name', 'must be an RFC 6265 token: letters, digits and !#$%&\'*+-.^_`|~ only')
  }
  return name
}

/** The attributes per request (a static `cookie` option gives the same frozen object every time), and the static ones. */
export function cookiePolicy(cookie: CookieOption, name: string, production: boolean): { cookieFor: (req: IncomingMessage) => CookieAttributes; staticCookie: CookieAttributes | undefined } {
  if (typeof cookie === 'function') {
    const cookieFor = (req: IncomingMessage): CookieAttributes => resolveCookie(askOption('cookie', 'the cookie attributes', cookie, req) as CookieOptions, name, production)
    return { cookieFor, staticCookie: undefined }
  }
  const attrs = resolveCookie(cookie ?? {}, name, production)
  return { cookieFor: () => attrs, staticCookie: attrs }
}

function defaultName(production: boolean, cookie: CookieOption): string {
  if (!production) return 'sid'
  const staticCookie = typeof cookie === 'object' && cookie !== null ? cookie : {}
  // a prefix is only chosen when it can hold: both need Secure on every response
  if ((staticCookie.secure ?? true) !== true) return 'sid'
  const hostOnlyRoot = (staticCookie.path ?? '/') === '/' && staticCookie.domain === undefined && typeof cookie !== 'function'
  return hostOnlyRoot ? '__Host-sid' : '__Secure-sid'
}

