/**
 * Recipe: OAuth / OpenID Connect sign-in with a provider that answers with `response_mode=form_post`
 * (Apple, Microsoft). The provider's page POSTs the code to your callback from its own site, and a
 * `SameSite=Lax` session cookie is not sent on a cross-site POST: the callback sees no session, so it
 * cannot check `state`. This app keeps `SameSite=Lax` and lets the callback store what it received
 * under the state (a store that does not need the cookie), then redirects the browser to its own
 * site, where the cookie comes back on that top-level GET and the sign-in is finished.
 *
 * Run: `npm run recipe -- oauth-form-post`, then open http://127.0.0.1:3000 (the fake provider runs
 * on http://localhost:3001, another site).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'
import { CLIENT_ID, createProvider } from './provider.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    /** The sign-in under way: its state and PKCE verifier. */
    oauth: { state: string; verifier: string }
    name: string
  }
}

/**
 * Callbacks received and not finished yet, by state: the state is random and single-use, so it can
 * be the key. Bounded and short-lived. With several app instances, keep them in a shared store
 * (Redis: SET state code EX 300 NX; GETDEL on finish).
 */
class PendingCallbacks {
  readonly #codes = new Map<string, { code: string; expiresAt: number }>()

  put(state: string, code: string): boolean {
    if (this.#codes.has(state)) return false
    if (this.#codes.size >= 10_000) this.#codes.delete(this.#codes.keys().next().value as string)
    this.#codes.set(state, { code, expiresAt: Date.now() + 5 * 60_000 })
    return true
  }

  take(state: string): string | undefined {
    const found = this.#codes.get(state)
    this.#codes.delete(state)
    return found !== undefined && found.expiresAt > Date.now() ? found.code : undefined
  }
}

export interface OAuthRecipeOptions extends ExampleOptions {
  /** Where the provider is, e.g. http://localhost:3001. */
  providerUrl: string
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: OAuthRecipeOptions): express.Express {
  const app = (options.express ?? express)()
  const pending = new PendingCallbacks()
  // the default SameSite=Lax stays: it keeps the session cookie off every cross-site POST (CSRF)
  app.use(session({ secret: sessionSecret() }))

  app.get('/', (req, res) => {
    res.send(req.session.name ? `Signed in as ${req.session.name}.` : '<a href="/login">Sign in with the provider</a>')
  })

  app.get('/login', (req, res) => {
    const state = randomBytes(32).toString('base64url')
    const verifier = randomBytes(32).toString('base64url')
    req.session.oauth = { state, verifier }
    const params = new URLSearchParams({
      response_type: 'code',
      response_mode: 'form_post',
      client_id: CLIENT_ID,
      redirect_uri: `${req.protocol}://${req.get('host')}/callback`,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })
    // the session (with the state) is stored before this redirect goes out
    res.redirect(`${options.providerUrl}/authorize?${params}`)
  })

  // The provider's cross-site POST: no session cookie arrives here, so this route does not touch
  // req.session (a new session would replace the user's cookie). It keeps the code under its state
  // and sends the browser back to this site with a 303, a top-level GET that carries the cookie.
  app.post('/callback', express.urlencoded({ extended: false }), (req, res) => {
    const { code, state } = req.body as Record<string, unknown>
    if (typeof code !== 'string' || typeof state !== 'string' || !pending.put(state, code)) {
      res.status(400).send('invalid callback')
      return
    }
    res.redirect(303, `/callback/finish?state=${encodeURIComponent(state)}`)
  })

  app.get('/callback/finish', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const state = typeof req.query.state === 'string' ? req.query.state : ''
      const code = pending.take(state)
      const expected = req.session.oauth
      delete req.session.oauth
      // the state must be the one this browser's session started: a callback meant for another
      // browser (login CSRF) or replayed is refused
      if (code === undefined || expected === undefined || expected.state !== state) {
        res.status(403).send('This sign-in could not be verified. Please try again.')
        return
      }
      const reply = await fetch(`${options.providerUrl}/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: expected.verifier,
          client_id: CLIENT_ID,
          redirect_uri: `${req.protocol}://${req.get('host')}/callback`,
        }),
      })
      if (!reply.ok) {
        res.status(403).send('The provider refused the sign-in.')
        return
      }
      const user = (await reply.json()) as { sub: string; name: string }
      // a new session id for the signed-in user (session fixation defence), recorded for the per-user index
      await req.session.login(user.sub)
      req.session.name = user.name
      res.redirect('/')
    } catch (err) {
      next(err)
    }
  })
  return app
}

if (isMain(import.meta.url)) {
  const providerPort = Number(process.env.PROVIDER_PORT ?? 3001)
  const provider = createProvider().listen(providerPort, '127.0.0.1', () => {
    // localhost and 127.0.0.1 are two sites for the browser: the callback POST is cross-site
    const providerUrl = `http://localhost:${(provider.address() as AddressInfo).port}`
    const server = createApp({ providerUrl }).listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
      console.log(`oauth-form-post recipe listening on http://127.0.0.1:${(server.address() as AddressInfo).port} (fake provider: ${providerUrl})`)
    })
  })
}
