import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../examples/views/server.ts'
import { ENTRIES, HOSTS, serve, type Served } from './serve.ts'

const FIRST_VISIT = 'Welcome! This is your first visit.'

describe('views example', () => {
  for (const host of HOSTS) {
    for (const entry of ENTRIES) {
      describe(`on ${host.name}, ${entry.name}`, () => {
        let app: Served
        before(async () => {
          app = await serve(createApp({ compat: entry.compat, express: host.express }))
        })
        after(() => app.close())

        it('welcomes a first visit, then counts the views of that browser', async () => {
          const browser = app.browser()
          assert.equal((await browser.get('/')).body, FIRST_VISIT)
          assert.equal((await browser.get('/')).body, 'Number of views: 2')
          assert.equal((await browser.get('/')).body, 'Number of views: 3')
        })

        it('keeps one counter per browser', async () => {
          const first = app.browser()
          const second = app.browser()
          await first.get('/')
          await first.get('/')
          assert.equal((await second.get('/')).body, FIRST_VISIT)
          assert.equal((await first.get('/')).body, 'Number of views: 3')
          assert.equal((await second.get('/')).body, 'Number of views: 2')
        })

        it('sends an HttpOnly session cookie', async () => {
          const page = await app.browser().get('/')
          const [cookie] = page.headers.getSetCookie()
          assert.ok(cookie, 'a Set-Cookie header')
          assert.match(cookie, /; HttpOnly/i)
        })

        it('treats a tampered cookie as a first visit', async () => {
          const browser = app.browser()
          await browser.get('/')
          const [name] = browser.cookieNames()
          assert.ok(name)
          const value = browser.cookie(name) as string
          browser.setCookie(name, value.slice(0, -2) + (value.endsWith('AA') ? 'BB' : 'AA'))
          assert.equal((await browser.get('/')).body, FIRST_VISIT)
        })
      })
    }
  }
})
