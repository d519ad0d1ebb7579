import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A tiny cookie jar for one client: keeps name=value pairs from Set-Cookie, drops cleared ones. */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const pair = line.split(';', 1)[0] as string
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
}

export interface Client {
  url: string
  get(path: string, init?: RequestInit): Promise<{ status: number; text: string; setCookies: string[] }>
  close(): Promise<void>
}

/** Listens on 127.0.0.1, port 0; requests share one cookie jar. */
export async function listen(app: { listen: (port: number, host: string, cb: () => void) => Server }): Promise<Client & { jar: CookieJar }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  const jar = new CookieJar()
  return {
    url,
    jar,
    async get(path, init = {}) {
      const headers = new Headers(init.headers)
      const cookie = jar.header()
      if (cookie && !headers.has('cookie')) headers.set('cookie', cookie)
      const res = await fetch(url + path, { ...init, headers, redirect: 'manual' })
      const setCookies = res.headers.getSetCookie()
      jar.store(setCookies)
      return { status: res.status, text: await res.text(), setCookies }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
