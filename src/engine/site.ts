/**
 * Where a request came from, as far as cookies care: the same origin, another origin of the same
 * site, or another site. Browsers say it in `Sec-Fetch-Site`; without that header (older browsers,
 * scripts, tests) the `Origin` is compared with the request's own host.
 */

/** How a request relates to the app's own origin. */
export type Relation = 'same-origin' | 'same-site' | 'cross-site'

/** What `relationOf` reads from the request. */
export interface RequestHeaders {
  origin: string | undefined
  secFetchSite: string | undefined
  /** The `Host` header, and the first `X-Forwarded-Host` (a proxy may rewrite `Host`). */
  hosts: readonly string[]
}

/** Second-level labels under which registries sell names (`example.co.uk`): the site is three labels there. */
const REGISTRY_LABELS = new Set(['co', 'com', 'net', 'org', 'gov', 'edu', 'ac', 'or', 'ne', 'go'])

/**
 * The request's `Origin`, serialized by the URL parser (so it holds no control characters and can
 * be printed), with how it relates to the app; undefined when it has no `Origin`, or one that is
 * not a URL, or when the browser says the request is its own (`same-origin`, `none`).
 */
export function relationOf(headers: RequestHeaders): { origin: string; relation: Relation } | undefined {
  if (headers.origin === undefined) return undefined
  if (headers.origin === 'null') return headers.secFetchSite === 'same-origin' ? undefined : { origin: 'null', relation: 'cross-site' }
  let url: URL
  try {
    url = new URL(headers.origin)
  } catch {
    return undefined
  }
  if (url.origin === 'null') return undefined
  const fetchSite = headers.secFetchSite
  if (fetchSite === 'same-origin' || fetchSite === 'none') return undefined
  if (fetchSite === 'same-site' || fetchSite === 'cross-site') return { origin: url.origin, relation: fetchSite }
  // no Sec-Fetch-Site: judged from the hosts; another port is another origin, but the same site
  const own = headers.hosts.map(hostOf).filter((host) => host !== undefined)
  if (own.length === 0) return undefined
  if (own.some((host) => host.host === url.host || host.host === url.hostname + ':' + defaultPort(url.protocol))) return undefined
  const site = siteOf(url.hostname)
  return { origin: url.origin, relation: own.some((host) => siteOf(host.hostname) === site) ? 'same-site' : 'cross-site' }
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80'
}

function hostOf(value: string): { host: string; hostname: string } | undefined {
  try {
    const url = new URL(`http://${value}`)
    return { host: url.host, hostname: url.hostname }
  } catch {
    return undefined
  }
}

/**
 * The registrable domain, approximately: the last two labels, three under a registry's second
 * level (`example.co.uk`); an IP address or a single label is its own site. Only used when the
 * browser sent no `Sec-Fetch-Site`, and only to choose a diagnostic's wording.
 */
export function siteOf(hostname: string): string {
  if (hostname.startsWith('[') || /^[\d.]+$/.test(hostname)) return hostname
  const labels = hostname.toLowerCase().split('.')
  if (labels.length <= 2) return labels.join('.')
  const second = labels[labels.length - 2] as string
  const top = labels[labels.length - 1] as string
  const keep = top.length === 2 && REGISTRY_LABELS.has(second) ? 3 : 2
  return labels.slice(-keep).join('.')
}
