import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import { createApp, createStore } from '../../examples/demo/server.ts'
import type { SessionStore } from '../../src/index.ts'
import { kContractStore } from '../../src/stores/contract.ts'
import type { Browser, Page } from './browser.ts'
import { ENTRIES, serve, type Served } from './serve.ts'

const databases = mkdtempSync(join(tmpdir(), 'tessera-demo-'))
after(() => rmSync(databases, { recursive: true, force: true }))
let databaseCount = 0
/** A fresh SQLite file for one app, removed after the run. */
function temporaryDatabase(): string {
  return join(databases, `demo-${databaseCount++}.sqlite`)
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const STARTUP_TIMEOUT = 10_000

/** The entries of the profile's "Active sessions" list. */
function activeSessions(page: Page): string[] {
  const list = /<h2>Active sessions<\/h2>\s*<ul>(.*?)<\/ul>/s.exec(page.body)
  assert.ok(list, 'an active-sessions list')
  return [...(list[1] as string).matchAll(/<li>(.*?)<\/li>/gs)].map((m) => m[1] as string)
}

/** The demo's store without the optional per-user index (`listByUser`, `destroyByUser`) and `all`. */
function storeWithoutIndex(): SessionStore {
  const store = createStore(temporaryDatabase())
  return {
    [kContractStore]: true,
    get: (id, options) => store.get(id, options),
    create: (id, session) => store.create(id, session),
    update: (id, patch, expiresAt, options) => store.update(id, patch, expiresAt, options),
    touch: (id, expiresAt) => store.touch(id, expiresAt),
    destroy: (id) => store.destroy(id),
  }
}

function logIn(browser: Browser, username: string, password = 'demo'): Promise<Page> {
  return browser.post('/login', { username, password })
}

describe('demo example', () => {
  for (const entry of ENTRIES) {
    describe(`on express 5, ${entry.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ compat: entry.compat, express, store: createStore(temporaryDatabase()) }))
      })
      after(() => app.close())

      describe('signed out', () => {
        it('shows a home page with the login link and the demo password', async () => {
          const page = await app.browser().get('/')
          assert.equal(page.status, 200)
          assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
          assert.match(page.body, /<a href="\/login">Log in<\/a>/)
          assert.match(page.body, /the password <code>demo<\/code>/)
        })

        it('shows the login form, posting to /login', async () => {
          const page = await app.browser().get('/login')
          assert.equal(page.status, 200)
          assert.match(page.body, /<form method="post" action="\/login">/)
          assert.match(page.body, /name="username"/)
          assert.match(page.body, /name="password" type="password"/)
        })

        it('sends the profile to the login form', async () => {
          const page = await app.browser().get('/profile')
          assert.equal(page.path, '/login')
          assert.match(page.body, /<form method="post" action="\/login">/)
        })

        it('sets no cookie on pages that store nothing', async () => {
          const browser = app.browser()
          await browser.get('/')
          await browser.get('/login')
          await browser.get('/profile')
          assert.deepEqual(browser.cookieNames(), [])
        })
      })

      describe('logging in', () => {
        it('refuses a wrong password with 401 and keeps the user name in the form', async () => {
          const browser = app.browser()
          const page = await logIn(browser, 'ann', 'not demo')
          assert.equal(page.status, 401)
          assert.match(page.body, /Wrong password/)
          assert.match(page.body, /name="username" value="ann"/)
          assert.equal((await browser.get('/profile')).path, '/login')
        })

        it('refuses an empty user name with 400', async () => {
          const page = await logIn(app.browser(), '   ')
          assert.equal(page.status, 400)
          assert.match(page.body, /Enter a user name/)
        })

        it('goes to the profile: user name, creation time, one visit, this browser listed', async () => {
          const browser = app.browser()
          const page = await logIn(browser, 'ann')
          assert.deepEqual(
            page.redirects.map((r) => [r.status, r.location]),
            [[303, '/profile']],
          )
          assert.equal(page.status, 200)
          assert.equal(page.headers.get('cache-control'), 'no-store')
          assert.match(page.body, /<dt>User name<\/dt><dd>ann<\/dd>/)
          const created = /<dt>Session created<\/dt><dd><time datetime="([^"]+)">/.exec(page.body)
          assert.ok(created, 'a creation time')
          assert.ok(Math.abs(Date.parse(created[1] as string) - Date.now()) < 60_000, 'created just now')
          assert.match(page.body, /<dt>Visits to this page<\/dt><dd>1<\/dd>/)
          const sessions = activeSessions(page)
          assert.equal(sessions.length, 1)
          assert.match(sessions[0] as string, /this browser/)
        })

        it('counts the visits to the profile', async () => {
          const browser = app.browser()
          await logIn(browser, 'ann')
          assert.match((await browser.get('/profile')).body, /<dt>Visits to this page<\/dt><dd>2<\/dd>/)
          assert.match((await browser.get('/profile')).body, /<dt>Visits to this page<\/dt><dd>3<\/dd>/)
        })

        it('escapes markup in the user name', async () => {
          const browser = app.browser()
          const page = await logIn(browser, '<script>alert("x")</script>')
          assert.equal(page.status, 200)
          assert.ok(!page.body.includes('<script>'), 'no script element')
          assert.match(page.body, /<dd>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;<\/dd>/)
          const refused = await logIn(app.browser(), '"><script>', 'wrong')
          assert.ok(!refused.body.includes('<script>'), 'no script element in the refused form')
          assert.match(refused.body, /value="&quot;&gt;&lt;script&gt;"/)
        })

        it('sends a SameSite=Lax, HttpOnly cookie', async () => {
          const browser = app.browser()
          const reply = await browser.post('/login', { username: 'ann', password: 'demo' }, { follow: false })
          assert.equal(reply.status, 303)
          const [cookie] = reply.headers.getSetCookie()
          assert.ok(cookie, 'a Set-Cookie header')
          assert.match(cookie, /; HttpOnly/i)
          assert.match(cookie, /; SameSite=Lax/i)
        })
      })

      describe('with two browsers signed in as one user', () => {
        it('lists both, and "sign out everywhere else" ends the other one only', async () => {
          const laptop = app.browser()
          const phone = app.browser()
          const stranger = app.browser()
          await logIn(laptop, 'bea')
          await logIn(phone, 'bea')
          await logIn(stranger, 'cid')

          const before = activeSessions(await laptop.get('/profile'))
          assert.equal(before.length, 2, 'the other user is not listed')
          assert.equal(before.filter((s) => s.includes('this browser')).length, 1)
          assert.equal(activeSessions(await phone.get('/profile')).length, 2)

          const revoked = await laptop.post('/sessions/revoke')
          assert.equal(revoked.path, '/profile?revoked=1')
          assert.match(revoked.body, /Signed out 1 other session\./)
          const after = activeSessions(revoked)
          assert.equal(after.length, 1)
          assert.match(after[0] as string, /this browser/)

          assert.equal((await phone.get('/profile')).path, '/login', 'the phone is signed out')
          assert.match((await laptop.get('/profile')).body, /<dd>bea<\/dd>/, 'the laptop is still signed in')
          assert.match((await stranger.get('/profile')).body, /<dd>cid<\/dd>/, 'other users are untouched')
        })
      })

      describe('logging out', () => {
        it('destroys the session and goes home', async () => {
          const browser = app.browser()
          await logIn(browser, 'dan')
          const [name] = browser.cookieNames()
          assert.ok(name)
          const value = browser.cookie(name) as string
          const page = await browser.post('/logout')
          assert.deepEqual(
            page.redirects.map((r) => [r.status, r.location]),
            [[303, '/']],
          )
          assert.match(page.body, /<a href="\/login">Log in<\/a>/)
          assert.equal((await browser.get('/profile')).path, '/login')

          const replay = app.browser()
          replay.setCookie(name, value)
          assert.equal((await replay.get('/profile')).path, '/login', 'the old cookie is worthless')
        })

        it('refuses a logout posted from another site', async () => {
          const browser = app.browser()
          await logIn(browser, 'eve')
          const crossSite = await browser.post('/logout', {}, { headers: { origin: 'https://attacker.example' } })
          assert.equal(crossSite.status, 403)
          const fetchMetadata = await browser.post('/logout', {}, { headers: { 'sec-fetch-site': 'cross-site' } })
          assert.equal(fetchMetadata.status, 403)
          assert.match((await browser.get('/profile')).body, /<dd>eve<\/dd>/, 'still signed in')
        })
      })
    })
  }

  for (const entry of ENTRIES) {
    describe(`with a store that cannot list a user's sessions, ${entry.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ compat: entry.compat, express, store: storeWithoutIndex() }))
      })
      after(() => app.close())

      it('shows the profile without the list and refuses revocation', async () => {
        const browser = app.browser()
        const profile = await logIn(browser, 'fay')
        assert.equal(profile.status, 200)
        assert.match(profile.body, /<dd>fay<\/dd>/)
        assert.match(profile.body, /cannot list a user's sessions/)
        assert.ok(!profile.body.includes('/sessions/revoke'), 'no revocation form')
        assert.equal((await browser.post('/sessions/revoke')).status, 501)
      })
    })
  }

  describe('when started with node examples/demo/server.ts', () => {
    it('prints its URL (PORT=0 picks a free port) and serves the home page', { timeout: STARTUP_TIMEOUT * 2 }, async () => {
      const child = spawn(process.execPath, ['examples/demo/server.ts'], {
        cwd: REPO,
        env: { ...process.env, PORT: '0', NODE_ENV: 'development', SESSION_DB: temporaryDatabase() },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let stdout = ''
          const timer = setTimeout(() => reject(new Error(`no URL line within ${STARTUP_TIMEOUT} ms; stdout: ${stdout}; stderr: ${stderr}`)), STARTUP_TIMEOUT)
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            stdout += chunk
            const line = /^tessera-session demo listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout)
            if (line) {
              clearTimeout(timer)
              resolve(line[1] as string)
            }
          })
          child.once('exit', (code) => {
            clearTimeout(timer)
            reject(new Error(`exited with ${code} before printing its URL; stderr: ${stderr}`))
          })
        })
        assert.notEqual(new URL(url).port, '0')
        const res = await fetch(url + '/', { signal: AbortSignal.timeout(STARTUP_TIMEOUT) })
        assert.equal(res.status, 200)
        assert.match(await res.text(), /tessera-session demo/)
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit')
          child.kill()
          await exited
        }
      }
    })
  })
})
