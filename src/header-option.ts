import { InvalidOptionError } from './errors.ts'

/**
 * The main entry's `header` option (header mode): the request header that carries the session id
 * instead of the cookie, checked once. The id is accepted only where it is issued, so the cookie
 * options cannot be given beside it.
 */

/** The header that carries the id in header mode. */
export interface IdHeader {
  /** The name as the app spelled it: the response carries it so (Node keeps the case it is given). */
  readonly name: string
  /** Lower case: how Node keys `req.headers`. */
  readonly field: string
}

/** RFC 9110 §5.1: a field name is a token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Long enough for any name worth choosing; a longer one is a mistake (a value passed as the name). */
const MAX_NAME_LENGTH = 64

/**
 * Names a browser's script cannot send (Fetch's forbidden request-header names), or that a proxy
 * consumes or drops (hop-by-hop, RFC 9110 §7.6.1): a client could not present the id in them.
 */
const UNSENDABLE = new Set([
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'connection',
  'content-length',
  'cookie',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
])
const UNSENDABLE_PREFIXES = ['proxy-', 'sec-']

/**
 * Names Node keeps only the first value of when a request repeats them (http's `_addHeaderLine`):
 * a second copy would vanish unseen, where every other field is joined and refused as a duplicate.
 */
const SINGLE_VALUED = new Set([
  'age',
  'authorization',
  'content-type',
  'etag',
  'expires',
  'from',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'retry-after',
  'server',
  'user-agent',
])

/** Response fields the library writes itself, and fields proxies and CORS give a meaning of their own. */
const TAKEN = new Set(['cache-control', 'vary', 'clear-site-data', 'pragma', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'])
const TAKEN_PREFIXES = ['access-control-', 'content-']

/** Why a header cannot carry the id, or undefined when it can. */
export function headerRefusal(field: string): string | undefined {
  if (field === 'authorization') {
    // RFC 9110 §11.6.2: Authorization holds `<scheme> <credentials>`, not a bare value; and Node keeps only the first of two
    return 'must not be Authorization: it carries `<scheme> <credentials>` for the app\'s own authentication, and Node drops a repeated Authorization unseen'
  }
  if (UNSENDABLE.has(field) || UNSENDABLE_PREFIXES.some((prefix) => field.startsWith(prefix))) {
    return 'names a header browsers do not let scripts send, or that proxies consume (Fetch forbidden names, hop-by-hop)'
  }
  if (SINGLE_VALUED.has(field)) return 'names a standard header Node keeps one value of, so a repeated one could not be refused'
  if (TAKEN.has(field) || TAKEN_PREFIXES.some((prefix) => field.startsWith(prefix))) return 'names a header HTTP, CORS, proxies or this library already give a meaning'
  return undefined
}

/** The options header mode cannot take: they configure a cookie it neither reads nor sets. */
const COOKIE_ONLY = ['cookie', 'name', 'key'] as const

/** Resolves the `header` option; undefined (cookie mode) when it is not given. Throws `InvalidOptionError` naming the option at fault. */
export function resolveHeader(options: { header?: unknown; cookie?: unknown; name?: unknown; key?: unknown }): IdHeader | undefined {
  const name = options.header
  if (name === undefined) return undefined
  if (typeof name !== 'string' || !TOKEN.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new InvalidOptionError('header', `must be an HTTP field name (RFC 9110 token) of at most ${MAX_NAME_LENGTH} characters, such as 'X-Session-Token'`)
  }
  const field = name.toLowerCase()
  const refusal = headerRefusal(field)
  if (refusal !== undefined) throw new InvalidOptionError('header', `${refusal}; choose a header of your own, such as 'X-Session-Token'`)
  for (const option of COOKIE_ONLY) {
    // a cookie option beside `header` means the app expects a cookie that is never set: a session that silently does not stick
    if (options[option] !== undefined) {
      throw new InvalidOptionError(option, 'configures the session cookie, and with `header` no cookie is read or set: remove it (or remove `header` to use the cookie)')
    }
  }
  return Object.freeze({ name, field })
}

/** The name a header-mode id's MAC binds (R3): no cookie name holds a colon, so a value issued for one never verifies for the other. */
export function headerMacName(header: IdHeader): string {
  return `header:${header.field}`
}
