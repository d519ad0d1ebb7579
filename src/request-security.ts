import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'

/**
 * Whether the request came over TLS, by express-session's rules (`proxy` option): the socket, then
 * `X-Forwarded-Proto` when `proxy` is true, or Express's `req.secure` (its `trust proxy`) when undefined.
 */
export function isSecureRequest(req: IncomingMessage & { secure?: boolean }, trustProxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | null)?.encrypted) return true
  if (trustProxy === false) return false
  if (trustProxy !== true) return req.secure === true
  const header = req.headers['x-forwarded-proto']
  const value = typeof header === 'string' ? header : ''
  const comma = value.indexOf(',')
  return (comma === -1 ? value : value.slice(0, comma)).toLowerCase().trim() === 'https'
}
