/**
 * The cross-origin SPA recipe over HTTP: CORS with credentials for the allowed origin only, a
 * `SameSite=None; Secure` session cookie behind the (trusted) TLS proxy, the session kept across
 * the SPA's requests, and writes from other origins refused.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp, createSpa } from '../../../examples/recipes/cross-origin-spa/server.ts'
import { parseSetCookie } from '../../support/set-cookie.ts'
import { request } from '../../support/request.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

const SPA = 'http://localhost:3001'
const FROM_SPA = { origin: SPA, 'x-forwarded-proto': 'https' }

describe('cross-origin-spa recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let api: Served
      before(async () => {
        api = await serve(createApp({ allowedOrigins: [SPA], express: host.express }))
      })
      after(() => api.close())

      it('answers the preflight of the allowed origin with credentials allowed', async () => {
        const reply = await request(`${api.url}/api/todos`, {
          method: 'OPTIONS',
          headers: { ...FROM_SPA, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        })
        assert.equal(reply.status, 204)
        assert.equal(reply.headers['access-control-allow-origin'], SPA)
        assert.equal(reply.headers['access-control-allow-credentials'], 'true')
        assert.match(String(reply.headers['access-control-allow-methods']), /POST/)
        assert.match(String(reply.headers['access-control-allow-headers']), /Content-Type/i)
        assert.match(String(reply.headers.vary), /Origin/)
      })

      it('keeps the session across the SPA requests: SameSite=None; Secure cookie, exact origin, credentials', async () => {
        const add = await fetch(`${api.url}/api/todos`, { method: 'POST', headers: { ...FROM_SPA, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'milk' }) })
        assert.equal(add.status, 201)
        assert.equal(add.headers.get('access-control-allow-origin'), SPA)
        assert.equal(add.headers.get('access-control-allow-credentials'), 'true')
        const cookie = parseSetCookie(add.headers.getSetCookie()[0] as string)
        assert.equal(cookie.attributes.samesite, 'None')
        assert.equal(cookie.attributes.secure, true)
        assert.equal(cookie.attributes.httponly, true)
        const list = await fetch(`${api.url}/api/todos`, { headers: { ...FROM_SPA, cookie: `${cookie.name}=${cookie.value}` } })
        assert.deepEqual(await list.json(), ['milk'])
      })

      it('gives other origins no CORS headers, and refuses their writes (CSRF)', async () => {
        const read = await request(`${api.url}/api/todos`, { headers: { origin: 'https://evil.example', 'x-forwarded-proto': 'https' } })
        assert.equal(read.headers['access-control-allow-origin'], undefined)
        assert.equal(read.headers['access-control-allow-credentials'], undefined)
        const write = await request(`${api.url}/api/todos`, { method: 'POST', headers: { origin: 'https://evil.example', 'x-forwarded-proto': 'https', 'content-type': 'application/json' } })
        assert.equal(write.status, 403)
        assert.deepEqual(write.cookies, [])
      })

      it('serves an SPA page that calls the API with credentials', async () => {
        const spa = await serve(createSpa(api.url, host.express))
        try {
          const page = await (await fetch(spa.url)).text()
          assert.ok(page.includes(JSON.stringify(api.url)))
          assert.match(page, /credentials: 'include'/)
        } finally {
          await spa.close()
        }
      })
    })
  }
})
