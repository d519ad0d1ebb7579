import { debug } from './debug.ts'
import { formatDuration } from './format-duration.ts'
import type { CookieAttributes } from './cookie-options.ts'
import type { Policy } from './options.ts'
import { isContractStore } from './stores/contract.ts'

/**
 * The line `session()` prints in development: what it resolved (store, cookie name and attributes or the id's header,
 * timeouts), so a default nobody chose is seen rather than discovered. It holds no secret.
 */
export function describeSetup(policy: Policy, store: string): string {
  const cookie = policy.staticCookie === undefined ? 'attributes from the cookie function, per request' : describeCookie(policy.staticCookie)
  const carrier = policy.header === undefined ? `cookie ${policy.name} (${cookie})` : `header ${policy.header.name} (no cookie)`
  return `store ${store}; ${carrier}; idle timeout ${formatDuration(policy.idleTimeout)}; absolute timeout ${formatDuration(policy.absoluteTimeout)}`
}

/** How the `store` option reads in the startup line. */
export function describeStore(option: unknown): string {
  if (option === undefined) return 'MemoryStore (the default: sessions live in this process only)'
  const name = (option as { constructor?: { name?: unknown } }).constructor?.name
  const label = typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'a custom store'
  return isContractStore(option) ? label : `${label} (an express-session store: whole-object writes)`
}

/**
 * Development only, and only to a terminal: test runners and log collectors read stderr through a
 * pipe, and a test suite builds the middleware hundreds of times, so a line per `session()` call
 * there would bury real warnings. A process warning (not a bare write) so that `--no-warnings`
 * silences it and `process.on('warning')` can route it. `NODE_DEBUG=tessera-session` shows it anywhere.
 */
export function announceSetup(policy: Policy, store: string): void {
  const line = describeSetup(policy, store)
  if (!policy.production && process.env.NODE_ENV !== 'test' && process.stderr.isTTY === true) {
    process.emitWarning(line, { type: 'TesseraSession', code: 'TESSERA_STARTUP' })
    return
  }
  debug('%s', line)
}

function describeCookie(attrs: CookieAttributes): string {
  const parts = [`Path=${attrs.path}`]
  if (attrs.domain !== undefined) parts.push(`Domain=${attrs.domain}`)
  parts.push(attrs.httpOnly ? 'HttpOnly' : 'not HttpOnly')
  parts.push(attrs.secure === 'auto' ? 'Secure on HTTPS requests' : attrs.secure ? 'Secure' : 'not Secure')
  const sameSite = attrs.sameSite
  parts.push(sameSite === false ? 'no SameSite' : sameSite === 'auto' ? 'SameSite=None on HTTPS, else Lax' : `SameSite=${sameSite[0]?.toUpperCase()}${sameSite.slice(1)}`)
  if (attrs.priority !== undefined) parts.push(`Priority=${attrs.priority[0]?.toUpperCase()}${attrs.priority.slice(1)}`)
  if (attrs.partitioned) parts.push('Partitioned')
  parts.push(attrs.maxAge === null ? 'until the browser closes' : `Max-Age ${formatDuration(attrs.maxAge)}`)
  return parts.join('; ')
}
