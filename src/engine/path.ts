import type { IncomingMessage } from 'node:http'

/** The pathname of `req.originalUrl` (so a mounted app sees its full path), or of `req.url`. */
export function originalPathname(req: IncomingMessage & { originalUrl?: string }): string {
  const url = typeof req.originalUrl === 'string' ? req.originalUrl : req.url
  if (typeof url !== 'string' || url === '') return ''
  if (url.charCodeAt(0) === 0x2f /* / */) {
    let end = url.length
    for (let i = 1; i < url.length; i++) {
      const code = url.charCodeAt(i)
      if (code === 0x3f /* ? */ || code === 0x23 /* # */) {
        end = i
        break
      }
    }
    return url.slice(0, end)
  }
  try {
    // absolute-form request targets (`GET http://host/path`)
    return new URL(url).pathname
  } catch {
    // `OPTIONS *` and other targets that are not a path: as they are, so no cookie path matches them
    return url
  }
}

/**
 * RFC 6265 §5.1.4 path-match: the cookie path is a prefix of the request path and either equals it,
 * ends with `/`, or is followed by `/` in it. So `/app` matches `/app` and `/app/x`, not `/application`.
 */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (!requestPath.startsWith(cookiePath)) return false
  return requestPath.length === cookiePath.length || cookiePath.endsWith('/') || requestPath.charCodeAt(cookiePath.length) === 0x2f
}
