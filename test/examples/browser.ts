/**
 * A browser, as far as sessions go: a cookie jar for one origin, and fetch that sends it, stores
 * what the server sets and follows redirects itself (so every hop sees the jar).
 */

export interface Page {
  status: number
  /** The path of the final response, after redirects. */
  path: string
  body: string
  headers: Headers
  /** Status and location of each redirect followed, in order. */
  redirects: Array<{ status: number; location: string }>
}

export interface RequestOptions {
  method?: string
  /** Sent as an `application/x-www-form-urlencoded` body. */
  form?: Record<string, string>
  headers?: Record<string, string>
  /** Follow redirects (default true). */
  follow?: boolean
}

const MAX_REDIRECTS = 5

/** Whether a Set-Cookie line removes the cookie: Max-Age ≤ 0 or an Expires in the past (RFC 6265 §5.3). */
function isRemoval(attributes: string[]): boolean {
  let expired = false
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=')
    const name = (eq === -1 ? attribute : attribute.slice(0, eq)).trim().toLowerCase()
    const value = eq === -1 ? '' : attribute.slice(eq + 1).trim()
    // Max-Age wins over Expires (§5.3 step 3)
    if (name === 'max-age') return Number(value) <= 0
    if (name === 'expires') expired = Date.parse(value) <= Date.now()
  }
  return expired
}

export class Browser {
  readonly origin: string
  readonly #jar = new Map<string, string>()

  constructor(origin: string) {
    this.origin = origin
  }

  /** The value of a cookie in the jar. */
  cookie(name: string): string | undefined {
    return this.#jar.get(name)
  }

  /** Names of the cookies in the jar. */
  cookieNames(): string[] {
    return [...this.#jar.keys()]
  }

  /** Puts a cookie in the jar, as a tampering client would. */
  setCookie(name: string, value: string): void {
    this.#jar.set(name, value)
  }

  get(path: string, options: Omit<RequestOptions, 'method' | 'form'> = {}): Promise<Page> {
    return this.request(path, options)
  }

  post(path: string, form: Record<string, string> = {}, options: Omit<RequestOptions, 'method' | 'form'> = {}): Promise<Page> {
    return this.request(path, { ...options, method: 'POST', form })
  }

  async request(path: string, options: RequestOptions = {}): Promise<Page> {
    const redirects: Page['redirects'] = []
    let method = options.method ?? 'GET'
    let body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString()
    let url = new URL(path, this.origin)
    for (;;) {
      const headers = new Headers(options.headers)
      if (body !== undefined) headers.set('content-type', 'application/x-www-form-urlencoded')
      if (this.#jar.size > 0) headers.set('cookie', [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; '))
      const res = await fetch(url, { method, headers, body, redirect: 'manual' })
      this.#store(res.headers.getSetCookie())
      const location = res.headers.get('location')
      if (options.follow === false || location === null || res.status < 300 || res.status >= 400) {
        return { status: res.status, path: url.pathname + url.search, body: await res.text(), headers: res.headers, redirects }
      }
      await res.body?.cancel()
      if (redirects.length === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${path}`)
      redirects.push({ status: res.status, location })
      url = new URL(location, url)
      if (url.origin !== this.origin) throw new Error(`redirect off the origin under test: ${location}`)
      // 301/302/303 turn a POST into a GET, as browsers do; 307/308 would keep it
      if (res.status !== 307 && res.status !== 308) {
        method = 'GET'
        body = undefined
      }
    }
  }

  /** Path and Domain are not tracked: every example sets its cookie on `/` of one host. */
  #store(lines: string[]): void {
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      if (isRemoval(attributes)) this.#jar.delete(name)
      else this.#jar.set(name, pair.slice(eq + 1).trim())
    }
  }
}
