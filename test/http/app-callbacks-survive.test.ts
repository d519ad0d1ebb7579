/**
 * What the app hands the middleware never ends the process: a `revokedBefore` that throws, rejects
 * or answers something other than a number fails that one request closed. The app runs in a child
 * process (an unhandled rejection there ends it); after every request the parent checks that the
 * child is still up and what reached its error handler.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { request } from '../support/request.ts'
import { assertAlive, startWatched, stopWatched, type WatchedApp } from '../support/watched-app.ts'
import { cookiePair } from './helpers.ts'

const APP = join(import.meta.dirname, 'fixtures/app-callbacks-app.ts')

interface Report {
  errors: { code: string; cause?: string }[]
}

async function reportOf(app: WatchedApp): Promise<Report> {
  return JSON.parse((await request(`${app.url}/report`)).body) as Report
}

const FAILURES = [
  { mode: 'throw', what: 'throws', cause: 'revocation source down' },
  { mode: 'reject', what: 'returns a rejected promise', cause: undefined },
  { mode: 'promise', what: 'returns a promise of a number', cause: undefined },
  { mode: 'nan', what: 'returns NaN', cause: undefined },
]

for (const version of ['5', '4']) {
  describe(`revokedBefore on express ${version}`, () => {
    let app: WatchedApp | undefined
    let cookie = ''
    before(async () => {
      app = await startWatched(APP, { EXPRESS: version })
      cookie = cookiePair(await request(`${app.url}/login`))
    })
    after(() => stopWatched(app))

    for (const { mode, what, cause } of FAILURES) {
      it(`that ${what} fails the request closed with ERR_TESSERA_REVOCATION_CHECK, and the process lives`, async () => {
        const a = app as WatchedApp
        await request(`${a.url}/revocation/${mode}`)
        const reply = await request(`${a.url}/me`, { cookie, timeout: 5000 })
        await assertAlive(a)
        assert.equal(reply.status, 500)
        assert.deepEqual(reply.cookies, [])
        assert.deepEqual((await reportOf(a)).errors, [{ code: 'ERR_TESSERA_REVOCATION_CHECK', ...(cause === undefined ? {} : { cause }) }])
        // the session was not ended: once the check answers again, it is there
        await request(`${a.url}/revocation/ok`)
        assert.equal((await request(`${a.url}/me`, { cookie })).body, 'ann')
      })
    }
  })
}
