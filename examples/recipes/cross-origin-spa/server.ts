/**
 * Recipe: a single-page app on another site calling this API with its session cookie. Three things
 * must all hold: the API answers the SPA's origin with CORS *with credentials* (the exact origin,
 * never `*`, and `Access-Control-Allow-Credentials: true`), the cookie is `SameSite=None; Secure`
 * (so the browser sends it on cross-site requests, which needs HTTPS), and the SPA sends
 * `credentials: 'include'`. With `SameSite=None` the browser sends the cookie from any site, so
 * state-changing routes check the `Origin` themselves (CSRF).
 *
 * Run: `npm run recipe -- cross-origin-spa`; the API listens on http://127.0.0.1:3000 and serves
 * the SPA page on http://localhost:3001 (another site).
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    todos: string[]
  }
}

export interface SpaRecipeOptions extends ExampleOptions {
  /** The origins of the front ends allowed to call the API with credentials. */
  allowedOrigins: readonly string[]
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** CORS with credentials for an allowlist, and an Origin check on state-changing requests. */
function corsWithCredentials(allowed: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin')
    // the answer depends on Origin: caches must keep one copy per origin
    res.vary('Origin')
    if (origin !== undefined && allowed.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin)
      res.set('Access-Control-Allow-Credentials', 'true')
      if (req.method === 'OPTIONS') {
        res.set('Access-Control-Allow-Methods', 'GET, POST, DELETE')
        res.set('Access-Control-Allow-Headers', 'Content-Type')
        res.set('Access-Control-Max-Age', '600')
        res.sendStatus(204)
        return
      }
    } else if (origin !== undefined && UNSAFE.has(req.method)) {
      // SameSite=None sends the cookie from every site: a write from an unknown origin is refused (CSRF)
      res.status(403).send('origin not allowed')
      return
    }
    next()
  }
}

/** The API's Express app; `listen` is left to the caller. */
export function createApp(options: SpaRecipeOptions): express.Express {
  const app = (options.express ?? express)()
  // TLS ends at the proxy in front of the API (see the behind-proxy recipe): Secure needs req.secure
  app.set('trust proxy', 'loopback')
  app.use(corsWithCredentials(options.allowedOrigins))
  app.use(session({ secret: sessionSecret(), cookie: { sameSite: 'none', secure: true } }))
  app.use(express.json())

  app.get('/api/todos', (req, res) => {
    res.json(req.session.todos ?? [])
  })
  app.post('/api/todos', (req, res) => {
    const text = (req.body as { text?: unknown }).text
    if (typeof text !== 'string' || text.length === 0 || text.length > 200) {
      res.status(400).json({ error: 'text must be 1 to 200 characters' })
      return
    }
    req.session.todos = [...(req.session.todos ?? []), text]
    res.status(201).json(req.session.todos)
  })
  app.delete('/api/session', async (req, res, next) => {
    try {
      await req.session.destroy()
      res.sendStatus(204)
    } catch (err) {
      next(err)
    }
  })
  return app
}

/** The single-page app: one HTML page that calls the API with `credentials: 'include'`. */
export function createSpa(apiUrl: string, expressModule: typeof express = express): express.Express {
  const app = expressModule()
  app.get('/', (_req, res) => {
    res.type('html').send(`<!doctype html><title>Todos</title>
<form><input name="text" placeholder="a todo"><button>Add</button></form><ul></ul>
<script>
const api = ${JSON.stringify(apiUrl)}
const list = document.querySelector('ul')
const show = (todos) => { list.replaceChildren(...todos.map((t) => Object.assign(document.createElement('li'), { textContent: t }))) }
// credentials: 'include' sends and keeps the API's cookie across sites
fetch(api + '/api/todos', { credentials: 'include' }).then((r) => r.json()).then(show)
document.querySelector('form').onsubmit = async (event) => {
  event.preventDefault()
  const text = new FormData(event.target).get('text')
  const reply = await fetch(api + '/api/todos', { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text }) })
  show(await reply.json())
}
</script>`)
  })
  return app
}

if (isMain(import.meta.url)) {
  // the SPA's origin is known once it listens: the allowlist is read on every request
  const allowedOrigins: string[] = []
  const api = createApp({ allowedOrigins }).listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
    const spa = createSpa(apiUrl).listen(Number(process.env.SPA_PORT ?? 3001), '127.0.0.1', () => {
      // localhost and 127.0.0.1 are two sites for the browser
      const spaOrigin = `http://localhost:${(spa.address() as AddressInfo).port}`
      allowedOrigins.push(spaOrigin)
      console.log(`cross-origin-spa recipe listening on ${apiUrl} (the SPA: ${spaOrigin})`)
    })
  })
}
