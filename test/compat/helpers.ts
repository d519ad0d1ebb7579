/**
 * Shared harness of the compat behaviour suite: every test runs against express-session 1.19.0
 * itself and against `src/compat.ts`, and every HTTP test on plain node:http, Express 5 and Express 4.
 * Tests may use `any` for request/response objects and session modules; it stays in test/compat.
 */
import { spawnSync } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import { createRequire } from 'node:module'
import { inherits } from 'node:util'
import { parseSetCookie, type ParsedSetCookie } from '../support/set-cookie.ts'
import { request, type Reply, type RequestOptions } from '../support/request.ts'
export { request, type Reply, type RequestOptions }
export { parseSetCookie, type ParsedSetCookie }

export const require = createRequire(import.meta.url)

// depd (express-session) and process.emitWarning (tessera) both honour this: keeps the output readable
process.noDeprecation = true

export type SessionModule = any
export type Req = any
export type Res = any
export type Next = (err?: unknown) => void
export type Middleware = (req: Req, res: Res, next: Next) => void

export const expressSession: SessionModule = require('express-session')
export const tesseraCompat: SessionModule = (await import('../../src/compat.ts')).default

export const EXPRESS_SESSION = 'express-session'
export const TESSERA = 'tessera compat'

/** Both implementations; every test of the suite runs on each. */
export const IMPLEMENTATIONS: Array<[string, SessionModule]> = [
  [EXPRESS_SESSION, expressSession],
  [TESSERA, tesseraCompat],
]

/** express-session's own signer (cookie-signature 1.0.7). */
export const signature: { sign(value: string, secret: unknown): string; unsign(value: string, secret: unknown): string | false } =
  require('express-session/node_modules/cookie-signature')

export const SECRET = 'keyboard cat'


export interface Host {
  name: string
  /** The express factory, or undefined for a bare node:http server. */
  express: ((...args: unknown[]) => any) | undefined
}

export const HOSTS: Host[] = [
  { name: 'node:http', express: undefined },
  { name: 'express 5', express: require('express') },
  { name: 'express 4', express: require('express4') },
]

/** express-session with the options the suite uses unless a test says otherwise. */
export function withDefaults(options: Record<string, unknown> = {}): Record<string, unknown> {
  return { secret: SECRET, resave: false, saveUninitialized: true, ...options }
}

// ---------------------------------------------------------------------------------------------
// child processes

/** How a child process loads each implementation. */
const LOADERS: Record<string, string> = {
  [EXPRESS_SESSION]: `const session = (await import('node:module')).createRequire(${JSON.stringify(import.meta.url)})('express-session')`,
  [TESSERA]: `const session = (await import(${JSON.stringify(new URL('../../src/compat.ts', import.meta.url).href)})).default`,
}

/** Runs `code` in a fresh Node process (this one's binary) after loading `impl` as `session`. */
export function runChild(impl: string, code: string, env: Record<string, string | undefined> = {}): { stdout: string; stderr: string; status: number | null } {
  const childEnv: Record<string, string | undefined> = { ...process.env, NODE_ENV: undefined, NODE_OPTIONS: undefined, ...env }
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key]
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', `${LOADERS[impl]}\n${code}`], {
    env: childEnv as NodeJS.ProcessEnv,
    encoding: 'utf8',
    timeout: 10_000,
  })
  return { stdout: result.stdout, stderr: result.stderr, status: result.status }
}

// ---------------------------------------------------------------------------------------------
// servers

export interface ServeOptions {
  /** Middleware run before the session middleware (e.g. one that sets req.secret). */
  before?: Middleware[]
  /** Mount path of the session middleware and the handler (Express hosts only). */
  mount?: string
  /** `app.set('trust proxy', true)` (Express hosts only). */
  trustProxy?: boolean
}



export interface TestServer {
  server: http.Server
  url: string
  /** Errors that reached the error handler after the headers were sent (store errors, setcookie errors). */
  errors: any[]
  request(path?: string, options?: RequestOptions): Promise<Reply>
  /** Resolves once `count` errors arrived (after the response), or rejects after 500 ms. */
  waitForErrors(count?: number): Promise<any[]>
  close(): Promise<void>
}

const open = new Set<TestServer>()

/** Closes every server a test opened; each test file registers it with `afterEach`. */
export async function closeServers(): Promise<void> {
  const servers = [...open]
  open.clear()
  await Promise.all(servers.map((s) => s.close()))
}

function handleError(errors: any[], err: any, res: Res): void {
  if (res.headersSent) {
    // like express-session's own harness: an error after the response has started is only recorded
    errors.push(err)
    return
  }
  res.statusCode = (err && typeof err.status === 'number' && err.status) || 500
  res.setHeader('Content-Type', 'text/plain')
  res.end(String(err && err.message !== undefined ? err.message : err))
}

/**
 * Starts a server on 127.0.0.1:0 running `before`, the session middleware(s) and `handler`. Errors
 * passed to `next` become a 500 with the error message, or are recorded in `errors` when the
 * response had already started.
 */
