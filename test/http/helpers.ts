/**
 * Harness of the main-entry HTTP suite: every test runs on a real Express 5 and a real Express 4 app
 * listening on 127.0.0.1, port 0, with real HTTP requests. Stores are real MemoryStores, observed
 * through spies or made to fail through small fault wrappers, never mocks of a store.
 * Tests may use `any` for request/response objects; it stays in test/.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import type { TestContext } from 'node:test'
import express5 from 'express'
import { MemoryStore, SessionDataError, type SessionHandler, type SessionMeta, type SessionStore } from '../../src/index.ts'
import { kContractStore, type StoredSession } from '../../src/stores/contract.ts'
import { storeKeyOf } from '../../src/engine/engine.ts'
import { parseSetCookie, type ParsedSetCookie } from '../support/set-cookie.ts'
import { request, type Reply, type RequestOptions } from '../support/request.ts'
export { request, type Reply, type RequestOptions }
export { parseSetCookie, type ParsedSetCookie, storeKeyOf }

export const require = createRequire(import.meta.url)

export type Req = any
export type Res = any
export type Next = (err?: unknown) => void
export type App = any

/** 48 bytes, not a known example: passes the production policy. */
export const SECRET = 'tessera test secret 0123456789 abcdefghijklmnopq'
export const OTHER_SECRET = 'another tessera test secret 9876543210 zyxwvutsr'

export interface Host {
  name: string
  express: () => App
}

/** Every HTTP test runs on both. */
export const HOSTS: Host[] = [
  { name: 'express 5', express: express5 as unknown as () => App },
  { name: 'express 4', express: require('express4') as () => App },
]

// ---------------------------------------------------------------------------------------------
// servers



export interface TestServer {
  url: string
  /** Every error that reached the error handlers, in order (Express's default handler then answers). */
  errors: any[]
  request(path?: string, options?: RequestOptions): Promise<Reply>
  close(): Promise<void>
}

const openServers = new Set<TestServer>()
const openStores = new Set<{ close?: () => Promise<void> }>()

/** Closes every server and store the test opened; each test file registers it with `afterEach`. */
export async function cleanup(): Promise<void> {
  const servers = [...openServers]
  const stores = [...openStores]
  openServers.clear()
  openStores.clear()
  await Promise.all(servers.map((s) => s.close()))
  await Promise.all(stores.map((s) => s.close?.()))
}

/**
 * Starts an app on 127.0.0.1:0. `setup` mounts the session middleware and the routes; errors are
 * recorded and passed on to Express's default error handler, which answers with `err.status`.
 */
