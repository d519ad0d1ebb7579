/**
 * Data no store can hold never ends the process. The app runs in a child process: an exception out
 * of a response hook is an uncaught exception there, which in this process would end the test
 * runner. After every request the parent checks that the child is still up and what reached its
 * error handler, its store and its events.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { RESPONSE_STYLES, STRINGIFY_THROWS_AT, UNSTORABLE } from '../support/unstorable.ts'
import { request } from '../support/request.ts'
import { assertAlive, startWatched, statusOf, stopWatched, type WatchedApp } from '../support/watched-app.ts'

const APP = join(import.meta.dirname, 'fixtures/unstorable-app.ts')

interface Report {
  errors: string[]
  writes: number
  events: string[]
}

/**
 * What reached the app since the last report, once `errors` errors have: the compat entry passes an
 * error to next() on a later tick, which may come after the response (bounded wait).
 */
async function reportOf(app: WatchedApp, errors: number): Promise<Report> {
  const seen: Report = { errors: [], writes: 0, events: [] }
  for (let attempt = 0; attempt < 50; attempt++) {
    const report = JSON.parse((await request(`${app.url}/report`)).body) as Report
    seen.errors.push(...report.errors)
    seen.writes += report.writes
    seen.events.push(...report.events)
    if (seen.errors.length >= errors) return seen
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return seen
}

const path = (kind: string, style: string) => `/spoil/${encodeURIComponent(kind)}/${encodeURIComponent(style)}`
const STYLES = [...Object.keys(RESPONSE_STYLES), 'late']

for (const version of ['5', '4']) {
  describe(`the main entry on express ${version}`, () => {
    let app: WatchedApp | undefined
    before(async () => (app = await startWatched(APP, { EXPRESS: version, ENTRY: 'main' })))
    after(() => stopWatched(app))

    it("survives the reported request: 6,000 '[' and 6,000 ']' kept in the session, the response written on a later tick", async () => {
      const a = app as WatchedApp
      const body = '['.repeat(6000) + ']'.repeat(6000)
      const status = await statusOf(`${a.url}/prefs`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body })
      await assertAlive(a)
      assert.equal(status, 500)
      assert.deepEqual(await reportOf(a, 1), { errors: ['ERR_TESSERA_SESSION_DATA'], writes: 0, events: ['malformed_data'] })
    })

    for (const kind of Object.keys(UNSTORABLE)) {
      for (const style of STYLES) {
        it(`survives ${kind}, answered by ${style}: ERR_TESSERA_SESSION_DATA, nothing written`, async () => {
          const a = app as WatchedApp
          const status = await statusOf(a.url + path(kind, style))
          await assertAlive(a)
          // the late style has sent its headers when the data goes bad: the response can only be cut
          assert.equal(status, style === 'late' ? 'cut' : 500)
          assert.deepEqual(await reportOf(a, 1), { errors: ['ERR_TESSERA_SESSION_DATA'], writes: 0, events: ['malformed_data'] })
        })
      }
    }

    it('still serves sessions afterwards', async () => {
      const a = app as WatchedApp
      assert.equal(await statusOf(`${a.url}/login`), 200)
      assert.equal((await reportOf(a, 0)).writes, 1)
    })
  })

  describe(`the compat entry on express ${version}`, () => {
    let app: WatchedApp | undefined
    before(async () => (app = await startWatched(APP, { EXPRESS: version, ENTRY: 'compat' })))
    after(() => stopWatched(app))

    it("survives the reported request: 6,000 '[' and 6,000 ']' kept in the session, the response written on a later tick", async () => {
      const a = app as WatchedApp
      const body = '['.repeat(6000) + ']'.repeat(6000)
      await statusOf(`${a.url}/prefs`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body })
      await assertAlive(a)
      const report = await reportOf(a, 1)
      if (STRINGIFY_THROWS_AT === undefined || STRINGIFY_THROWS_AT > 6000) {
        // this runtime's JSON.stringify holds 6,000 levels where stack is left (Node 26), and throws where
        // less is: compat stores them as express-session would, and may still fail the request; it lives
        assert.ok(report.errors.every((name) => name === 'RangeError'), report.errors.join())
        return
      }
      assert.deepEqual(report.errors, ['RangeError'])
      assert.equal(report.writes, 0)
    })

    // only what JSON.stringify itself refuses: the compat entry's stores hold the rest, as express-session's do
    for (const kind of Object.keys(UNSTORABLE).filter((name) => (UNSTORABLE[name] as (typeof UNSTORABLE)[string]).throws)) {
      for (const style of STYLES) {
        it(`survives ${kind}, answered by ${style}: the error goes to next(), nothing written`, async () => {
          const a = app as WatchedApp
          await statusOf(a.url + path(kind, style))
          await assertAlive(a)
          const report = await reportOf(a, 1)
          assert.equal(report.errors.length, 1)
          assert.equal(report.writes, 0)
        })
      }
    }

    it('still serves sessions afterwards', async () => {
      const a = app as WatchedApp
      assert.equal(await statusOf(`${a.url}/login`), 200)
      assert.equal((await reportOf(a, 0)).writes, 1)
    })
  })
}
