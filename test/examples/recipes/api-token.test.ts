/**
 * The API-token recipe over HTTP: sign-in answers the token in `X-Session-Token` (no cookie), the
 * token brings the session back, logout answers it empty and the old token is dead; CORS lets the
 * allowed SPA send the header and read it, and no other origin.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { TOKEN_HEADER, createApp, createSpa } from '../../../examples/recipes/api-token/server.ts'
import { request } from '../../support/request.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

const SPA = 'http://localhost:3001'

describe('api-token recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let api: Served
      before(async () => {
        api = await serve(createApp({ allowedOrigins: [SPA], express: host.express }))
      })
      after(() => api.close())

      it('signs in with a token in the header, never a cookie; the token brings the session; logout answers it empty and kills it', async () => {
        const login = await fetch(`${api.url}/api/login`, { method: 'POST', headers: { origin: SPA, 'content-type': 'application/json' }, body: JSON.stringify({ user: 'ann' }) })
        assert.equal(login.status, 200)
        assert.deepEqual(login.headers.getSetCookie(), [])
        assert.equal(login.headers.get('cache-control'), 'no-store')
        const token = login.headers.get(TOKEN_HEADER) as string
        assert.match(token, /^v1\./)
        const me = await fetch(`${api.url}/api/me`, { headers: { [TOKEN_HEADER]: token } })
        assert.deepEqual(await me.json(), { user: 'ann' })
        const out = await fetch(`${api.url}/api/logout`, { method: 'POST', headers: { [TOKEN_HEADER]: token } })
        assert.equal(out.status, 204)
        assert.equal(out.headers.get(TOKEN_HEADER), '')
        const replay = await fetch(`${api.url}/api/me`, { headers: { [TOKEN_HEADER]: token } })
        assert.deepEqual(await replay.json(), { user: null })
      })

      it('lets the allowed origin send the header (preflight) and read it (exposed); other origins get no CORS headers', async () => {
        const preflight = await request(`${api.url}/api/me`, {
          method: 'OPTIONS',
          headers: { origin: SPA, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-session-token' },
        })
        assert.equal(preflight.status, 204)
        assert.equal(preflight.headers['access-control-allow-origin'], SPA)
        assert.match(String(preflight.headers['access-control-allow-headers']), /X-Session-Token/i)
        assert.equal(preflight.headers['access-control-allow-credentials'], undefined, 'no cookie, no credentials')
        const login = await request(`${api.url}/api/login`, { method: 'POST', headers: { origin: SPA, 'content-type': 'application/json' }, body: '{"user":"bob"}' })
        assert.match(String(login.headers['access-control-expose-headers']), /X-Session-Token/i)
        const other = await request(`${api.url}/api/me`, { headers: { origin: 'https://evil.example' } })
        assert.equal(other.headers['access-control-allow-origin'], undefined)
        assert.equal(other.headers['access-control-expose-headers'], undefined)
      })

      it('refuses a malformed sign-in', async () => {
        const reply = await request(`${api.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"<script>"}' })
        assert.equal(reply.status, 400)
        assert.equal(reply.headers['x-session-token'], undefined)
      })

      it('serves an SPA page that keeps the token in memory and sends it in the header', async () => {
        const spa = await serve(createSpa(api.url, host.express))
        try {
          const page = await (await fetch(spa.url)).text()
          assert.ok(page.includes(JSON.stringify(api.url)))
          assert.ok(page.includes(JSON.stringify(TOKEN_HEADER)))
          assert.doesNotMatch(page, /localStorage|sessionStorage|credentials/)
        } finally {
          await spa.close()
        }
      })
    })
  }
})
