import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../examples/login/server.ts'
import type { Browser } from './browser.ts'
import { ENTRIES, HOSTS, serve, type Served } from './serve.ts'

/** The one session cookie in the jar, as `[name, value]`. */
function sessionCookie(browser: Browser): [string, string] {
  const names = browser.cookieNames()
  assert.equal(names.length, 1, `one cookie in the jar, got ${names.join(', ')}`)
  const name = names[0] as string
  return [name, browser.cookie(name) as string]
}

describe('login example', () => {
  for (const host of HOSTS) {
    for (const entry of ENTRIES) {
      describe(`on ${host.name}, ${entry.name}`, () => {
        let app: Served
        before(async () => {
          app = await serve(createApp({ compat: entry.compat, express: host.express }))
        })
        after(() => app.close())

        describe('before logging in', () => {
          it('refuses the profile with 401', async () => {
            const page = await app.browser().get('/profile')
            assert.equal(page.status, 401)
            assert.equal(page.body, 'Please log in first.')
          })
        })

        describe('after logging in', () => {
          it('shows the profile', async () => {
            const browser = app.browser()
            const login = await browser.get('/login')
            assert.equal(login.status, 200)
            assert.equal(login.body, 'Logged in successfully!')
            const profile = await browser.get('/profile')
            assert.equal(profile.status, 200)
            assert.equal(profile.body, 'Welcome, JohnDoe!')
          })

          it('keeps other browsers logged out', async () => {
            await app.browser().get('/login')
            assert.equal((await app.browser().get('/profile')).status, 401)
          })
        })

        describe('when logging in again', () => {
          it('issues a new session id and retires the previous one (fixation defence)', async () => {
            const browser = app.browser()
            await browser.get('/login')
            const [name, before] = sessionCookie(browser)
            await browser.get('/login')
            const [, after] = sessionCookie(browser)
            assert.notEqual(after, before)
            assert.equal((await browser.get('/profile')).body, 'Welcome, JohnDoe!')

            const planted = app.browser()
            planted.setCookie(name, before)
            assert.equal((await planted.get('/profile')).status, 401)
          })
        })

        describe('after logging out', () => {
          it('refuses the profile, even to a replayed cookie', async () => {
            const browser = app.browser()
            await browser.get('/login')
            const [name, value] = sessionCookie(browser)
            const logout = await browser.get('/logout')
            assert.equal(logout.status, 200)
            assert.equal(logout.body, 'Logged out successfully!')
            assert.equal((await browser.get('/profile')).status, 401)

            const replay = app.browser()
            replay.setCookie(name, value)
            assert.equal((await replay.get('/profile')).status, 401)
          })
        })
      })
    }
  }
})
