/**
 * Recipe: the same server-side sessions for clients that do not use cookies (a mobile app, a
 * single-page app on another site, a command-line tool): the session id travels in a header,
 * `X-Session-Token`, which the client keeps and sends itself. The API answers the header's new value
 * whenever the id changes (sign-in, renewal) and sends it empty on logout; a cross-origin SPA can read
 * it only because CORS exposes it (`Access-Control-Expose-Headers`). No cookie is set, so there is no
 * CSRF to guard against: a browser never attaches the header on its own.
 *
 * Run: `npm run recipe -- api-token`; the API listens on http://127.0.0.1:3000 and serves the SPA
 * page on http://localhost:3001 (another site). Or from a terminal:
 *   curl -si -X POST -H 'Content-Type: application/json' -d '{"user":"ann"}' http://127.0.0.1:3000/api/login
 *   curl -s -H 'X-Session-Token: <the value it answered>' http://127.0.0.1:3000/api/me
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    user: string
  }
}

/** The header that carries the id, both ways. */
export const TOKEN_HEADER = 'X-Session-Token'

export interface TokenRecipeOptions extends ExampleOptions {
  /** The origins of the browser front ends allowed to call the API (native apps send no Origin). */
  allowedOrigins: readonly string[]
}

/** CORS for an allowlist: the SPA may send the token header, and read it on the answers. No credentials: there is no cookie. */
function corsForToken(allowed: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin')
    res.vary('Origin')
    if (origin !== undefined && allowed.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin)
      // without it, the SPA's script cannot read the header a sign-in answers with
      res.set('Access-Control-Expose-Headers', TOKEN_HEADER)
      if (req.method === 'OPTIONS') {
        res.set('Access-Control-Allow-Methods', 'GET, POST')
        res.set('Access-Control-Allow-Headers', `Content-Type, ${TOKEN_HEADER}`)
        res.set('Access-Control-Max-Age', '600')
        res.sendStatus(204)
        return
      }
    }
    next()
  }
}

/** The API's Express app; `listen` is left to the caller. */
export function createApp(options: TokenRecipeOptions): express.Express {
  const app = (options.express ?? express)()
  app.use(corsForToken(options.allowedOrigins))
  app.use(session({ secret: sessionSecret(), header: TOKEN_HEADER }))
  app.use(express.json())

  app.post('/api/login', async (req, res, next) => {
    const user = (req.body as { user?: unknown } | undefined)?.user
    // a real app checks a password or a one-time code here
    if (typeof user !== 'string' || !/^[a-z]{1,20}$/.test(user)) {
      res.status(400).json({ error: 'user must be 1 to 20 lower-case letters' })
      return
    }
    try {
      // a new id (against fixation): the answer carries it in X-Session-Token
      await req.session.login(user)
      req.session.user = user
      res.json({ user })
    } catch (err) {
      next(err)
    }
  })
  app.get('/api/me', (req, res) => {
    res.json({ user: req.session.user ?? null })
  })
  app.post('/api/logout', async (req, res, next) => {
    try {
      // the answer carries X-Session-Token empty: the client forgets its token
      await req.session.destroy()
      res.sendStatus(204)
    } catch (err) {
      next(err)
    }
  })
  return app
}

/** The single-page app: one HTML page that keeps the token in memory and sends it in the header. */
export function createSpa(apiUrl: string, expressModule: typeof express = express): express.Express {
  const app = expressModule()
  app.get('/', (_req, res) => {
    res.type('html').send(`<!doctype html><title>Token</title>
<form><input name="user" placeholder="ann"><button>Sign in</button></form>
<p id="me"></p><button id="out">Sign out</button>
<script>
const api = ${JSON.stringify(apiUrl)}
// in memory only: a script injected into the page cannot read it back from storage later, and a reload signs out
let token
async function call(path, init = {}) {
  const headers = { ...init.headers }
  if (token) headers[${JSON.stringify(TOKEN_HEADER)}] = token
  const reply = await fetch(api + path, { ...init, headers })
  // a new id replaces the old one; an empty header means the session is over
  const next = reply.headers.get(${JSON.stringify(TOKEN_HEADER)})
  if (next !== null) token = next || undefined
  return reply
}
const me = async () => { document.querySelector('#me').textContent = JSON.stringify(await (await call('/api/me')).json()) }
document.querySelector('form').onsubmit = async (event) => {
  event.preventDefault()
  const user = new FormData(event.target).get('user')
  await call('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user }) })
  await me()
}
document.querySelector('#out').onclick = async () => { await call('/api/logout', { method: 'POST' }); await me() }
me()
</script>`)
  })
  return app
}

if (isMain(import.meta.url)) {
  const allowedOrigins: string[] = []
  const api = createApp({ allowedOrigins }).listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
    const spa = createSpa(apiUrl).listen(Number(process.env.SPA_PORT ?? 3001), '127.0.0.1', () => {
      const spaOrigin = `http://localhost:${(spa.address() as AddressInfo).port}`
      allowedOrigins.push(spaOrigin)
      console.log(`api-token recipe listening on ${apiUrl} (the SPA: ${spaOrigin})`)
    })
  })
}
