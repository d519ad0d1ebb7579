/**
 * Transport (R21, V10): in production the session cookie is always `Secure`, and a request not known
 * to be HTTPS under the configured trust policy raises `insecure_transport` instead of the cookie
 * being silently dropped (login loops) or silently sent without `Secure`. A spoofed
 * X-Forwarded-Proto is believed only where the app said to trust the proxy.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { SessionOptions } from '../../src/index.ts'
import { HOSTS, cleanup, sessionCookie, type Host } from '../http/helpers.ts'
import { inProduction, target, type TargetOptions } from './helpers.ts'

afterEach(cleanup)

const HTTPS = { 'x-forwarded-proto': 'https' }
const TRUST_PROXY: TargetOptions = { before: (app) => app.set('trust proxy', 'loopback') }

/** `session()` runs synchronously inside `target`, so only its policy sees NODE_ENV=production. */
function productionTarget(host: Host, options: Partial<SessionOptions> = {}, extra: TargetOptions = {}) {
  return inProduction(() => target(host, options, extra))
}

describe('transport', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('in production', () => {
        it('R21: on a plain-http request the cookie is still Secure, and insecure_transport fires with an idHash', async () => {
          const app = await productionTarget(host)
          const reply = await app.server.request('/login')
          const cookie = sessionCookie(reply, '__Host-sid')
          assert.equal(cookie?.attributes.secure, true)
          assert.equal(app.events.insecure_transport.length, 1)
          assert.match(app.events.insecure_transport[0].idHash, /^[A-Za-z0-9_-]{16,}$/)
        })

        it("R21: behind a trusted proxy (Express 'trust proxy') with X-Forwarded-Proto: https, no event", async () => {
          const app = await productionTarget(host, {}, TRUST_PROXY)
          const reply = await app.server.request('/login', { headers: HTTPS })
          assert.equal(sessionCookie(reply, '__Host-sid')?.attributes.secure, true)
          assert.deepEqual(app.events.insecure_transport, [])
        })

        it('R21: without trust proxy, a client-sent X-Forwarded-Proto: https is not believed: the event still fires', async () => {
          const app = await productionTarget(host)
          await app.server.request('/login', { headers: HTTPS })
          assert.equal(app.events.insecure_transport.length, 1)
        })

        it("R21: behind a trusted proxy, a forwarded 'http' raises the event (the proxy's word counts both ways)", async () => {
          const app = await productionTarget(host, {}, TRUST_PROXY)
          await app.server.request('/login', { headers: { 'x-forwarded-proto': 'http' } })
          assert.equal(app.events.insecure_transport.length, 1)
        })

        it("R21: the proxy option overrides: proxy: false ignores X-Forwarded-Proto even with trust proxy; proxy: true believes it", async () => {
          const strict = await productionTarget(host, { proxy: false }, TRUST_PROXY)
          await strict.server.request('/login', { headers: HTTPS })
          assert.equal(strict.events.insecure_transport.length, 1)
          const trusting = await productionTarget(host, { proxy: true })
          const reply = await trusting.server.request('/login', { headers: HTTPS })
          assert.equal(sessionCookie(reply, '__Host-sid')?.attributes.secure, true)
          assert.deepEqual(trusting.events.insecure_transport, [])
        })

        it(
          "R21: with cookie.secure: 'auto' the cookie is still Secure on plain http, with the event",
          async () => {
            const app = await productionTarget(host, { cookie: { secure: 'auto' } })
            const reply = await app.server.request('/login')
            const cookie = reply.cookies.map((line) => line.toLowerCase())
            assert.equal(cookie.length, 1)
            assert.match(cookie[0] as string, /; secure(;|$)/)
            assert.equal(app.events.insecure_transport.length, 1)
          },
        )
      })

      describe('in development', () => {
        it("R21: secure: 'auto' follows the request: Secure behind a trusted https proxy, not on plain http, and no event either way", async () => {
          const app = await target(host, { cookie: { secure: 'auto' } }, TRUST_PROXY)
          const secure = await app.server.request('/login', { headers: HTTPS })
          assert.equal(sessionCookie(secure)?.attributes.secure, true)
          const plain = await app.server.request('/login')
          assert.equal(sessionCookie(plain)?.attributes.secure, undefined)
          assert.deepEqual(app.events.insecure_transport, [])
        })

        it('R21: secure: true on plain http still sends the cookie, Secure, and raises the event (never a silent drop)', async () => {
          const app = await target(host, { cookie: { secure: true } })
          const reply = await app.server.request('/login')
          assert.equal(sessionCookie(reply)?.attributes.secure, true)
          assert.equal(app.events.insecure_transport.length, 1)
        })
      })
    })
  }
})
