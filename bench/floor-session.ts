/**
 * The `floor-memory` reference contender: the least a signed-cookie, in-memory session can cost, so
 * that the report shows how far a session library is from it. Not a session library: no expiry,
 * no rotation, no size limit, no store interface, no events, nothing asynchronous.
 *
 * Per request: find the one cookie in the header; check its HMAC, once per cookie value (remembered
 * in a Map); one Map lookup for the session. The Map holds the session object itself, so a route's
 * write changes what the Map holds and costs nothing more than a read. A request without a session
 * gets an empty object, and a Set-Cookie (a new id, signed, stored in the Map) only if the route put
 * something in it by the time the headers go out.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

const NAME = 'sid'
const AT_START = `${NAME}=`
const AFTER_OTHERS = `; ${NAME}=`
/** Verified cookie values remembered; the cache starts over beyond this, so that garbage cookies cannot grow it without bound. */
const VERIFIED_LIMIT = 10_000

type FloorSessionData = Record<string, unknown>
type Next = (err?: unknown) => void

/** The value of the `sid` cookie, or undefined: one scan of the header, no parsing of the other cookies. */
export function findCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  let start: number
  if (header.startsWith(AT_START)) start = AT_START.length
  else {
    const at = header.indexOf(AFTER_OTHERS)
    if (at < 0) return undefined
    start = at + AFTER_OTHERS.length
  }
  const end = header.indexOf(';', start)
  return end < 0 ? header.slice(start) : header.slice(start, end)
}

export function floorSession(secret: string): (req: IncomingMessage & { session?: FloorSessionData }, res: ServerResponse, next: Next) => void {
  const sessions = new Map<string, FloorSessionData>()
  // cookie value → session id, for values whose signature checked out
  const verified = new Map<string, string>()
  const sign = (id: string) => createHmac('sha256', secret).update(id).digest('base64url')

  function verify(value: string): string | undefined {
    const known = verified.get(value)
    if (known !== undefined) return known
    const dot = value.lastIndexOf('.')
    if (dot <= 0) return undefined
    const id = value.slice(0, dot)
    const given = Buffer.from(value.slice(dot + 1))
    const expected = Buffer.from(sign(id))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    if (verified.size >= VERIFIED_LIMIT) verified.clear()
    verified.set(value, id)
    return id
  }

  /** At header time: stores a session the route put something in, and sends its cookie. */
  function createIfUsed(res: ServerResponse, data: FloorSessionData): void {
    for (const _ in data) {
      const id = randomBytes(32).toString('base64url')
      sessions.set(id, data)
      res.setHeader('Set-Cookie', `${NAME}=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax`)
      return
    }
  }

  return function floorSessionMiddleware(req, res, next) {
    const value = findCookie(req.headers.cookie)
    const id = value === undefined ? undefined : verify(value)
    const found = id === undefined ? undefined : sessions.get(id)
    if (found !== undefined) {
      req.session = found
      return next()
    }
    const data: FloorSessionData = {}
    req.session = data
    // Express's send ends the response through writeHead (Node calls it for implicit headers too)
    const writeHead = res.writeHead
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      createIfUsed(this, data)
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
    } as typeof res.writeHead
    next()
  }
}
