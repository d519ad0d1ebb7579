import { createHash } from 'node:crypto'
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

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1'

interface ListedDevice {
  name: string
  current: boolean
  /** The sign-out form's handle, for the other devices. */
  handle: string | undefined
  html: string
}

/** The entries of the "Your devices" list, in the page's order. */
function devices(page: Page): ListedDevice[] {
  const list = /<ul class="devices">(.*?)<\/ul>/s.exec(page.body)
  assert.ok(list, `a device list in ${page.path}`)
  return [...(list[1] as string).matchAll(/<li class="card device( current)?">(.*?)<\/li>/gs)].map((m) => ({
    current: m[1] !== undefined,
    name: (/<p class="device-name">([^<]*)/.exec(m[2] as string)?.[1] ?? '').trim(),
    handle: /name="device" value="([^"]+)"/.exec(m[2] as string)?.[1],
    html: m[2] as string,
  }))
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

function logIn(browser: Browser, username: string, options: { password?: string; userAgent?: string } = {}): Promise<Page> {
  return browser.post('/login', { username, password: options.password ?? 'demo' }, { headers: { 'user-agent': options.userAgent ?? FIREFOX } })
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
          assert.match(page.body, /the password is <code>demo<\/code>/)
        })

        it('shows the login form, posting to /login', async () => {
          const page = await app.browser().get('/login')
          assert.equal(page.status, 200)
          assert.match(page.body, /<form class="card" method="post" action="\/login">/)
          assert.match(page.body, /name="username"/)
          assert.match(page.body, /name="password" type="password"/)
          assert.ok(!page.body.includes('role="alert"'), 'no notice')
        })

        it('sends the profile and the devices page to the login form, without a notice', async () => {
          for (const path of ['/profile', '/devices']) {
            const page = await app.browser().get(path)
            assert.equal(page.path, '/login')
            assert.ok(!page.body.includes('You were signed out'), 'no notice for a browser that never signed in')
          }
        })

        it('sets no cookie on pages that store nothing', async () => {
          const browser = app.browser()
          await browser.get('/')
          await browser.get('/login')
          await browser.get('/profile')
          await browser.get('/devices')
          assert.deepEqual(browser.cookieNames(), [])
        })
      })

      describe('every page', () => {
        it('has a strict Content-Security-Policy whose hashes are those of its one inline style and script', async () => {
          const page = await app.browser().get('/login')
          const csp = page.headers.get('content-security-policy') ?? ''
          assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp)
          assert.match(csp, /default-src 'none'/)
          const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`
          const style = [...page.body.matchAll(/<style>(.*?)<\/style>/gs)].map((m) => m[1] as string)
          const script = [...page.body.matchAll(/<script>(.*?)<\/script>/gs)].map((m) => m[1] as string)
          assert.equal(style.length, 1)
          assert.equal(script.length, 1)
          assert.ok(csp.includes(`style-src ${sha256(style[0] as string)};`), 'the style is allowed by its hash')
          assert.ok(csp.includes(`script-src ${sha256(script[0] as string)};`), 'the script is allowed by its hash')
          assert.ok(!/ style=/.test(page.body) && !/ on[a-z]+=/.test(page.body), 'no inline style or event attributes')
          assert.ok(!/(?:src|href)="(?:https?:)?\/\//.test(page.body), 'no external asset')
        })
      })

      describe('logging in', () => {
        it('refuses a wrong password with 401 and keeps the user name in the form', async () => {
          const browser = app.browser()
          const page = await logIn(browser, 'ann', { password: 'not demo' })
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

        it('goes to "Your devices", which lists this browser, described, first and marked', async () => {
          const browser = app.browser()
          const page = await logIn(browser, 'ann')
          assert.deepEqual(
            page.redirects.map((r) => [r.status, r.location]),
            [[303, '/devices']],
          )
          assert.equal(page.status, 200)
          assert.equal(page.headers.get('cache-control'), 'no-store')
          assert.match(page.body, /You are signed in as <strong>ann<\/strong>/)
          assert.match(page.body, /<body data-private>/, 'a private page: never shown again from the back/forward cache')
          const [only, ...rest] = devices(page)
          assert.deepEqual(rest, [])
          assert.equal(only?.name, 'Firefox on Linux')
          assert.equal(only?.current, true)
          assert.match(only?.html ?? '', /This device/)
          assert.equal(only?.handle, undefined, 'no sign-out button for this browser (it has "Log out")')
          const signedIn = /Signed in <time datetime="([^"]+)" title="[^"]+ UTC">just now<\/time>/.exec(only?.html ?? '')
          assert.ok(signedIn, 'the sign-in time, relative, with the exact time')
          assert.ok(Math.abs(Date.parse(signedIn[1] as string) - Date.now()) < 60_000, 'signed in just now')
          assert.match(page.body, /No other device is signed in/)
          assert.ok(!page.body.includes('sign-out-others'), 'no "sign out all other devices" without others')
        })

        it('shows the profile: user name, sign-in time, visits counted', async () => {
          const browser = app.browser()
          await logIn(browser, 'ann')
          const page = await browser.get('/profile')
          assert.equal(page.headers.get('cache-control'), 'no-store')
          assert.match(page.body, /<dt>User name<\/dt><dd>ann<\/dd>/)
          assert.match(page.body, /<dt>Signed in<\/dt><dd><time datetime="[^"]+" title="[^"]+">just now<\/time><\/dd>/)
          assert.match(page.body, /<dt>Visits to this page<\/dt><dd>1<\/dd>/)
          assert.match((await browser.get('/profile')).body, /<dt>Visits to this page<\/dt><dd>2<\/dd>/)
        })

        it('escapes markup in the user name', async () => {
          const browser = app.browser()
          const page = await logIn(browser, '<script>alert("x")</script>')
          assert.equal(page.status, 200)
          assert.ok(!page.body.includes('<script>alert'), 'no injected script element')
          assert.match(page.body, /<strong>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;<\/strong>/)
          const refused = await logIn(app.browser(), '"><script>', { password: 'wrong' })
          assert.ok(!refused.body.includes('"><script>'), 'no script element in the refused form')
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

      describe('with several browsers signed in as one user', () => {
        it('lists them all on each, this browser first, each described', async () => {
          const laptop = app.browser()
          const phone = app.browser()
          const stranger = app.browser()
          await logIn(laptop, 'bea', { userAgent: FIREFOX })
          await logIn(phone, 'bea', { userAgent: IPHONE })
          await logIn(stranger, 'cid')

          const onLaptop = devices(await laptop.get('/devices'))
          assert.deepEqual(
            onLaptop.map((d) => [d.name, d.current]),
            [
              ['Firefox on Linux', true],
              ['Safari on iPhone', false],
            ],
            'the other user is not listed',
          )
          const onPhone = devices(await phone.get('/devices'))
          assert.deepEqual(
            onPhone.map((d) => [d.name, d.current]),
            [
              ['Safari on iPhone', true],
              ['Firefox on Linux', false],
            ],
          )
          assert.match(onLaptop[1]?.html ?? '', /active <time datetime="[^"]+" title="[^"]+">just now<\/time>/)
        })

        it('"Sign out" ends that device only; it lands on the login form with a notice, once', async () => {
          const laptop = app.browser()
          const phone = app.browser()
          const tablet = app.browser()
          await logIn(laptop, 'dee', { userAgent: FIREFOX })
          await logIn(phone, 'dee', { userAgent: IPHONE })
          await logIn(tablet, 'dee')
          const phoneRow = devices(await laptop.get('/devices')).find((d) => d.name === 'Safari on iPhone')
          assert.ok(phoneRow?.handle, 'a sign-out form for the phone')
          assert.ok(!JSON.stringify(await laptop.get('/devices')).includes(phone.cookie(phone.cookieNames()[0] as string) as string))

          const after = await laptop.post('/devices/sign-out', { device: phoneRow.handle })
          assert.equal(after.path, '/devices?signed-out=1')
          assert.match(after.body, /Signed out 1 device\./)
          assert.equal(devices(after).length, 2)

          const ended = await phone.get('/devices')
          assert.equal(ended.path, '/login?ended=1')
          assert.match(ended.body, /You were signed out on this browser/)
          assert.equal(phone.cookieNames().length, 0, 'the dead cookie is dropped')
          assert.ok(!(await phone.get('/profile')).body.includes('You were signed out'), 'the notice is given once')
          assert.equal((await tablet.get('/devices')).path, '/devices', 'the tablet is still signed in')
        })

        it('"Sign out" refuses a handle of another user, of this browser, or made up', async () => {
          const laptop = app.browser()
          const phone = app.browser()
          const stranger = app.browser()
          await logIn(laptop, 'eve')
          await logIn(phone, 'eve', { userAgent: IPHONE })
          await logIn(stranger, 'fay')
          await logIn(app.browser(), 'fay', { userAgent: IPHONE })
          const strangersOther = devices(await stranger.get('/devices')).find((d) => !d.current)?.handle as string
          // the phone's own handle, as the laptop's page shows it
          const own = devices(await laptop.get('/devices')).find((d) => d.name === 'Safari on iPhone')?.handle as string
          for (const handle of [strangersOther, own, 'made-up', 'x'.repeat(500)]) {
            const page = await phone.post('/devices/sign-out', { device: handle })
            assert.equal(page.path, '/devices')
            assert.ok(!page.body.includes('Signed out'), `nothing signed out for ${handle.slice(0, 20)}`)
          }
          assert.equal(devices(await stranger.get('/devices')).length, 2, "the other user's devices are untouched")
          assert.equal(devices(await laptop.get('/devices')).length, 2)
        })

        it('"Sign out all other devices" ends every other one', async () => {
          const laptop = app.browser()
          const phone = app.browser()
          const tablet = app.browser()
          const stranger = app.browser()
          await logIn(laptop, 'gus')
          await logIn(phone, 'gus', { userAgent: IPHONE })
          await logIn(tablet, 'gus')
          await logIn(stranger, 'hal')

          const after = await laptop.post('/devices/sign-out-others')
          assert.equal(after.path, '/devices?signed-out=2')
          assert.match(after.body, /Signed out 2 devices\./)
          assert.deepEqual(
            devices(after).map((d) => d.current),
            [true],
          )
          assert.equal((await phone.get('/devices')).path, '/login?ended=1')
          assert.equal((await tablet.get('/profile')).path, '/login?ended=1')
          assert.match((await stranger.get('/devices')).body, /<strong>hal<\/strong>/, 'other users are untouched')
        })
      })

      describe('logging out', () => {
        it('destroys the session, drops the cached pages and goes home', async () => {
          const browser = app.browser()
          await logIn(browser, 'ivy')
          const [name] = browser.cookieNames()
          assert.ok(name)
          const value = browser.cookie(name) as string
          const reply = await browser.post('/logout', {}, { follow: false })
          assert.equal(reply.status, 303)
          assert.equal(reply.headers.get('location'), '/')
          assert.equal(reply.headers.get('clear-site-data'), '"cache"')
          const page = await browser.get('/')
          assert.match(page.body, /<a href="\/login">Log in<\/a>/)
          const profile = await browser.get('/profile')
          assert.equal(profile.path, '/login', 'signed out here: no notice')

          const replay = app.browser()
          replay.setCookie(name, value)
          assert.equal((await replay.get('/profile')).path, '/login?ended=1', 'the old cookie is worthless')
        })

        it('refuses a logout posted from another site', async () => {
          const browser = app.browser()
          await logIn(browser, 'jay')
          const crossSite = await browser.post('/logout', {}, { headers: { origin: 'https://attacker.example' } })
          assert.equal(crossSite.status, 403)
          const fetchMetadata = await browser.post('/logout', {}, { headers: { 'sec-fetch-site': 'cross-site' } })
          assert.equal(fetchMetadata.status, 403)
          for (const path of ['/devices/sign-out', '/devices/sign-out-others']) {
            assert.equal((await browser.post(path, { device: 'x' }, { headers: { 'sec-fetch-site': 'cross-site' } })).status, 403)
          }
          assert.match((await browser.get('/profile')).body, /<dd>jay<\/dd>/, 'still signed in')
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

      it('shows the devices page without the list and refuses to sign devices out', async () => {
        const browser = app.browser()
        const page = await logIn(browser, 'kim')
        assert.equal(page.status, 200)
        assert.match(page.body, /<strong>kim<\/strong>/)
        assert.match(page.body, /cannot list a user's sessions/)
        assert.ok(!page.body.includes('/devices/sign-out'), 'no sign-out form')
        assert.equal((await browser.post('/devices/sign-out-others')).status, 501)
        assert.equal((await browser.post('/devices/sign-out', { device: 'x' })).status, 501)
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