export async function serve(
  host: Host,
  sessionMiddleware: Middleware | Middleware[],
  handler: Middleware,
  options: ServeOptions = {},
): Promise<TestServer> {
  const errors: any[] = []
  const chain = [...(options.before ?? []), ...(Array.isArray(sessionMiddleware) ? sessionMiddleware : [sessionMiddleware]), handler]
  let listener: http.RequestListener
  if (host.express) {
    const app = host.express()
    if (options.trustProxy) app.set('trust proxy', true)
    if (options.mount) app.use(options.mount, ...chain)
    else app.use(...chain)
    app.use((err: any, _req: Req, res: Res, _next: Next) => handleError(errors, err, res))
    listener = app
  } else {
    if (options.mount || options.trustProxy) throw new Error('mount and trustProxy need an Express host')
    listener = (req, res) => {
      const run = (index: number, err?: unknown): void => {
        if (err) return handleError(errors, err, res)
        const fn = chain[index]
        if (!fn) {
          res.statusCode = 404
          res.end('not found')
          return
        }
        try {
          fn(req, res, (e?: unknown) => run(index + 1, e))
        } catch (e) {
          handleError(errors, e, res)
        }
      }
      run(0)
    }
  }
  const server = http.createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const testServer: TestServer = {
    server,
    url,
    errors,
    request: (path = '/', opts = {}) => request(url + path, opts),
    waitForErrors: async (count = 1) => {
      await waitFor(() => errors.length >= count, 500)
      return errors
    },
    close: () =>
      new Promise<void>((resolve) => {
        open.delete(testServer)
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  open.add(testServer)
  return testServer
}


/** Polls `condition` every 2 ms; rejects after `timeout` ms. */
export async function waitFor(condition: () => boolean, timeout = 500): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function sendJson(res: Res, value: unknown): void {
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify(value))
}

/**
 * A request/response pair that is never sent, for calling a middleware directly (what a test needs
 * when the behaviour under test makes the HTTP exchange unusable).
 */
export function exchange(url = '/', headers: Record<string, string> = {}): { req: Req; res: Res } {
  const req: any = new http.IncomingMessage(new net.Socket())
  req.method = 'GET'
  req.url = url
  req.headers = headers
  const res = new http.ServerResponse(req)
  return { req, res }
}

// ---------------------------------------------------------------------------------------------
// cookies


/** The Set-Cookie of the session cookie `name`, parsed, or undefined. */
export function sessionCookie(reply: Reply, name = 'connect.sid'): ParsedSetCookie | undefined {
  return reply.cookies.map(parseSetCookie).find((c) => c.name === name)
}

/** `name=value` of the session cookie, to send back; throws when the reply has none. */
export function cookiePair(reply: Reply, name = 'connect.sid'): string {
  const cookie = sessionCookie(reply, name)
  if (!cookie) throw new Error(`no ${name} Set-Cookie in ${JSON.stringify(reply.cookies)}`)
  return `${cookie.name}=${cookie.value}`
}

/** The session id inside a Set-Cookie value (`s%3A<id>.<sig>`), without checking the signature. */
export function sidOf(reply: Reply, name = 'connect.sid'): string {
  const cookie = sessionCookie(reply, name)
  if (!cookie) throw new Error(`no ${name} Set-Cookie in ${JSON.stringify(reply.cookies)}`)
  const decoded = decodeURIComponent(cookie.value)
  if (!decoded.startsWith('s:')) throw new Error(`unsigned cookie ${decoded}`)
  return decoded.slice(2, decoded.lastIndexOf('.'))
}

/** A Cookie request header carrying `sid` signed as express-session signs it. */
export function signedCookie(sid: string, secret: unknown = SECRET, name = 'connect.sid'): string {
  return `${name}=${encodeURIComponent('s:' + signature.sign(sid, secret))}`
}

// ---------------------------------------------------------------------------------------------
// stores

export interface StoredCookie {
  originalMaxAge: number | null
  expires: string | null
  httpOnly: boolean
  path: string
  [key: string]: unknown
}

export const BROWSER_SESSION_COOKIE: StoredCookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }

export function maxAgeCookie(ms: number): StoredCookie {
  return { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' }
}

export interface SpyStoreOptions {
  /** Give the store a `touch` method (default true). */
  touch?: boolean
  /** Call back synchronously, inline (default: on setImmediate, as MemoryStore does). */
  sync?: boolean
}

/** A store built with `class extends session.Store`, recording every call. */
export interface SpyStore extends EventEmitter {
  /** sid → JSON string, as express-session's MemoryStore keeps it. */
  sessions: Record<string, string>
  /** `[method, sid]` of every call, in order. */
  calls: Array<[string, string]>
  getError: any
  setError: any
  destroyError: any
  touchError: any
  /** When set, `set` calls back only once this promise settles. */
  setGate: Promise<void> | undefined
  /** When true, `get` never calls back. */
  hangGet: boolean
  generate?: (req: Req) => void
  count(method: string): number
  /** Stores `data` with `cookie` under `sid`, as a previous request would have. */
  seed(sid: string, data?: Record<string, unknown>, cookie?: StoredCookie): void
  /** The parsed stored session, or undefined. */
  stored(sid: string): any
  get(sid: string, cb: (err: unknown, sess?: unknown) => void): void
  set(sid: string, sess: unknown, cb?: (err?: unknown) => void): void
  destroy(sid: string, cb?: (err?: unknown) => void): void
  touch?(sid: string, sess: any, cb?: (err?: unknown) => void): void
  load(sid: string, cb: (err?: unknown, sess?: any) => void): void
  createSession(req: Req, data: any): any
  regenerate(req: Req, cb: (err?: unknown) => void): void
}

export function createSpyStore(session: SessionModule, options: SpyStoreOptions = {}): SpyStore {
  const later = options.sync
    ? (fn: (...a: any[]) => void, ...args: any[]) => fn(...args)
    : (fn: (...a: any[]) => void, ...args: any[]) => void setImmediate(fn, ...args)
  const Base = session.Store as new () => EventEmitter

  class ClassStyleSpyStore extends Base {
    sessions: Record<string, string> = Object.create(null)
    calls: Array<[string, string]> = []
    getError: any = undefined
    setError: any = undefined
    destroyError: any = undefined
    touchError: any = undefined
    setGate: Promise<void> | undefined = undefined
    hangGet = false

    count(method: string): number {
      return this.calls.filter(([m]) => m === method).length
    }

    seed(sid: string, data: Record<string, unknown> = {}, cookie: StoredCookie = BROWSER_SESSION_COOKIE): void {
      this.sessions[sid] = JSON.stringify({ cookie, ...data })
    }

    stored(sid: string): any {
      const json = this.sessions[sid]
      return json === undefined ? undefined : JSON.parse(json)
    }

    get(sid: string, cb: (err: unknown, sess?: unknown) => void): void {
      this.calls.push(['get', sid])
      if (this.hangGet) return
      if (this.getError) return later(cb, this.getError)
      later(cb, null, this.stored(sid))
    }

    set(sid: string, sess: unknown, cb?: (err?: unknown) => void): void {
      this.calls.push(['set', sid])
      this.sessions[sid] = JSON.stringify(sess)
      const err = this.setError
      const answer = () => (cb ? later(cb, err) : undefined)
      if (this.setGate) void this.setGate.then(answer)
      else answer()
    }

    destroy(sid: string, cb?: (err?: unknown) => void): void {
      this.calls.push(['destroy', sid])
      delete this.sessions[sid]
      if (cb) later(cb, this.destroyError)
    }
  }

  class TouchingSpyStore extends ClassStyleSpyStore {
    touch(sid: string, sess: any, cb?: (err?: unknown) => void): void {
      this.calls.push(['touch', sid])
      const current = this.stored(sid)
      if (current) {
        current.cookie = sess.cookie
        this.sessions[sid] = JSON.stringify(current)
      }
      if (cb) later(cb, this.touchError)
    }
  }

  const Ctor = options.touch === false ? ClassStyleSpyStore : TouchingSpyStore
  return new Ctor() as unknown as SpyStore
}

export interface LegacyStoreMethods {
  get(this: any, sid: string, cb: (err: unknown, sess?: unknown) => void): void
  set(this: any, sid: string, sess: unknown, cb?: (err?: unknown) => void): void
  destroy(this: any, sid: string, cb?: (err?: unknown) => void): void
  touch?(this: any, sid: string, sess: unknown, cb?: (err?: unknown) => void): void
}

/**
 * A store written the ES5 way most published stores are: a function constructor calling
 * `Store.call(this)`, inheriting with `util.inherits`.
 */
export function createLegacyStore(session: SessionModule, methods: LegacyStoreMethods): any {
  function LegacyStore(this: any) {
    session.Store.call(this)
    this.sessions = Object.create(null)
  }
  inherits(LegacyStore, session.Store)
  Object.assign(LegacyStore.prototype, methods)
  return new (LegacyStore as any)()
}

/** A legacy-style store that calls back synchronously, inline. */
export function createSyncStore(session: SessionModule): any {
  return createLegacyStore(session, {
    get(sid, cb) {
      const json = this.sessions[sid]
      cb(null, json === undefined ? undefined : JSON.parse(json))
    },
    set(sid, sess, cb) {
      this.sessions[sid] = JSON.stringify(sess)
      if (cb) cb()
    },
    destroy(sid, cb) {
      delete this.sessions[sid]
      if (cb) cb()
    },
  })
}

/** Promisified `store.get`. */
export function storeGet(store: any, sid: string): Promise<any> {
  return new Promise((resolve, reject) => store.get(sid, (err: unknown, sess: unknown) => (err ? reject(err) : resolve(sess))))
}

/** Promisified `store.set`. */
export function storeSet(store: any, sid: string, sess: unknown): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, sess, (err: unknown) => (err ? reject(err) : resolve())))
}
