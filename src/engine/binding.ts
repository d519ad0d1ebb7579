import { createHmac } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { Policy } from '../options.ts'

/**
 * The client-binding fingerprint of a request (R26): a keyed hash of the User-Agent and the client
 * address (or its network prefix), as the binding policy asks; undefined when binding is off.
 */
export function clientFingerprint(hashKey: Buffer, binding: Policy['binding'], req: IncomingMessage): string | undefined {
  if (binding === undefined) return undefined
  const hmac = createHmac('sha256', hashKey).update('binding|')
  if (binding.userAgent) hmac.update(req.headers['user-agent'] ?? '')
  hmac.update('|')
  if (binding.ip !== false) {
    const address = (req as { ip?: string }).ip ?? req.socket?.remoteAddress ?? ''
    hmac.update(binding.ip === 'full' ? canonicalAddress(address) : addressPrefix(address))
  }
  return hmac.digest('base64url').slice(0, 22)
}

/** IPv4 /24 or IPv6 /48: stable across the address changes of one network (NAT pools, privacy addresses). */
export function addressPrefix(address: string): string {
  const canonical = canonicalAddress(address)
  if (isIP(canonical) === 4) return canonical.split('.').slice(0, 3).join('.')
  if (isIP(canonical) === 6) return canonical.split(':').slice(0, 3).join(':')
  return canonical
}

/** One spelling per address: an IPv4-mapped IPv6 address as IPv4; IPv6 expanded, in lower case, without leading zeros. */
export function canonicalAddress(address: string): string {
  const lower = address.toLowerCase()
  const mapped = lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower
  return isIP(mapped) === 6 ? expandIPv6(mapped).join(':') : mapped
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const missing = tail === undefined ? 0 : 8 - left.length - right.length
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => (/^[0-9a-f]{1,4}$/.test(group) ? parseInt(group, 16).toString(16) : group))
}
