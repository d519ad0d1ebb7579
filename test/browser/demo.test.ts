// The demo in a real browser (Chromium through playwright-core): the login form, the cookie the
// README describes, "Your devices" from several browser profiles, signing devices out, Back after
// logout, a 360 px phone, and a restart on the same SQLite file.
// UPDATE_SCREENSHOTS=1 also writes docs/images/devices.png (npm run screenshots).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import type { Browser, Page } from 'playwright-core'
import { createApp, createStore } from '../../examples/demo/server.ts'
import { ENTRIES, serve, type Served } from '../examples/serve.ts'
import { USER_AGENTS, chromiumSkip, launchChromium, newContext } from './chromium.ts'

const REPO = join(import.meta.dirname, '../..')
const SCREENSHOT = join(REPO, 'docs/images/devices.png')
const databases = mkdtempSync(join(tmpdir(), 'tessera-browser-demo-'))
after(() => rmSync(databases, { recursive: true, force: true }))
let databaseCount = 0
function temporaryDatabase(): string {
  return join(databases, `demo-${databaseCount++}.sqlite`)
}

/** Logs in through the form, as a person would; resolves on the page it lands on. */
async function logIn(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url + '/login')
  await page.getByLabel('User name').fill(username)
  await page.getByLabel('Password').fill('demo')
  await Promise.all([page.waitForURL(url + '/devices'), page.getByRole('button', { name: 'Log in' }).click()])
}

/** The names of the devices listed, in order, "(this device)" marking the current one. */
function listedDevices(page: Page): Promise<string[]> {
  return page.locator('.devices > li').evaluateAll((items) =>
    items.map((item) => {
      const name = item.querySelector('.device-name')?.firstChild?.textContent?.trim() ?? ''
      return item.classList.contains('current') ? `${name} (this device)` : name
    }),
  )
}

/** How the page's document was loaded: 'navigate', 'reload' or 'back_forward' (a back/forward cache restore is none). */
function navigationType(page: Page): Promise<string> {
  return page.evaluate<string>("performance.getEntriesByType('navigation')[0].type")
}

/** Violations of the Content-Security-Policy the page reports. */
function recordCspViolations(page: Page): string[] {
  const violations: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  return violations
}

const skip = chromiumSkip()

