/**
 * The Passport recipe over HTTP, on Express 5 and 4: Passport's login regenerates the session and
 * saves it through the main entry's callback methods; logout saves and regenerates again.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../../examples/recipes/passport/server.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

describe('passport recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ express: host.express }))
      })
      after(() => app.close())

      it('refuses the profile before signing in', async () => {
        assert.equal((await app.browser().get('/profile')).status, 401)
      })

      it('sends a wrong password back to the form, signed out', async () => {
        const browser = app.browser()
        const page = await browser.post('/login', { username: 'ann', password: 'nope' })
        assert.equal(page.path, '/login')
        assert.match(page.body, /Wrong username or password\./)
        assert.equal((await browser.get('/profile')).status, 401)
      })

      it('signs in with passport-local: a new session id, the user on the next request', async () => {
        const browser = app.browser()
        const page = await browser.post('/login', { username: 'ann', password: 'wonderland' })
        assert.deepEqual(page.redirects, [{ status: 302, location: '/profile' }])
        assert.equal(page.body, 'Hello, ann!')
        assert.equal((await browser.get('/')).body.startsWith('Signed in as ann.'), true)
      })

      it('regenerates at login: a session planted before it is worth nothing after', async () => {
        const browser = app.browser()
        // a failed attempt leaves Passport's message in a session: the browser has a session cookie before signing in
        await browser.post('/login', { username: 'ann', password: 'nope' })
        const [name] = browser.cookieNames()
        const planted = browser.cookie(name as string) as string
        await browser.post('/login', { username: 'ann', password: 'wonderland' })
        assert.notEqual(browser.cookie(name as string), planted)
        const attacker = app.browser()
        attacker.setCookie(name as string, planted)
        assert.equal((await attacker.get('/profile')).status, 401)
      })

      it('signs out: the profile is refused, even to the signed-in cookie replayed', async () => {
        const browser = app.browser()
        await browser.post('/login', { username: 'bob', password: 'builder' })
        const [name] = browser.cookieNames()
        const signedIn = browser.cookie(name as string) as string
        const page = await browser.post('/logout')
        assert.deepEqual(page.redirects, [{ status: 302, location: '/' }])
        assert.equal((await browser.get('/profile')).status, 401)
        const replay = app.browser()
        replay.setCookie(name as string, signedIn)
        assert.equal((await replay.get('/profile')).status, 401)
      })
    })
  }
})
