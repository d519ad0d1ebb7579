/**
 * The OAuth form_post recipe over HTTP, with its fake provider on another site (`localhost` vs
 * `127.0.0.1`). The test plays the browser's part, including its SameSite rule: the provider's
 * cross-site POST to the callback carries no `SameSite=Lax` cookie; the 303 back to the app is a
 * top-level GET, which does.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../../examples/recipes/oauth-form-post/server.ts'
import { createProvider } from '../../../examples/recipes/oauth-form-post/provider.ts'
import { parseSetCookie } from '../../support/set-cookie.ts'
import { request } from '../../support/request.ts'
import type { Browser } from '../browser.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

interface Callback {
  action: string
  code: string
  state: string
}

describe('oauth-form-post recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let provider: Served
      let providerUrl: string
      let app: Served
      before(async () => {
        provider = await serve(createProvider(host.express))
        // the same server, named by another site
        providerUrl = provider.url.replace('127.0.0.1', 'localhost')
        app = await serve(createApp({ providerUrl, express: host.express }))
      })
      after(async () => {
        await app.close()
        await provider.close()
      })

      /** /login, then the provider's page: the form it would make the browser POST. */
      async function authorize(browser: Browser): Promise<Callback> {
        const login = await browser.get('/login', { follow: false })
        assert.equal(login.status, 302)
        const location = login.headers.get('location') as string
        assert.ok(location.startsWith(`${providerUrl}/authorize?`))
        assert.equal(new URL(location).searchParams.get('response_mode'), 'form_post')
        assert.equal(browser.cookieNames().length, 1, 'the state is kept in a session')
        const page = await (await fetch(location)).text()
        const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page)?.[1] as string
        return { action: /action="([^"]+)"/.exec(page)?.[1] as string, code: field('code'), state: field('state') }
      }

      it('signs in: callback without the cookie, 303 to the app, finished with the cookie', async () => {
        const browser = app.browser()
        const callback = await authorize(browser)
        assert.equal(callback.action, `${app.url}/callback`)
        const [name] = browser.cookieNames()
        const before = browser.cookie(name as string)
        const posted = await postForm(callback.action, { code: callback.code, state: callback.state })
        assert.equal(posted.status, 303)
        assert.deepEqual(posted.cookies, [], 'the callback sets no cookie: the signed-out session in the browser is left alone')
        const finish = await browser.get(posted.headers.location as string)
        assert.equal(finish.body, 'Signed in as Ann.')
        assert.deepEqual(finish.redirects, [{ status: 302, location: '/' }])
        assert.notEqual(browser.cookie(name as string), before, 'a new session id at sign-in')
      })

      it("keeps the session cookie SameSite=Lax", async () => {
        const login = await request(`${app.url}/login`)
        assert.equal(parseSetCookie(login.cookies[0] as string).attributes.samesite, 'Lax')
      })

      it('refuses a callback this browser did not start (login CSRF)', async () => {
        const attacker = app.browser()
        const callback = await authorize(attacker)
        const posted = await postForm(callback.action, { code: callback.code, state: callback.state })
        // the victim is sent to the attacker's finish URL: their session never held that state
        const victim = app.browser()
        await victim.get('/login', { follow: false })
        const finish = await victim.get(posted.headers.location as string)
        assert.equal(finish.status, 403)
        assert.equal((await victim.get('/')).body.startsWith('Signed in'), false)
      })

      it('refuses a replayed callback and an unknown state', async () => {
        const browser = app.browser()
        const callback = await authorize(browser)
        const posted = await postForm(callback.action, { code: callback.code, state: callback.state })
        assert.equal((await postForm(callback.action, { code: callback.code, state: callback.state })).status, 400)
        assert.equal((await browser.get(posted.headers.location as string)).body, 'Signed in as Ann.')
        assert.equal((await browser.get(posted.headers.location as string)).status, 403)
        assert.equal((await browser.get('/callback/finish?state=forged')).status, 403)
      })
    })
  }
})

/** The provider page's POST to the callback, as the browser sends it: cross-site, top-level, without the app's SameSite=Lax cookie. */
function postForm(url: string, form: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; cookies: string[] }> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(form).toString()
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
      origin: 'http://localhost',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'navigate',
    }
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, cookies: res.headers['set-cookie'] ?? [] }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
