import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import { createApp } from '../../examples/named-user/server.ts'
import { ENTRIES, serve, type Served } from './serve.ts'

describe('named-user example', () => {
  for (const entry of ENTRIES) {
    describe(`on express 5, ${entry.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ compat: entry.compat, express }))
      })
      after(() => app.close())

      describe('without a name', () => {
        it('says the user is logged out', async () => {
          const page = await app.browser().get('/user')
          assert.equal(page.status, 200)
          assert.equal(page.body, 'user logged out!')
        })
      })

      describe('with a name', () => {
        it('greets it, then welcomes it back with a logout link', async () => {
          const browser = app.browser()
          assert.equal((await browser.get('/user/Alice')).body, 'Hello, Alice!')
          assert.equal((await browser.get('/user')).body, 'Welcome back, Alice! <a href="/logout">Log out</a>')
        })

        it('keeps the last name given', async () => {
          const browser = app.browser()
          await browser.get('/user/Alice')
          await browser.get('/user/Bob')
          assert.equal((await browser.get('/user')).body, 'Welcome back, Bob! <a href="/logout">Log out</a>')
        })

        it('keeps one name per browser', async () => {
          const alice = app.browser()
          const bob = app.browser()
          await alice.get('/user/Alice')
          await bob.get('/user/Bob')
          assert.match((await alice.get('/user')).body, /^Welcome back, Alice!/)
          assert.match((await bob.get('/user')).body, /^Welcome back, Bob!/)
        })

        it('escapes markup in the name', async () => {
          const browser = app.browser()
          const name = '<img src=x onerror="alert(1)">'
          const hello = await browser.get(`/user/${encodeURIComponent(name)}`)
          assert.equal(hello.body, 'Hello, &lt;img src=x onerror=&quot;alert(1)&quot;&gt;!')
          const back = await browser.get('/user')
          assert.equal(back.body, 'Welcome back, &lt;img src=x onerror=&quot;alert(1)&quot;&gt;! <a href="/logout">Log out</a>')
        })
      })

      describe('on logout', () => {
        it('destroys the session and redirects to /user', async () => {
          const browser = app.browser()
          await browser.get('/user/Alice')
          const page = await browser.get('/logout')
          assert.deepEqual(
            page.redirects.map((r) => [r.status, r.location]),
            [[302, '/user']],
          )
          assert.equal(page.path, '/user')
          assert.equal(page.body, 'user logged out!')
          assert.equal((await browser.get('/user')).body, 'user logged out!')
        })
      })
    })
  }
})