describe('demo in Chromium', { skip }, () => {
  let browser: Browser
  before(async () => {
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
  })

  for (const entry of ENTRIES) {
    describe(entry.name, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ compat: entry.compat, express, store: createStore(temporaryDatabase()) }))
      })
      after(() => app.close())

      it('logs in through the form and keeps a cookie with the attributes the README gives', async () => {
        const context = await newContext(browser)
        try {
          const page = await context.newPage()
          await logIn(page, app.url, 'ann')
          await assert.doesNotReject(page.getByText('You are signed in as ann').waitFor())
          const cookies = await context.cookies()
          assert.equal(cookies.length, 1, JSON.stringify(cookies))
          const [cookie] = cookies
          // main entry in development: sid, HttpOnly, SameSite=Lax, Path=/, no Secure on plain http, a
          // browser-session cookie (expires -1); compat: express-session's connect.sid with the demo's SameSite=Lax
          assert.equal(cookie?.name, entry.compat ? 'connect.sid' : 'sid')
          assert.equal(cookie?.httpOnly, true)
          assert.equal(cookie?.sameSite, 'Lax')
          assert.equal(cookie?.path, '/')
          assert.equal(cookie?.secure, false)
          assert.equal(cookie?.expires, -1)
          assert.equal(await page.evaluate<string>('document.cookie'), '', 'scripts cannot read it')
        } finally {
          await context.close()
        }
      })

      it('lists the browsers of two profiles on each, this one first, with local times on hover', async () => {
        const laptop = await newContext(browser, { userAgent: USER_AGENTS.firefoxLinux, timezoneId: 'Asia/Tokyo' })
        const phone = await newContext(browser, { userAgent: USER_AGENTS.safariIphone, viewport: { width: 360, height: 740 } })
        try {
          const onLaptop = await laptop.newPage()
          const onPhone = await phone.newPage()
          const violations = [...recordCspViolations(onLaptop), ...recordCspViolations(onPhone)]
          await logIn(onLaptop, app.url, 'bea')
          await logIn(onPhone, app.url, 'bea')
          await onLaptop.reload()
          assert.deepEqual(await listedDevices(onLaptop), ['Firefox on Linux (this device)', 'Safari on iPhone'])
          assert.deepEqual(await listedDevices(onPhone), ['Safari on iPhone (this device)', 'Firefox on Linux'])

          const time = onLaptop.locator('.devices time').first()
          const datetime = (await time.getAttribute('datetime')) as string
          const local = new Date(datetime).toLocaleString('en-US', { timeZone: 'Asia/Tokyo' })
          // the page's script put the viewer's local time in the title (ICU may space "PM" differently)
          assert.equal(((await time.getAttribute('title')) ?? '').replace(/\s/g, ' '), local.replace(/\s/g, ' '))
          assert.equal(await time.textContent(), 'just now')

          // a 360 px phone: nothing wider than the screen, the sign-out button as wide as the card
          const overflow = await onPhone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')
          assert.equal(overflow, 0)
          const button = await onPhone.getByRole('button', { name: 'Sign out Firefox on Linux' }).boundingBox()
          assert.ok(button && button.width > 250 && button.x + button.width <= 360, JSON.stringify(button))
          assert.deepEqual(violations, [])
        } finally {
          await laptop.close()
          await phone.close()
        }
      })

      it('signs one device out, then all others; each is told why on its next page', async () => {
        const profiles = await Promise.all([
          newContext(browser, { userAgent: USER_AGENTS.firefoxLinux, viewport: { width: 720, height: 560 } }),
          newContext(browser, { userAgent: USER_AGENTS.safariIphone }),
          newContext(browser, { userAgent: USER_AGENTS.edgeWindows }),
        ])
        try {
          const [laptop, phone, desktop] = await Promise.all(profiles.map((profile) => profile.newPage()))
          for (const page of [phone, desktop, laptop]) await logIn(page as Page, app.url, 'cid')
          const onLaptop = laptop as Page
          assert.deepEqual(await listedDevices(onLaptop), ['Firefox on Linux (this device)', 'Edge on Windows', 'Safari on iPhone'])
          if (process.env.UPDATE_SCREENSHOTS === '1' && !entry.compat) {
            mkdirSync(join(REPO, 'docs/images'), { recursive: true })
            await onLaptop.screenshot({ path: SCREENSHOT, fullPage: true })
          }

          await Promise.all([onLaptop.waitForURL(`${app.url}/devices?signed-out=1`), onLaptop.getByRole('button', { name: 'Sign out Safari on iPhone' }).click()])
          await assert.doesNotReject(onLaptop.getByText('Signed out 1 device.').waitFor())
          assert.deepEqual(await listedDevices(onLaptop), ['Firefox on Linux (this device)', 'Edge on Windows'])
          await (phone as Page).reload()
          assert.equal((phone as Page).url(), `${app.url}/login?ended=1`)
          await assert.doesNotReject((phone as Page).getByText('You were signed out on this browser').waitFor())

          await Promise.all([onLaptop.waitForURL(`${app.url}/devices?signed-out=1`), onLaptop.getByRole('button', { name: 'Sign out all other devices' }).click()])
          assert.deepEqual(await listedDevices(onLaptop), ['Firefox on Linux (this device)'])
          await assert.doesNotReject(onLaptop.getByText('No other device is signed in').waitFor())
          await (desktop as Page).getByRole('link', { name: 'Profile' }).click()
          assert.equal((desktop as Page).url(), `${app.url}/login?ended=1`)
        } finally {
          await Promise.all(profiles.map((profile) => profile.close()))
        }
      })

      it('after logout, Back shows nothing of the signed-out user, although Chromium restores the page', async () => {
        const context = await newContext(browser)
        try {
          const page = await context.newPage()
          // the page the login lands on, logged out from at once: the case the issue reproduced
          await logIn(page, app.url, 'dee')
          await assert.doesNotReject(page.getByText('You are signed in as dee').waitFor())
          await Promise.all([page.waitForURL(app.url + '/'), page.getByRole('button', { name: 'Log out' }).click()])

          await page.goBack({ waitUntil: 'commit' })
          await page.waitForURL(app.url + '/login')
          // Chromium brings the no-store page back from its back/forward cache (its script then reloads it: 'reload'),
          // or, when it evicted it (under load it may), asks the server ('back_forward'); either way the server sends the
          // signed-out browser to the login form. Without the script a restored page would show dee's data
          assert.ok(['reload', 'back_forward'].includes(await navigationType(page)))
          assert.ok(!(await page.content()).includes('dee'), 'no private data')
        } finally {
          await context.close()
        }
      })

      it('after logout, Back through several private pages shows none of them', async () => {
        const context = await newContext(browser)
        try {
          const page = await context.newPage()
          await logIn(page, app.url, 'fay')
          await Promise.all([page.waitForURL(app.url + '/profile'), page.getByRole('link', { name: 'Profile' }).click()])
          await assert.doesNotReject(page.getByText('Visits to this page').waitFor())
          await Promise.all([page.waitForURL(app.url + '/'), page.getByRole('button', { name: 'Log out' }).click()])

          for (const step of ['the profile', 'the devices page']) {
            await page.goBack({ waitUntil: 'commit' })
            await page.waitForURL(app.url + '/login')
            // both were dropped from the cache: the profile by the change of the HttpOnly session cookie,
            // the devices page (already cached when the logout answered) by Clear-Site-Data: "cache"
            assert.equal(await navigationType(page), 'back_forward', `${step} was loaded anew`)
            assert.ok(!(await page.content()).includes('fay'), `no private data instead of ${step}`)
          }
        } finally {
          await context.close()
        }
      })
    })
  }

  describe('restarted on the same database', () => {
    const database = temporaryDatabase()

    async function startDemo(): Promise<{ url: string; child: ChildProcess }> {
      const child = spawn(process.execPath, ['examples/demo/server.ts'], {
        cwd: REPO,
        env: { ...process.env, PORT: '0', NODE_ENV: 'development', SESSION_DB: database },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const url = await new Promise<string>((resolve, reject) => {
        let stdout = ''
        const timer = setTimeout(() => reject(new Error(`demo did not start: ${stdout}`)), 15_000)
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
          if (match) {
            clearTimeout(timer)
            resolve(match[1] as string)
          }
        })
        child.once('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`demo exited with ${code}`))
        })
      })
      return { url, child }
    }

    async function stopDemo(child: ChildProcess): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill()
      await exited
    }

    it('keeps the browser signed in', { timeout: 60_000 }, async () => {
      const context = await newContext(browser)
      let demo = await startDemo()
      try {
        const page = await context.newPage()
        await logIn(page, demo.url, 'eve')
        await stopDemo(demo.child)
        demo = await startDemo()
        // cookies do not depend on the port: the restarted demo gets the same cookie
        await page.goto(demo.url + '/devices')
        assert.equal(page.url(), demo.url + '/devices')
        await assert.doesNotReject(page.getByText('You are signed in as eve').waitFor())
      } finally {
        await context.close()
        await stopDemo(demo.child)
      }
    })
  })
})
