/**
 * Diagnostics over HTTP: each misconfiguration that makes a session silently not stick raises a
 * `diagnostic` event with its stable code and safe details, on the request where it happens, and
 * only then. (What is printed, once per process, is in diagnostics-output.test.ts.)
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { DIAGNOSTIC_CODES } from '../../src/diagnostics.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, memoryStore, recordEvents, serve, sessionCookie, type App, type Host } from './helpers.ts'

afterEach(cleanup)

const DAY = 86_400_000
const HTTPS = { 'x-forwarded-proto': 'https' }

interface Options {
  session?: Partial<SessionOptions>
  /** Runs before the session middleware (trust proxy, CORS headers). */
  before?: (app: App) => void
}

/**
 * An app whose `/write` stores a value (a new session gets a cookie), `/read` only reads, and whose
 * other routes commit the classic mistakes. Every diagnostic is recorded.
 */
async function diagnosticsApp(host: Host, options: Options = {}) {
  const middleware = session({ secret: SECRET, store: memoryStore(), ...options.session })
  const events = recordEvents(middleware, ['diagnostic'])
  const server = await serve(host, (app) => {
    options.before?.(app)
    app.use(middleware)
    app.get('/write', (req: any, res: any) => {
      req.session.visits = (req.session.visits ?? 0) + 1
      res.send('written')
    })
    app.get('/read', (req: any, res: any) => res.send(String(req.session.visits ?? 'none')))
    app.get('/save-after-send', (req: any, res: any, next: any) => {
      res.send('sent')
      res.on('finish', () => {
        req.session.late = true
        req.session.save((err: unknown) => err && next(err))
      })
    })
    app.get('/save-right-after-end', (req: any, res: any) => {
      req.session.early = true
      res.send('sent')
      // the response is held for the store write, but the app has sent it
      void req.session.save().catch(() => {})
    })
    app.get(
      '/save-then-send',
      handle(async (req, res) => {
        req.session.early = true
        await req.session.save()
        res.send('saved first')
      }),
    )
    app.get('/regenerate-after-send', (req: any, res: any) => {
      res.send('sent')
      res.on('finish', () => void req.session.regenerate().catch(() => {}))
    })
    app.get('/login-after-send', (req: any, res: any) => {
      res.send('sent')
      res.on('finish', () => void req.session.login('ann').catch(() => {}))
    })
    app.get('/remember', (req: any, res: any) => {
      req.session.user = 'ann'
      req.session.cookie.maxAge = Number(req.query.days) * DAY
      res.send('remembered')
    })
  })
  /** The diagnostics seen so far with `code`. */
  const of = (code: string) => events.diagnostic.filter((d) => d.code === code)
  /** Waits (bounded) until `count` diagnostics with `code` arrived: some are raised after the response. */
  const settled = async (code: string, count: number) => {
    for (let i = 0; i < 100 && of(code).length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    return of(code)
  }
  return { server, events, of, settled }
}

describe('diagnostics', () => {
  it('has four stable codes, each in the README table, in its order', () => {
    assert.deepEqual(DIAGNOSTIC_CODES, ['TESSERA_SECURE_OVER_HTTP', 'TESSERA_CROSS_SITE_NO_COOKIE', 'TESSERA_WRITE_AFTER_RESPONSE', 'TESSERA_MAXAGE_OVER_ABSOLUTE'])
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    assert.deepEqual([...readme.matchAll(/^\| `(TESSERA_[A-Z_]+)` \|/gm)].map((m) => m[1]), DIAGNOSTIC_CODES)
  })

  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('TESSERA_SECURE_OVER_HTTP', () => {
        it('is raised when a Secure cookie is set on a plain HTTP request, once per request', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { secure: true } } })
          const reply = await app.server.request('/write')
          assert.equal(sessionCookie(reply)?.attributes.secure, true)
          await app.server.request('/write')
          const found = app.of('TESSERA_SECURE_OVER_HTTP')
          assert.equal(found.length, 2)
          assert.deepEqual(found[0].details, { forwardedProto: undefined, proxy: undefined })
          assert.equal(typeof found[0].message, 'string')
          assert.equal(typeof found[0].fix, 'string')
        })

        it('names the untrusted proxy when the request says X-Forwarded-Proto: https (the trust proxy fix)', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { secure: true } } })
          await app.server.request('/write', { headers: HTTPS })
          assert.deepEqual(app.of('TESSERA_SECURE_OVER_HTTP')[0]?.details, { forwardedProto: 'https', proxy: undefined })
          assert.match(app.of('TESSERA_SECURE_OVER_HTTP')[0]?.fix, /trust proxy/)
        })

        it('reports proxy: false when that option is what ignores the proxy', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { secure: true }, proxy: false }, before: (a) => a.set('trust proxy', 'loopback') })
          await app.server.request('/write', { headers: HTTPS })
          assert.deepEqual(app.of('TESSERA_SECURE_OVER_HTTP')[0]?.details, { forwardedProto: 'https', proxy: false })
        })

        it('is not raised behind a trusted proxy that says https', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { secure: true } }, before: (a) => a.set('trust proxy', 'loopback') })
          const reply = await app.server.request('/write', { headers: HTTPS })
          assert.equal(sessionCookie(reply)?.attributes.secure, true)
          assert.deepEqual(app.events.diagnostic, [])
        })

        it("is not raised for secure: 'auto' in development (no Secure attribute on plain HTTP)", async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { secure: 'auto' } } })
          const reply = await app.server.request('/write')
          assert.equal(sessionCookie(reply)?.attributes.secure, undefined)
          assert.deepEqual(app.events.diagnostic, [])
        })
      })

      describe('TESSERA_CROSS_SITE_NO_COOKIE', () => {
        const crossSite = { origin: 'http://front.example.net' }

        it('same_site: a request from another site without the cookie gets a new SameSite=Lax one', async () => {
          const app = await diagnosticsApp(host)
          const reply = await app.server.request('/write', { headers: crossSite })
          assert.ok(sessionCookie(reply))
          assert.deepEqual(app.of('TESSERA_CROSS_SITE_NO_COOKIE').map((d) => d.details), [{ origin: 'http://front.example.net', reason: 'same_site', sameSite: 'lax' }])
        })

        it('believes Sec-Fetch-Site over the host comparison', async () => {
          const app = await diagnosticsApp(host)
          await app.server.request('/write', { headers: { ...crossSite, 'sec-fetch-site': 'same-origin' } })
          assert.deepEqual(app.events.diagnostic, [])
          await app.server.request('/write', { headers: { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' } })
          assert.equal(app.of('TESSERA_CROSS_SITE_NO_COOKIE')[0]?.details.reason, 'same_site')
        })

        it('cors_credentials: SameSite=None, but the response does not allow credentials', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { sameSite: 'none', secure: true } }, before: (a) => a.set('trust proxy', 'loopback') })
          await app.server.request('/write', { headers: { ...crossSite, ...HTTPS } })
          assert.deepEqual(app.of('TESSERA_CROSS_SITE_NO_COOKIE').map((d) => d.details), [{ origin: 'http://front.example.net', reason: 'cors_credentials', sameSite: 'none' }])
        })

        it('cors_credentials also for another origin of the same site (another port), whatever SameSite', async () => {
          const app = await diagnosticsApp(host)
          await app.server.request('/write', { headers: { origin: 'http://127.0.0.1:1' } })
          assert.deepEqual(app.of('TESSERA_CROSS_SITE_NO_COOKIE').map((d) => d.details), [{ origin: 'http://127.0.0.1:1', reason: 'cors_credentials', sameSite: 'lax' }])
        })

        it('not_returned: CORS and SameSite right, but a second request from the origin again lacks the cookie', async () => {
          const allowCredentials = (a: App) => {
            a.set('trust proxy', 'loopback')
            a.use((req: any, res: any, next: any) => {
              res.set('Access-Control-Allow-Origin', req.headers.origin)
              res.set('Access-Control-Allow-Credentials', 'true')
              next()
            })
          }
          const app = await diagnosticsApp(host, { session: { cookie: { sameSite: 'none', secure: true } }, before: allowCredentials })
          const first = await app.server.request('/write', { headers: { ...crossSite, ...HTTPS } })
          assert.deepEqual(app.events.diagnostic, [], 'the first request of a client never has the cookie')
          // the client that sends its cookie back is fine
          await app.server.request('/write', { headers: { ...crossSite, ...HTTPS }, cookie: cookiePair(first) })
          assert.deepEqual(app.events.diagnostic, [])
          await app.server.request('/write', { headers: { ...crossSite, ...HTTPS } })
          assert.deepEqual(app.of('TESSERA_CROSS_SITE_NO_COOKIE').map((d) => d.details), [{ origin: 'http://front.example.net', reason: 'not_returned', sameSite: 'none' }])
        })

        it('is not raised for the same origin, for a request that has the cookie, or when no cookie is set', async () => {
          const app = await diagnosticsApp(host)
          const own = await app.server.request('/write', { headers: { origin: app.server.url } })
          await app.server.request('/write', { headers: crossSite, cookie: cookiePair(own) })
          await app.server.request('/read', { headers: crossSite })
          assert.deepEqual(app.events.diagnostic, [])
        })

        it('is not raised for a form POST navigation from another site to a SameSite=None cookie (no CORS there)', async () => {
          const app = await diagnosticsApp(host, { session: { cookie: { sameSite: 'none', secure: true } }, before: (a) => a.set('trust proxy', 'loopback') })
          await app.server.request('/write', { headers: { ...crossSite, ...HTTPS, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } })
          assert.deepEqual(app.events.diagnostic, [])
        })

        it('ignores an Origin that is not a URL, and prints the origin as the URL parser serializes it', async () => {
          const app = await diagnosticsApp(host)
          await app.server.request('/write', { headers: { origin: 'not a url' } })
          assert.deepEqual(app.events.diagnostic, [])
          await app.server.request('/write', { headers: { origin: 'HTTP://Front.Example.NET:80' } })
          assert.equal(app.of('TESSERA_CROSS_SITE_NO_COOKIE')[0]?.details.origin, 'http://front.example.net')
        })
      })

      describe('TESSERA_WRITE_AFTER_RESPONSE', () => {
        it('is raised by save() after the response was sent', async () => {
          const app = await diagnosticsApp(host)
          assert.equal((await app.server.request('/save-after-send')).body, 'sent')
          assert.deepEqual((await app.settled('TESSERA_WRITE_AFTER_RESPONSE', 1)).map((d) => d.details), [{ operation: 'save' }])
        })

        it('is raised by save() right after res.end, while the response still waits for the store', async () => {
          const app = await diagnosticsApp(host)
          await app.server.request('/save-right-after-end')
          assert.deepEqual((await app.settled('TESSERA_WRITE_AFTER_RESPONSE', 1)).map((d) => d.details), [{ operation: 'save' }])
        })

        it('is raised by regenerate() and login() after the response was sent', async () => {
          const app = await diagnosticsApp(host)
          const cookie = cookiePair(await app.server.request('/write'))
          await app.server.request('/regenerate-after-send', { cookie })
          await app.server.request('/login-after-send', { cookie })
          assert.deepEqual((await app.settled('TESSERA_WRITE_AFTER_RESPONSE', 2)).map((d) => d.details.operation).sort(), ['login', 'regenerate'])
        })

        it('is not raised by a save() awaited before the response', async () => {
          const app = await diagnosticsApp(host)
          assert.equal((await app.server.request('/save-then-send')).body, 'saved first')
          assert.deepEqual(app.events.diagnostic, [])
        })
      })

      describe('TESSERA_MAXAGE_OVER_ABSOLUTE', () => {
        it('is raised when a handler gives a session a cookie lifetime beyond absoluteTimeout', async () => {
          const app = await diagnosticsApp(host)
          await app.server.request('/remember?days=30')
          assert.deepEqual(app.of('TESSERA_MAXAGE_OVER_ABSOLUTE').map((d) => d.details), [{ maxAge: 30 * DAY, absoluteTimeout: DAY / 2 }])
        })

        it('is not raised when absoluteTimeout covers it', async () => {
          const app = await diagnosticsApp(host, { session: { absoluteTimeout: 30 * DAY } })
          const reply = await app.server.request('/remember?days=30')
          assert.equal(sessionCookie(reply)?.attributes['max-age'], String((30 * DAY) / 1000))
          assert.deepEqual(app.events.diagnostic, [])
        })
      })
    })
  }
})
