// The seeds' view counter (examples/views) in a real browser: one count per browser profile, on
// both entries, with an HttpOnly cookie the page's scripts cannot read.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import type { Browser, Page } from 'playwright-core'
import { createApp } from '../../examples/views/server.ts'
import { ENTRIES, serve, type Served } from '../examples/serve.ts'
import { chromiumSkip, launchChromium, newContext } from './chromium.ts'

async function visit(page: Page, url: string): Promise<string> {
  await page.goto(url)
  return (await page.locator('body').textContent()) ?? ''
}

describe('views example in Chromium', { skip: chromiumSkip() }, () => {
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
        app = await serve(createApp({ compat: entry.compat, express }))
      })
      after(() => app.close())

      it('counts the views of each browser profile on its own', async () => {
        const first = await newContext(browser)
        const second = await newContext(browser)
        try {
          const a = await first.newPage()
          const b = await second.newPage()
          assert.equal(await visit(a, app.url), 'Welcome! This is your first visit.')
          assert.equal(await visit(a, app.url), 'Number of views: 2')
          assert.equal(await visit(b, app.url), 'Welcome! This is your first visit.')
          await a.reload()
          assert.equal(await a.locator('body').textContent(), 'Number of views: 3')
          assert.equal(await visit(b, app.url), 'Number of views: 2')
          const [cookie] = await first.cookies()
          assert.equal(cookie?.name, entry.compat ? 'connect.sid' : 'sid')
          assert.equal(cookie?.httpOnly, true)
          assert.equal(await a.evaluate<string>('document.cookie'), '')
        } finally {
          await first.close()
          await second.close()
        }
      })
    })
  }
})
