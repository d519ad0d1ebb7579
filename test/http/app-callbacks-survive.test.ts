/**
 * What the app hands the middleware never ends the process: a `revokedBefore` that throws, rejects
 * or answers something other than a number fails that one request closed; an event listener that
 * throws or rejects, wherever the event is raised, changes nothing for the request and is reported
 * as a process warning. The app runs in a child process (an unhandled rejection there ends it); after
 * every request the parent checks that the child is still up and what reached it.
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
  events: string[]
  later: string[]
  warnings: { code: string; message: string; cause?: string }[]
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

const get = (app: WatchedApp, path: string, cookie?: string) => request(app.url + path, { timeout: 5000, ...(cookie === undefined ? {} : { cookie }) })

/** A signed-in session's cookie, with every listener behaving. */
const signIn = async (app: WatchedApp) => cookiePair(await get(app, '/login'))

interface Site {
  /** Where the event is raised. */
  where: string
  /** The events the request raises there. */
  events: string[]
  /** Prepares (listeners behaving), and returns the request that raises the events. */
  setup: (app: WatchedApp) => Promise<() => Promise<{ status: number; body: string }>>
  status: number
  body: string
  errors?: string[]
}

const SITES: Site[] = [
  { where: 'reading the cookie (in the middleware)', events: ['rejected'], setup: async (a) => () => get(a, '/me', 'sid=garbage'), status: 200, body: 'undefined' },
  {
    where: 'the load: a revoked session',
    events: ['destroyed'],
    setup: async (a) => {
      const cookie = await signIn(a)
      await get(a, '/revocation/all')
      return () => get(a, '/me', cookie).finally(() => get(a, '/revocation/ok'))
    },
    status: 200,
    body: 'undefined',
  },
  {
    where: 'the load: an unknown session',
    events: ['rejected'],
    setup: async (a) => {
      const cookie = await signIn(a)
      await get(a, '/logout', cookie)
      return () => get(a, '/me', cookie)
    },
    status: 200,
    body: 'undefined',
  },
  { where: 'the response: headers and the write', events: ['insecure_transport', 'diagnostic', 'created'], setup: async (a) => () => get(a, '/login'), status: 200, body: 'in' },
  {
    where: 'destroy()',
    events: ['destroyed'],
    setup: async (a) => {
      const cookie = await signIn(a)
      return () => get(a, '/logout', cookie)
    },
    status: 200,
    body: 'out',
  },
  {
    where: 'regenerate()',
    events: ['rotated'],
    setup: async (a) => {
      const cookie = await signIn(a)
      return () => get(a, '/regenerate', cookie)
    },
    status: 200,
    body: 'regenerated',
  },
  {
    where: 'the write: a session ended meanwhile',
    events: ['conflict'],
    setup: async (a) => {
      const cookie = await signIn(a)
      return () => get(a, '/vanish', cookie)
    },
    status: 200,
    body: 'changed',
  },
  {
    where: 'a store call that fails',
    events: ['store_error'],
    setup: async (a) => {
      const cookie = await signIn(a)
      await get(a, '/store/down')
      return () => get(a, '/me', cookie).finally(() => get(a, '/store/up'))
    },
    status: 503,
    body: 'failed',
    errors: ['ERR_TESSERA_STORE_UNAVAILABLE'],
  },
]

for (const version of ['5', '4']) {
  describe(`event listeners on express ${version}`, () => {
    let app: WatchedApp | undefined
    before(async () => (app = await startWatched(APP, { EXPRESS: version })))
    after(() => stopWatched(app))

    for (const mode of ['throw', 'reject']) {
      for (const site of SITES) {
        it(`one that ${mode === 'throw' ? 'throws' : 'returns a rejected promise'} in ${site.where} changes nothing for the request; the next listener runs; a TESSERA_LISTENER_ERROR warning`, async () => {
          const a = app as WatchedApp
          const send = await site.setup(a)
          await reportOf(a)
          await get(a, `/listeners/${mode}`)
          const reply = await send().finally(() => get(a, '/listeners/ok'))
          await assertAlive(a)
          assert.deepEqual({ status: reply.status, body: reply.body }, { status: site.status, body: site.body })
          const report = await reportOf(a)
          assert.deepEqual(report.errors.map((error) => error.code), site.errors ?? [])
          for (const event of site.events) {
            assert.ok(report.events.includes(event), `${event} in ${report.events.join()}`)
            assert.ok(report.later.includes(event), `${event} reached the next listener: ${report.later.join()}`)
            const warning = report.warnings.find((w) => w.code === 'TESSERA_LISTENER_ERROR' && w.message.includes(`'${event}'`))
            assert.equal(warning?.cause, `${event} listener failed`, JSON.stringify(report.warnings))
          }
        })
      }
    }
  })
}
