import { deprecate } from './deprecate.ts'

/** SameSite as express-session accepts it: `true` means Strict; `'auto'` is resolved when a session is generated. */
export type SameSiteOption = boolean | 'lax' | 'strict' | 'none' | 'auto'
export type PriorityOption = 'low' | 'medium' | 'high'

/** Cookie options, as accepted by express-session's `cookie` option. */
export interface CookieOptions {
  /** Milliseconds until the cookie expires; `null` makes a browser-session cookie. */
  maxAge?: number | null | undefined
  /** Absolute expiry; prefer `maxAge`. */
  expires?: Date | null | undefined
  /** Default `true`. */
  httpOnly?: boolean | undefined
  /** `'auto'` follows the request's protocol. */
  secure?: boolean | 'auto' | undefined
  sameSite?: SameSiteOption | undefined
  domain?: string | undefined
  /** Default `'/'`. */
  path?: string | undefined
  partitioned?: boolean | undefined
  priority?: PriorityOption | undefined
  /** Typed by @types/express-session; ignored at run time, as in express-session. */
  signed?: boolean | undefined
  /** Typed by @types/express-session; ignored at run time, as in express-session. */
  encode?: ((value: string) => string) | undefined
}

/** The attributes a cookie is serialized from. */
export interface CookieData {
  originalMaxAge: number | null | undefined
  partitioned: boolean | undefined
  priority: PriorityOption | undefined
  expires: Date | null | undefined
  secure: boolean | 'auto' | undefined
  httpOnly: boolean | undefined
  domain: string | undefined
  path: string | undefined
  sameSite: SameSiteOption | undefined
}

// RFC 6265 §4.1.1 token; cookie-octet; domain LDH labels; path = any CHAR except CTL and ';'.
const NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const VALUE_PATTERN = /^("?)[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]*\1$/
const DOMAIN_PATTERN = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const PATH_PATTERN = /^[\u0020-\u003A\u003D-\u007E]*$/

export function isValidCookieName(name: string): boolean {
  return NAME_PATTERN.test(name)
}
export function isValidCookieDomain(domain: string): boolean {
  return DOMAIN_PATTERN.test(domain)
}
export function isValidCookiePath(path: string): boolean {
  return PATH_PATTERN.test(path)
}

/** The attributes `serializeCookie` reads; `maxAge` is in seconds here, as on the wire. */
export interface SerializeAttributes {
  maxAge?: number | null | undefined
  domain?: string | undefined
  path?: string | undefined
  expires?: Date | null | undefined
  httpOnly?: boolean | undefined
  secure?: boolean | 'auto' | undefined
  partitioned?: boolean | undefined
  priority?: string | undefined
  sameSite?: SameSiteOption | string | undefined
}

/**
 * A `Set-Cookie` value. compat: the value is URI-encoded and every check and message is the one
 * of the cookie 0.7 package that express-session uses, so errors forwarded to `next()` read the same.
 */
export function serializeCookie(name: string, value: string, attrs: SerializeAttributes): string {
  if (!NAME_PATTERN.test(name)) throw new TypeError('argument name is invalid')
  const encoded = encodeURIComponent(value)
  if (!VALUE_PATTERN.test(encoded)) throw new TypeError('argument val is invalid')
  let str = name + '=' + encoded
  if (attrs.maxAge != null) {
    const maxAge = Math.floor(attrs.maxAge)
    if (!isFinite(maxAge)) throw new TypeError('option maxAge is invalid')
    str += '; Max-Age=' + maxAge
  }
  if (attrs.domain) {
    if (!DOMAIN_PATTERN.test(attrs.domain)) throw new TypeError('option domain is invalid')
    str += '; Domain=' + attrs.domain
  }
  if (attrs.path) {
    if (!PATH_PATTERN.test(attrs.path)) throw new TypeError('option path is invalid')
    str += '; Path=' + attrs.path
  }
  if (attrs.expires) {
    const expires = attrs.expires
    if (Object.prototype.toString.call(expires) !== '[object Date]' || isNaN(expires.valueOf())) {
      throw new TypeError('option expires is invalid')
    }
    str += '; Expires=' + expires.toUTCString()
  }
  if (attrs.httpOnly) str += '; HttpOnly'
  if (attrs.secure) str += '; Secure'
  if (attrs.partitioned) str += '; Partitioned'
  if (attrs.priority) {
    const priority = typeof attrs.priority === 'string' ? attrs.priority.toLowerCase() : attrs.priority
    if (priority === 'low') str += '; Priority=Low'
    else if (priority === 'medium') str += '; Priority=Medium'
    else if (priority === 'high') str += '; Priority=High'
    else throw new TypeError('option priority is invalid')
  }
  if (attrs.sameSite) {
    const sameSite = typeof attrs.sameSite === 'string' ? attrs.sameSite.toLowerCase() : attrs.sameSite
    if (sameSite === true || sameSite === 'strict') str += '; SameSite=Strict'
    else if (sameSite === 'lax') str += '; SameSite=Lax'
    else if (sameSite === 'none') str += '; SameSite=None'
    else throw new TypeError('option sameSite is invalid')
  }
  return str
}

/**
 * The session cookie, as `req.session.cookie`: express-session's `Cookie`, with the same own
 * properties, accessors and JSON form. Setting `maxAge` sets `expires`; reading it gives the
 * milliseconds left.
 */
export class Cookie {
  declare path: string | undefined
  declare httpOnly: boolean | undefined
  declare originalMaxAge: number | null | undefined
  declare secure: boolean | 'auto' | undefined
  declare sameSite: SameSiteOption | undefined
  declare domain: string | undefined
  declare partitioned: boolean | undefined
  declare priority: PriorityOption | undefined
  declare _expires: Date | null | undefined

  constructor(options?: CookieOptions | Partial<CookieData> | null) {
    this.path = '/'
    this.maxAge = null
    this.httpOnly = true
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object')
      // compat: every key but `data` is copied through the setters, in the object's key order
      for (const key in options) {
        if (key !== 'data') (this as unknown as Record<string, unknown>)[key] = (options as Record<string, unknown>)[key]
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge
    }
  }

  set expires(date: Date | null | undefined) {
    this._expires = date
    this.originalMaxAge = this.maxAge
  }

  get expires(): Date | null | undefined {
    return this._expires
  }

  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date')
    }
    if (ms instanceof Date) deprecate('maxAge as Date; pass number of milliseconds instead')
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms
  }

  get maxAge(): number | null | undefined {
    const expires = this.expires
    // compat: a non-Date `expires` (a string from a careless store) is returned as it is
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires as null | undefined)
  }

  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    }
  }

  serialize(name: string, value: string): string {
    return serializeCookie(name, value, this.data)
  }

  toJSON(): CookieData {
    return this.data
  }
}

// compat: express-session's Cookie.prototype is an object literal, so its accessors and methods are
// enumerable (`for…in` over a cookie lists them, and stores that copy with `for…in` rely on it)
for (const name of ['expires', 'maxAge', 'data', 'serialize', 'toJSON']) {
  Object.defineProperty(Cookie.prototype, name, { enumerable: true })
}