export async function serve(host: Host, setup: (app: App) => void): Promise<TestServer> {
  const app = host.express()
  // Express's default handler logs every error unless env is 'test'
  app.set('env', 'test')
  setup(app)
  const errors: any[] = []
  app.use((err: any, _req: Req, _res: Res, next: Next) => {
    errors.push(err)
    next(err)
  })
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const testServer: TestServer = {
    url,
    errors,
    request: (path = '/', options = {}) => request(url + path, options),
    close: () =>
      new Promise<void>((resolve) => {
        openServers.delete(testServer)
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  openServers.add(testServer)
  return testServer
}


/** An async route handler that Express 4 can use too: a rejection goes to `next`. */
export function handle(fn: (req: Req, res: Res) => unknown): (req: Req, res: Res, next: Next) => void {
  return (req, res, next) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next)
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A promise with its resolver, to hold a request at a known point. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}

// ---------------------------------------------------------------------------------------------
// cookies


/** Every Set-Cookie of the cookie `name`, parsed. */
export function setCookies(reply: Reply, name = 'sid'): ParsedSetCookie[] {
  return reply.cookies.map(parseSetCookie).filter((c) => c.name === name)
}

/** The one Set-Cookie of the cookie `name`, or undefined; throws when there are several. */
export function sessionCookie(reply: Reply, name = 'sid'): ParsedSetCookie | undefined {
  const found = setCookies(reply, name)
  if (found.length > 1) throw new Error(`${found.length} ${name} Set-Cookie lines: ${JSON.stringify(reply.cookies)}`)
  return found[0]
}

/** `name=value` of the session cookie, to send back; throws when the reply has none. */
export function cookiePair(reply: Reply, name = 'sid'): string {
  const cookie = sessionCookie(reply, name)
  if (!cookie) throw new Error(`no ${name} Set-Cookie in ${JSON.stringify(reply.cookies)}`)
  return `${cookie.name}=${cookie.value}`
}

/** The id inside a `v1.<id>.<mac>` Set-Cookie value, without checking the MAC. */
export function idOf(reply: Reply, name = 'sid'): string {
  const cookie = sessionCookie(reply, name)
  if (!cookie) throw new Error(`no ${name} Set-Cookie in ${JSON.stringify(reply.cookies)}`)
  const match = /^v1\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{43}$/.exec(cookie.value)
  if (!match) throw new Error(`not a v1 cookie value: ${cookie.value}`)
  return match[1] as string
}

export const V1_VALUE = /^v1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/

// ---------------------------------------------------------------------------------------------
// stores

/** A MemoryStore closed by `cleanup()`. */
export function memoryStore(options?: ConstructorParameters<typeof MemoryStore>[0]): MemoryStore {
  const store = new MemoryStore(options)
  openStores.add(store)
  return store
}

/**
 * The stored record of the session `id`, or null: the main entry stores a session under
 * `storeKeyOf(id)`, never under its id (R5). Read without going through a spy and without sliding it.
 */
export function peek(store: MemoryStore, id: string): Promise<StoredSession | null> {
  return MemoryStore.prototype.get.call(store, storeKeyOf(id))
}

/** Registers any store for `cleanup()`. */
export function track<T extends { close?: () => Promise<void> }>(store: T): T {
  openStores.add(store)
  return store
}

export const CONTRACT_METHODS = ['get', 'create', 'update', 'touch', 'destroy', 'listByUser', 'destroyByUser'] as const
export type ContractMethod = (typeof CONTRACT_METHODS)[number]

export interface StoreCall {
  method: ContractMethod
  args: any[]
  /** What the call resolved, once it has. */
  result?: unknown
}

export interface Spy {
  store: MemoryStore
  calls: StoreCall[]
  /** How many calls of `method` (of any method when omitted). */
  count(method?: ContractMethod): number
  of(method: ContractMethod): StoreCall[]
  reset(): void
}

/** Wraps the contract methods of a MemoryStore (its own instance properties) to record every call. */
export function spyOn(store: MemoryStore = memoryStore()): Spy {
  const calls: StoreCall[] = []
  const target = store as any
  for (const method of CONTRACT_METHODS) {
    const original = target[method] as (...args: any[]) => Promise<unknown>
    target[method] = (...args: any[]) => {
      const call: StoreCall = { method, args }
      calls.push(call)
      return original.apply(store, args).then((result) => (call.result = result))
    }
  }
  return {
    store,
    calls,
    count: (method) => (method === undefined ? calls.length : calls.filter((c) => c.method === method).length),
    of: (method) => calls.filter((c) => c.method === method),
    reset: () => void calls.splice(0),
  }
}

/** 'reject': the store fails (an Error); 'data': it refuses one request's data (SessionDataError); 'hang': it never answers. */
export type Fault = 'reject' | 'data' | 'hang' | undefined

export interface FaultStore {
  store: SessionStore
  inner: MemoryStore
  /** Set a method to 'reject' (an Error), 'data' (SessionDataError) or 'hang' (never settles); undefined passes through. */
  faults: Partial<Record<'get' | 'create' | 'update' | 'touch' | 'destroy', Fault>>
  /** How many times each method was called, failing or not. */
  calls: Record<'get' | 'create' | 'update' | 'touch' | 'destroy', number>
}

/** A contract store over a MemoryStore whose methods can be made to reject or never answer. */
export function faultStore(inner: MemoryStore = memoryStore()): FaultStore {
  const faults: FaultStore['faults'] = {}
  const calls: FaultStore['calls'] = { get: 0, create: 0, update: 0, touch: 0, destroy: 0 }
  const run = <T>(method: keyof FaultStore['faults'], call: () => Promise<T>): Promise<T> => {
    calls[method]++
    const fault = faults[method]
    if (fault === 'reject') return Promise.reject(new Error(`fault store: ${method} failed`))
    if (fault === 'data') return Promise.reject(new SessionDataError(`fault store: ${method} refused the data`))
    if (fault === 'hang') return new Promise<T>(() => {})
    return call()
  }
  const store: SessionStore = {
    [kContractStore]: true,
    get: (id, options) => run('get', () => inner.get(id, options)),
    create: (id, session) => run('create', () => inner.create(id, session)),
    update: (id, patch, expiresAt, options) => run('update', () => inner.update(id, patch, expiresAt, options)),
    touch: (id, expiresAt) => run('touch', () => inner.touch(id, expiresAt)),
    destroy: (id) => run('destroy', () => inner.destroy(id)),
  }
  return { store, inner, faults, calls }
}

/**
 * A contract store over a MemoryStore that keeps records `slack` ms past the expiry the engine
 * gives them (a store whose TTL is coarser than the engine's deadlines, or padded): what reaches
 * the engine is the engine's own expiry, so only the engine's checks stand between the client and
 * an expired session (R10).
 */
export function laggingStore(slack: number, inner: MemoryStore = memoryStore()): SessionStore {
  const pad = <M extends SessionMeta | null | undefined>(meta: M, by: number): M =>
    (meta ? { ...meta, absoluteExpiresAt: meta.absoluteExpiresAt + by } : meta) as M
  return {
    [kContractStore]: true,
    async get(id, options) {
      const slide = options?.slideTo === undefined ? options : { slideTo: options.slideTo + slack, slideIfBefore: (options.slideIfBefore ?? Infinity) + slack }
      const found = await inner.get(id, slide)
      return found === null ? null : { ...found, expiresAt: found.expiresAt - slack, meta: pad(found.meta, -slack) }
    },
    create: (id, session) => inner.create(id, { ...session, expiresAt: session.expiresAt + slack, meta: pad(session.meta, slack) }),
    update: (id, patch, expiresAt, options) => inner.update(id, { ...patch, meta: pad(patch.meta, slack) }, expiresAt + slack, options),
    touch: (id, expiresAt) => inner.touch(id, expiresAt + slack),
    destroy: (id) => inner.destroy(id),
  }
}

/**
 * Another app's view of the same MemoryStore (as a second process sees a shared store): a contract
 * store of its own, so `holdNext` can pause one app's calls without pausing the other's.
 */
export function sharedView(inner: MemoryStore): SessionStore {
  return {
    [kContractStore]: true,
    get: (id, options) => inner.get(id, options),
    create: (id, session) => inner.create(id, session),
    update: (id, patch, expiresAt, options) => inner.update(id, patch, expiresAt, options),
    touch: (id, expiresAt) => inner.touch(id, expiresAt),
    destroy: (id) => inner.destroy(id),
    listByUser: (userId) => inner.listByUser(userId),
    destroyByUser: (userId, exceptId) => inner.destroyByUser(userId, exceptId),
  }
}

export interface Hold {
  /** Resolves when the held call is made: the request is paused right before it. */
  arrived: Promise<void>
  /** Lets the held call go on. */
  open(): void
}

/**
 * Pauses one call of `method` on `target` (a contract store or an express-session store): the
 * call after `skip` others, until `open()`. To interleave two requests at a known point.
 */
export function holdNext(target: object, method: string, skip = 0): Hold {
  const object = target as Record<string, (...args: unknown[]) => unknown>
  const original = object[method] as (...args: unknown[]) => unknown
  const arrived = gate()
  const held = gate()
  let calls = 0
  object[method] = function (this: unknown, ...args: unknown[]) {
    if (calls++ !== skip) return original.apply(this, args)
    arrived.open()
    return held.promise.then(() => original.apply(this, args))
  }
  return { arrived: arrived.promise, open: () => held.open() }
}

// ---------------------------------------------------------------------------------------------
// clock and events

export interface Clock {
  now(): number
  advance(ms: number): void
}

/**
 * Replaces `Date.now` for the rest of the test (restored when it ends): time stands still until
 * `advance`. Only `Date.now` moves; timers stay real.
 */
export function freezeClock(t: TestContext, start = Date.now()): Clock {
  let now = start
  t.mock.method(Date, 'now', () => now)
  return {
    now: () => now,
    advance: (ms) => void (now += ms),
  }
}

/** Records every payload of the given events. */
export function recordEvents<E extends string>(handler: SessionHandler, names: readonly E[]): Record<E, any[]> {
  const seen = Object.fromEntries(names.map((name) => [name, [] as any[]])) as Record<E, any[]>
  for (const name of names) handler.on(name as any, (payload: unknown) => seen[name].push(payload))
  return seen
}
