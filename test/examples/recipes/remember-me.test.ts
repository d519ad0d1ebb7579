/** The "remember me" recipe over HTTP: a persistent 30-day cookie only when asked, a browser-session cookie otherwise. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { REMEMBER_FOR, createApp } from '../../../examples/recipes/remember-me/server.ts'
import { parseSetCookie } from '../../support/set-cookie.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

describe('remember-me recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ express: host.express }))
      })
      after(() => app.close())

      async function signIn(form: Record<string, string>) {
        const browser = app.browser()
        const page = await browser.post('/login', form, { follow: false })
        assert.equal(page.status, 302)
        const cookie = parseSetCookie(page.headers.getSetCookie()[0] as string)
        return { browser, cookie }
      }

      it('with "remember me": a persistent cookie for 30 days, matching the server', async () => {
        const { browser, cookie } = await signIn({ username: 'ann', remember: '1' })
        assert.equal(cookie.attributes['max-age'], String(REMEMBER_FOR / 1000))
        const expires = Date.parse(cookie.attributes.expires as string)
        assert.ok(Math.abs(expires - (Date.now() + REMEMBER_FOR)) < 60_000, 'Expires is 30 days away')
        assert.match((await browser.get('/')).body, /^Hello, ann\./)
      })

      it('without it: a browser-session cookie (no Max-Age, no Expires)', async () => {
        const { browser, cookie } = await signIn({ username: 'bob' })
        assert.equal(cookie.attributes['max-age'], undefined)
        assert.equal(cookie.attributes.expires, undefined)
        assert.match((await browser.get('/')).body, /^Hello, bob\./)
      })

      it('signs out: the cookie is cleared', async () => {
        const { browser } = await signIn({ username: 'ann', remember: '1' })
        const out = await browser.post('/logout', {}, { follow: false })
        assert.equal(parseSetCookie(out.headers.getSetCookie()[0] as string).attributes['max-age'], '0')
        assert.match((await browser.get('/')).body, /Remember me/)
      })
    })
  }
})
