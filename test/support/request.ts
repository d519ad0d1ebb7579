import http from 'node:http'

/** A response, read in full. */
export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  /** Every Set-Cookie line, as sent. */
  cookies: string[]
  body: string
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  /** Cookie request header. */
  cookie?: string
  /** Reject with Error('timeout') when no complete response arrives within this many ms. */
  timeout?: number
  /** Request body. */
  body?: string
}

/** One request on its own connection (no keep-alive pool), body read in full. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) }
    if (options.cookie !== undefined) headers.cookie = options.cookie
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, cookies: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString('utf8') }),
      )
      res.on('error', reject)
    })
    if (options.timeout !== undefined) req.setTimeout(options.timeout, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(options.body)
  })
}
