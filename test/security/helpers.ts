/**
 * Harness of the security suite, on top of the HTTP suite's (real Express 5 and 4 on 127.0.0.1:0,
 * real MemoryStores observed through spies). Adds: a standard attack target app, every event
 * recorded, a raw-socket request (to see a response head byte for byte), signed cookie builders
 * and a scoped NODE_ENV=production.
 */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import session, { type SessionHandler, type SessionOptions } from '../../src/index.ts'
import type { SessionEventName } from '../../src/events.ts'
import { signLegacy, signV1 } from '../../src/signing.ts'
import { SECRET, handle, recordEvents, serve, spyOn, type App, type Host, type Req, type Res, type Spy, type TestServer } from '../http/helpers.ts'

export const EVENT_NAMES = [
  'created',
  'rotated',
  'destroyed',
  'expired',
  'rejected',
  'conflict',
  'store_error',
  'insecure_transport',
  'malformed_data',
  'binding_mismatch',
] as const satisfies readonly SessionEventName[]

export type Events = Record<(typeof EVENT_NAMES)[number], any[]>

/** A fresh id of the main entry's shape (43 base64url characters), never issued by a server. */
export function randomId(): string {
  return randomBytes(32).toString('base64url')
}

/** `name=v1.<id>.<mac>`, correctly signed: what a client holding that id would send. */
export function v1Cookie(id: string, name = 'sid', secret: string = SECRET): string {
  return `${name}=${signV1(id, name, secret)}`
}

/** What cookie-parser's `res.cookie(name, value, { signed: true })` sends: `s:<value>.<mac>`, URL-encoded. */
export function cookieParserValue(value: string, secret: string = SECRET): string {
  return encodeURIComponent('s:' + signLegacy(value, secret))
}

/** Runs `fn` with NODE_ENV=production (the policy is resolved when `session()` is called), then restores it. */
export function inProduction<T>(fn: () => T): T {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    return fn()
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = previous
  }
}

export interface TargetApp {
  server: TestServer
  spy: Spy
  middleware: SessionHandler
  events: Events
}

export interface TargetOptions {
  /** Runs before the session middleware is mounted (`trust proxy`, a readOnly marker, …). */
  before?: (app: App) => void
  /** Extra routes, mounted after the standard ones. */
  routes?: (app: App) => void
}

/**
 * The attack target: the session middleware over a spied MemoryStore (unless `options.store` is
 * given), every event recorded, and these routes:
 * - `/login?user=` writes `user` (a session is created)
 * - `/signin?user=` calls `login(user)` and writes `user`
 * - `/me` only reads `user` (bots, anonymous visitors)
 * - `/logout` calls `destroy()`
 */
export async function target(host: Host, options: Partial<SessionOptions> = {}, extra: TargetOptions = {}): Promise<TargetApp> {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, ...options })
  const events = recordEvents(middleware, EVENT_NAMES)
  const server = await serve(host, (app) => {
    extra.before?.(app)
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = String(req.query.user ?? 'ann')
      res.send('in')
    })
    app.get(
      '/signin',
      handle(async (req: Req, res: Res) => {
        const user = String(req.query.user ?? 'ann')
        await req.session.login(user)
        req.session.user = user
        res.send('in')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null }))
    app.get(
      '/logout',
      handle(async (req: Req, res: Res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
    extra.routes?.(app)
  })
  return { server, spy, middleware, events }
}

/** The user `/me` answered with (null: no session). */
export function userOf(reply: { body: string }): string | null {
  return (JSON.parse(reply.body) as { user: string | null }).user
}

export interface RawReply {
  /** The status line and headers exactly as received. */
  head: string
  status: number
  /** Every Set-Cookie line's value, as received. */
  setCookies: string[]
}

/**
 * One request over a plain socket, so the response head is seen byte for byte (no client-side
 * header parsing that could hide an injected line). `lines` are extra request header lines.
 */
export function rawRequest(url: string, path: string, lines: string[] = []): Promise<RawReply> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    const chunks: Buffer[] = []
    socket.on('connect', () => socket.write([`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...lines, '', ''].join('\r\n')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const head = text.slice(0, text.indexOf('\r\n\r\n'))
      const status = Number(head.slice(9, 12))
      const setCookies = head
        .split('\r\n')
        .filter((line) => /^set-cookie:/i.test(line))
        .map((line) => line.slice(line.indexOf(':') + 1).trim())
      resolve({ head, status, setCookies })
    })
  })
}
