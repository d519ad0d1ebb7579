/**
 * Recipe: behind nginx or a cloud load balancer that terminates TLS. The app sees plain HTTP from
 * the proxy, so it must be told to believe the proxy's `X-Forwarded-Proto: https`: Express's
 * `trust proxy` setting (then `req.secure` is true, and the `Secure` cookie is set as it should be).
 * Trust only the proxy: its address (`'loopback'` when it runs on the same host), or the number of
 * proxies in front of the app (`1` behind one load balancer). Never `true` on an app that can be
 * reached directly: any client could then claim HTTPS, or any IP address.
 *
 * Run: `npm run recipe -- behind-proxy` (TRUST_PROXY=1, an address or a subnet changes the setting),
 * then `curl -i -H 'X-Forwarded-Proto: https' http://127.0.0.1:3000/`.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import session, { type Diagnostic } from '../../../src/index.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../../setup.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    visits: number
  }
}

export interface ProxyRecipeOptions extends ExampleOptions {
  /** Express's `trust proxy` value. Default `'loopback'` (a proxy on this host); `false` shows the mistake. */
  trustProxy?: boolean | number | string
  /** Where diagnostics go (an app's logger); by default they are printed once each, in development. */
  onDiagnostic?: (diagnostic: Diagnostic) => void
}

/** `1` → one hop, `false`/`true` as booleans, anything else as an address list. */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '') return 'loopback'
  if (/^\d+$/.test(value)) return Number(value)
  if (value === 'true' || value === 'false') return value === 'true'
  return value
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ProxyRecipeOptions = {}): express.Express {
  const app = (options.express ?? express)()
  app.set('trust proxy', options.trustProxy ?? parseTrustProxy(process.env.TRUST_PROXY))
  // __Host-: Secure, Path=/ and no Domain, enforced by the browser (the production default name)
  const sessions = session({ secret: sessionSecret(), name: '__Host-sid', cookie: { secure: true } })
  // a missing `trust proxy` shows up as TESSERA_SECURE_OVER_HTTP, with the fix
  if (options.onDiagnostic) sessions.on('diagnostic', options.onDiagnostic)
  app.use(sessions)
  app.get('/', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1
    res.send(`visit ${req.session.visits}, over ${req.protocol} (req.secure: ${req.secure}), from ${req.ip}`)
  })
  return app
}

if (isMain(import.meta.url)) {
  const server = createApp().listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(`behind-proxy recipe listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
}
