import type { IncomingMessage, ServerResponse } from 'node:http'
import { Cookie, serializeCookie, type CookieOptions } from '../cookie.ts'
import { firstCookieValue } from '../cookie-header.ts'
import { debug } from '../debug.ts'
import { deprecate } from '../deprecate.ts'
import { generateLegacyId } from '../id.ts'
import { signLegacy, unsignLegacy, type Secret } from '../signing.ts'
import { isSecureRequest } from '../request-security.ts'
import { appendSetCookie, holdEnd, onHeaders } from '../engine/response-hooks.ts'

/** A store operation run at the end of the response; it calls `done` once, with the error if it failed. */
type EndWork = (done: (err?: unknown) => void) => void
import { originalPathname } from '../engine/path.ts'
import { VerifiedCookies } from '../engine/verified-cookies.ts'
import { isContractStore, type SessionStore } from '../stores/contract.ts'
import { toCallbackStore } from '../stores/legacy.ts'
import { MemoryStore } from './memory-store.ts'
import { Session, type CompatRequest, type ExpressSessionStore, type Store } from '../express-store.ts'
import { COMPAT_OPTION_NAMES, COOKIE_OPTION_NAMES, findUnknownOptions } from '../option-names.ts'
import { noticeUnknownOptions } from './unknown-options-notice.ts'

/** compat: express-session reads NODE_ENV once, when the module is first loaded. */
const env = process.env.NODE_ENV

const MEMORY_WARNING =
  'Warning: connect.session() MemoryStore is not\n' +
  'designed for a production environment, as it will leak\n' +
  'memory, and will not scale past a single process.'

/** The options of the compat entry: exactly express-session 1.19's. */
export interface CompatSessionOptions {
  secret?: Secret | Secret[] | undefined
  name?: string | undefined
  /** Legacy alias of `name`. */
  key?: string | undefined
  store?: ExpressSessionStore | SessionStore | undefined
  cookie?: CookieOptions | ((req: IncomingMessage) => CookieOptions) | undefined
  genid?: ((req: IncomingMessage) => string) | undefined
  resave?: boolean | undefined
  saveUninitialized?: boolean | undefined
  rolling?: boolean | undefined
  proxy?: boolean | undefined
  unset?: 'destroy' | 'keep' | undefined
}

export type NextFunction = (err?: unknown) => void

/** The middleware both entries return; assignable to Express 4 and 5 `RequestHandler`. */
export type SessionMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void

/**
 * compat: express-session's change detector: the JSON of the session without its top-level
 * `cookie`. Compared as strings rather than sha1 digests: the same decision, one step less.
 */
function snapshot(sess: Record<string, unknown>): string {
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(sess)) if (key !== 'cookie') copy[key] = sess[key]
  return JSON.stringify(copy)
}

function unsignCookie(value: string, secrets: readonly Secret[]): string | false {
  const verified = unsignLegacy(value, secrets)
  return verified === undefined ? false : verified.value
}

function getCookie(req: CompatRequest, name: string, secrets: readonly Secret[], cache: VerifiedCookies<string> | undefined): string | undefined {
  const header = req.headers.cookie
  let val: string | false | undefined
  if (header) {
    const raw = firstCookieValue(header, name)
    if (raw) {
      if (raw.startsWith('s:')) {
        const known = cache?.get(raw)
        val = known ?? unsignCookie(raw.slice(2), secrets)
        if (known === undefined && cache !== undefined && typeof val === 'string') cache.set(raw, val)
        if (val === false) {
          debug('cookie signature invalid')
          val = undefined
        }
      } else {
        debug('cookie unsigned')
      }
    }
  }
  // compat: cookie-parser fallbacks, each deprecated in express-session
  if (!val && req.signedCookies) {
    val = req.signedCookies[name] as string | undefined
    if (val) deprecate('cookie should be available in req.headers.cookie')
  }
  if (!val && req.cookies) {
    const raw = req.cookies[name]
    if (raw) {
      // compat: a non-string value (a cookie-parser JSON cookie) fails as in express-session
      if (typeof raw !== 'string') throw new TypeError('raw.substr is not a function')
      if (raw.startsWith('s:')) {
        val = unsignCookie(raw.slice(2), secrets)
        if (val) deprecate('cookie should be available in req.headers.cookie')
        if (val === false) {
          debug('cookie signature invalid')
          val = undefined
        }
      } else {
        debug('cookie unsigned')
      }
    }
  }
  return val as string | undefined
}

