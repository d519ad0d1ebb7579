import type { IncomingMessage, ServerResponse } from 'node:http'
import { Cookie, type CookieOptions } from '../cookie.ts'
import { deprecate } from '../deprecate.ts'
import { VerifiedCookies } from '../engine/verified-cookies.ts'
import { Session, type CompatRequest, type Store } from '../express-store.ts'
import { generateLegacyId } from '../id.ts'
import { COMPAT_OPTION_NAMES, COOKIE_OPTION_NAMES, findUnknownOptions } from '../option-names.ts'
import { isSecureRequest } from '../request-security.ts'
import type { SharedSessionOptions } from '../shared-options.ts'
import type { Secret } from '../signing.ts'
import { isContractStore } from '../stores/contract.ts'
import { toCallbackStore } from '../stores/legacy.ts'
import { MemoryStore } from './memory-store.ts'
import { noticeUnknownOptions } from './unknown-options-notice.ts'

/** compat: express-session reads NODE_ENV once, when the module is first loaded. */
const env = process.env.NODE_ENV

const MEMORY_WARNING =
  'Warning: connect.session() MemoryStore is not\n' +
  'designed for a production environment, as it will leak\n' +
  'memory, and will not scale past a single process.'

/** The options of the compat entry: exactly express-session 1.19's. */
export interface CompatSessionOptions extends SharedSessionOptions {
  secret?: Secret | Secret[] | undefined
}

export type NextFunction = (err?: unknown) => void

/** The middleware both entries return; assignable to Express 4 and 5 `RequestHandler`. */
export type SessionMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void

/** What one `session()` call of the compat entry resolved, shared by its requests. */
export interface CompatSettings {
  readonly cookieOptions: CookieOptions | ((req: IncomingMessage) => CookieOptions)
  readonly name: string
  readonly store: Store
  readonly trustProxy: boolean | undefined
  readonly resave: boolean
  readonly rolling: boolean
  readonly saveUninitialized: boolean
  readonly unsetDestroy: boolean
  /** The `secret` option as a list; undefined: each request's `req.secret` (cookie-parser's). */
  readonly secrets: Secret[] | undefined
  readonly storeImplementsTouch: boolean
  /** Verified cookie values, only with configured secrets (`req.secret` may differ per request). */
  readonly verified: VerifiedCookies<string> | undefined
  /** The store has not reported `disconnect` since its last `connect`. */
  storeReady: boolean
}

/** express-session's option handling, check for check and warning for warning, in its order. */
export function resolveCompatOptions(options: CompatSessionOptions | undefined): CompatSettings {
  const opts = options || {}
  const cookieOptions = opts.cookie || {}
  const generateId = opts.genid || generateLegacyId
  let store: Store
  if (!opts.store) store = new MemoryStore()
  else if (isContractStore(opts.store)) store = toCallbackStore(opts.store)
  else store = opts.store as unknown as Store
  if (typeof generateId !== 'function') throw new TypeError('genid option must be a function')
  const resave = opts.resave === undefined ? deprecatedDefault('undefined resave option; provide resave option') : opts.resave
  const saveUninitialized = opts.saveUninitialized === undefined ? deprecatedDefault('undefined saveUninitialized option; provide saveUninitialized option') : opts.saveUninitialized
  if (opts.unset && opts.unset !== 'destroy' && opts.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"')
  }
  const secrets = secretsOf(opts.secret)
  if (env === 'production' && store instanceof MemoryStore) console.warn(MEMORY_WARNING)
  if (env !== 'production') {
    const cookieUnknown = typeof cookieOptions === 'object' ? findUnknownOptions(cookieOptions, COOKIE_OPTION_NAMES, { cookie: true, topLevel: COMPAT_OPTION_NAMES }) : []
    noticeUnknownOptions([...findUnknownOptions(opts, COMPAT_OPTION_NAMES), ...cookieUnknown])
  }
  installGenerate(store, opts)
  return {
    cookieOptions,
    name: opts.name || opts.key || 'connect.sid',
    store,
    trustProxy: opts.proxy,
    resave,
    rolling: Boolean(opts.rolling),
    saveUninitialized,
    unsetDestroy: opts.unset === 'destroy',
    secrets,
    storeImplementsTouch: typeof store.touch === 'function',
    verified: secrets ? new VerifiedCookies<string>() : undefined,
    storeReady: true,
  }
}

/** compat: an option express-session wants given defaults to true, with a deprecation. */
function deprecatedDefault(message: string): true {
  deprecate(message)
  return true
}

function secretsOf(secret: Secret | Secret[] | undefined): Secret[] | undefined {
  if (Array.isArray(secret) && secret.length === 0) {
    throw new TypeError('secret option array must contain one or more strings')
  }
  if (!secret) {
    deprecate('req.secret; provide secret option')
    return undefined
  }
  return Array.isArray(secret) ? secret : [secret]
}

/**
 * compat: the middleware installs `generate` on the store; with several middleware instances on one
 * store the last one constructed wins for regenerate(), as in express-session.
 */
function installGenerate(store: Store, opts: CompatSessionOptions): void {
  const cookieOptions = opts.cookie || {}
  const generateId = opts.genid || generateLegacyId
  const trustProxy = opts.proxy
  store.generate = function generate(req: CompatRequest) {
    req.sessionID = generateId(req)
    req.session = new Session(req)
    req.session.cookie = new Cookie(typeof cookieOptions === 'function' ? cookieOptions(req) : cookieOptions)
    const secure = isSecureRequest(req, trustProxy)
    // compat: 'auto' is resolved only for an options object; a function's result keeps 'auto'
    const staticOptions = cookieOptions as CookieOptions
    if (staticOptions.secure === 'auto') req.session.cookie.secure = secure
    if (staticOptions.sameSite === 'auto') req.session.cookie.sameSite = secure ? 'none' : 'lax'
  }
}
