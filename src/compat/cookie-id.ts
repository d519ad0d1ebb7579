import { firstCookieValue } from '../cookie-header.ts'
import { debug } from '../debug.ts'
import { deprecate } from '../deprecate.ts'
import type { VerifiedCookies } from '../engine/verified-cookies.ts'
import type { CompatRequest } from '../express-store.ts'
import { unsignLegacy, type Secret } from '../signing.ts'

function unsignCookie(value: string, secrets: readonly Secret[]): string | false {
  const verified = unsignLegacy(value, secrets)
  return verified === undefined ? false : verified.value
}

/**
 * express-session's `getcookie`: the session id from the `Cookie` header (the first cookie of the
 * name), else from cookie-parser's `req.signedCookies` or `req.cookies`; undefined when none verifies.
 */
export function getCookie(req: CompatRequest, name: string, secrets: readonly Secret[], cache: VerifiedCookies<string> | undefined): string | undefined {
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