/**
 * express-session 1.19, behaviour for behaviour (see the compat entry's documentation). Decisions
 * keep express-session's names (`shouldSave`, `shouldTouch`, `shouldSetCookie`, `shouldDestroy`).
 */
export function compatSession(options?: CompatSessionOptions): SessionMiddleware {
  const opts = options || {}
  const cookieOptions = opts.cookie || {}
  const generateId = opts.genid || generateLegacyId
  const name = opts.name || opts.key || 'connect.sid'
  let store: Store
  if (!opts.store) store = new MemoryStore()
  else if (isContractStore(opts.store)) store = toCallbackStore(opts.store)
  else store = opts.store as unknown as Store
  const trustProxy = opts.proxy
  let resaveSession = opts.resave
  const rollingSessions = Boolean(opts.rolling)
  let saveUninitializedSession = opts.saveUninitialized
  let secret = opts.secret as Secret | Secret[] | undefined

  if (typeof generateId !== 'function') throw new TypeError('genid option must be a function')
  if (resaveSession === undefined) {
    deprecate('undefined resave option; provide resave option')
    resaveSession = true
  }
  if (saveUninitializedSession === undefined) {
    deprecate('undefined saveUninitialized option; provide saveUninitialized option')
    saveUninitializedSession = true
  }
  if (opts.unset && opts.unset !== 'destroy' && opts.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"')
  }
  const unsetDestroy = opts.unset === 'destroy'
  if (Array.isArray(secret) && secret.length === 0) {
    throw new TypeError('secret option array must contain one or more strings')
  }
  if (secret && !Array.isArray(secret)) secret = [secret]
  if (!secret) deprecate('req.secret; provide secret option')
  if (env === 'production' && store instanceof MemoryStore) console.warn(MEMORY_WARNING)
  if (env !== 'production') {
    const cookieUnknown = typeof cookieOptions === 'object' ? findUnknownOptions(cookieOptions, COOKIE_OPTION_NAMES, { cookie: true, topLevel: COMPAT_OPTION_NAMES }) : []
    noticeUnknownOptions([...findUnknownOptions(opts, COMPAT_OPTION_NAMES), ...cookieUnknown])
  }

  const resave = resaveSession
  const saveUninitialized = saveUninitializedSession
  const configuredSecrets = secret as Secret[] | undefined

  // compat: the middleware installs `generate` on the store; with several middleware instances on
  // one store the last one constructed wins for regenerate(), as in express-session
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

  const storeImplementsTouch = typeof store.touch === 'function'
  // verified values are remembered only with configured secrets (req.secret may differ per request)
  const verified = configuredSecrets ? new VerifiedCookies<string>() : undefined
  let storeReady = true
  store.on('disconnect', function ondisconnect() {
    storeReady = false
  })
  store.on('connect', function onconnect() {
    storeReady = true
  })

  return function session(request: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const req = request as CompatRequest
    if (req.session) {
      next()
      return
    }
    if (!storeReady) {
      debug('store is disconnected')
      next()
      return
    }
    const originalPath = originalPathname(req) || '/'
    const resolvedCookieOptions = typeof cookieOptions === 'function' ? cookieOptions(req) : cookieOptions
    // compat: a plain prefix test, so path '/admin' also matches '/administrator'
    if (originalPath.indexOf(resolvedCookieOptions.path || '/') !== 0) {
      debug('pathname mismatch')
      next()
      return
    }
    if (!configuredSecrets && !req.secret) {
      next(new Error('secret option required for sessions'))
      return
    }
    const secrets: Secret[] = configuredSecrets || [req.secret as string]

    let originalHash: string | undefined
    let originalId: string | undefined
    let savedHash: string | undefined
    let touched = false
    /** The header-time hook could not serialize the session: it is not saved either. */
    let unserializable = false

    req.sessionStore = store
    const cookieId = (req.sessionID = getCookie(req, name, secrets, verified) as string)

    onHeaders(res, function setSessionCookie(): void {
      try {
        if (!req.session) {
          debug('no session')
          return
        }
        if (!shouldSetCookie()) return
        if (req.session.cookie.secure && !isSecureRequest(req, trustProxy)) {
          debug('not secured')
          return
        }
        if (!touched) {
          req.session.touch()
          touched = true
        }
        try {
          const signed = 's:' + signLegacy(req.sessionID, secrets[0] as Secret)
          appendSetCookie(res, serializeCookie(name, signed, req.session.cookie.data))
        } catch (err) {
          setImmediate(next, err)
        }
      } catch (err) {
        // express-session throws a session JSON cannot hold (a cycle, a BigInt, too deep) out of whatever
        // wrote the headers, uncaught from a timer or a stream: here it goes to next() as a cookie error does
        unserializable = true
        setImmediate(next, err)
      }
    }, undefined)

    holdEnd(res, { writeFirst: false, decide: commitSession, run: (work: EndWork, _context: undefined, done) => work(done), onError: (err) => setImmediate(next, err) }, undefined)

    function commitSession(): EndWork | undefined {
      if (shouldDestroy()) {
        debug('destroying')
        return (done) =>
          store.destroy(req.sessionID, function ondestroy(err) {
            if (err) setImmediate(next, err)
            debug('destroyed')
            done()
          })
      }
      if (!req.session) {
        debug('no session')
        return undefined
      }
      if (unserializable) return undefined
      if (!touched) {
        req.session.touch()
        touched = true
      }
      const sess = req.session
      if (shouldSave()) {
        return (done) =>
          sess.save(function onsave(err) {
            if (err) setImmediate(next, err)
            done()
          })
      }
      // shouldTouch() is `cookieId === req.sessionID && !shouldSave()`, and shouldSave() was just false:
      // the same decision without serializing the session a second time
      if (storeImplementsTouch && typeof req.sessionID === 'string' && cookieId === req.sessionID) {
        debug('touching')
        return (done) =>
          store.touch!(req.sessionID, sess, function ontouch(err) {
            if (err) setImmediate(next, err)
            debug('touched')
            done()
          })
      }
      return undefined
    }

    function generate(): void {
      store.generate(req)
      originalId = req.sessionID
      originalHash = snapshot(req.session as Session)
      wrapMethods(req.session as Session)
    }

    function inflate(data: Parameters<Store['createSession']>[1]): void {
      store.createSession(req, data)
      originalId = req.sessionID
      // compat: the original state is the data as the store gave it, before the Session dropped
      // reserved keys, so a stored `save: 'nope'` makes the session count as modified
      originalHash = snapshot(data)
      if (!resave) savedHash = originalHash
      wrapMethods(req.session as Session)
    }

    function rewrapMethods(sess: Session, callback: (err?: unknown) => void) {
      return function (this: unknown, ...args: unknown[]) {
        if (req.session !== sess) wrapMethods(req.session as Session)
        ;(callback as (...a: unknown[]) => void).apply(this, args)
      }
    }

    function wrapMethods(sess: Session): void {
      const reload = sess.reload
      const save = sess.save
      Object.defineProperty(sess, 'reload', {
        configurable: true,
        enumerable: false,
        writable: true,
        // compat: the wrappers return nothing, as express-session's do
        value: function reloadSession(this: Session, callback: (err?: unknown) => void) {
          debug('reloading')
          reload.call(this, rewrapMethods(this, callback))
        },
      })
      Object.defineProperty(sess, 'save', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: function saveSession(this: Session, ...args: unknown[]) {
          debug('saving')
          savedHash = snapshot(this)
          ;(save as (...a: unknown[]) => unknown).apply(this, args)
        },
      })
    }

    function isModified(sess: Session): boolean {
      return originalId !== sess.id || originalHash !== snapshot(sess)
    }

    function isSaved(sess: Session): boolean {
      return originalId === sess.id && savedHash === snapshot(sess)
    }

    function shouldDestroy(): boolean {
      return Boolean(req.sessionID) && unsetDestroy && req.session == null
    }

    function shouldSave(): boolean {
      if (typeof req.sessionID !== 'string') {
        debug('session ignored because of bogus req.sessionID')
        return false
      }
      return !saveUninitialized && !savedHash && cookieId !== req.sessionID
        ? isModified(req.session as Session)
        : !isSaved(req.session as Session)
    }


    function shouldSetCookie(): boolean {
      if (typeof req.sessionID !== 'string') return false
      const sess = req.session as Session
      return cookieId !== req.sessionID
        ? saveUninitialized || isModified(sess)
        : rollingSessions || (sess.cookie.expires != null && isModified(sess))
    }

    if (!req.sessionID) {
      debug('no SID sent, generating session')
      generate()
      next()
      return
    }

    debug('fetching session')
    store.get(req.sessionID, function onload(err, sess) {
      if (err && (err as { code?: unknown }).code !== 'ENOENT') {
        debug('store error')
        next(err)
        return
      }
      try {
        if (err || !sess) {
          debug('no session found')
          generate()
        } else {
          debug('session found')
          inflate(sess)
        }
      } catch (e) {
        next(e)
        return
      }
      next()
    })
  }
}
