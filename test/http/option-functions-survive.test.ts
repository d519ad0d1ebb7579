/**
 * The functions an app hands the middleware never end the process, and what they break reaches the
 * app typed: `genid`, `cookie`, `readOnly` and `describeClient` that throw fail the request (or the
 * operation that asked them) with ERR_TESSERA_OPTION_CALLBACK, and ones that return a promise with
 * ERR_TESSERA_INVALID_OPTION, the promise's rejection handled; the session is kept. An app's own
 * express-session store whose methods throw synchronously fails the request, in either entry.
 * OpenTelemetry providers that throw change nothing for requests. The app runs in a child process
 * (an uncaught exception or an unhandled rejection there ends it); after every request the parent
 * checks that the child is still up and what reached its error handler.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { request, type Reply } from '../support/request.ts'
import { assertAlive, startWatched, stopWatched, type WatchedApp } from '../support/watched-app.ts'
import { cookiePair } from './helpers.ts'

const APP = join(import.meta.dirname, 'fixtures/option-functions-app.ts')

interface Report {
  errors: { code: string; option?: string; cause?: string }[]
  warnings: { code: string; message: string; cause?: string }[]
}

const get = (app: WatchedApp, path: string, cookie?: string): Promise<Reply> => request(app.url + path, { timeout: 5000, ...(cookie === undefined ? {} : { cookie }) })
const reportOf = async (app: WatchedApp): Promise<Report> => JSON.parse((await get(app, '/report')).body) as Report

/** A signed-in session's cookie, with every function behaving. */
const signIn = async (app: WatchedApp): Promise<string> => cookiePair(await get(app, '/login'))

/** Where each option's function is asked, and the request that asks it. */
const ASKED = [
  { option: 'genid', where: 'a new session (req.session in a handler)', path: '/me', signedIn: false },
  { option: 'genid', where: 'login()', path: '/login', signedIn: true },
  { option: 'genid', where: 'regenerate()', path: '/regenerate', signedIn: true },
  { option: 'cookie', where: 'every request (the middleware)', path: '/me', signedIn: true },
  { option: 'readOnly', where: 'every request (the middleware)', path: '/me', signedIn: true },
  { option: 'describeClient', where: 'login()', path: '/login', signedIn: true },
]

const OUTCOMES = [
  { mode: 'throw', what: 'throws', error: (option: string) => ({ code: 'ERR_TESSERA_OPTION_CALLBACK', option, cause: `${option} failed` }) },
  { mode: 'reject', what: 'returns a rejected promise', error: (option: string) => ({ code: 'ERR_TESSERA_INVALID_OPTION', option }) },
]

for (const version of ['5', '4']) {
  describe(`option functions of the main entry on express ${version}`, () => {
    let app: WatchedApp | undefined
    before(async () => (app = await startWatched(APP, { EXPRESS: version, ENTRY: 'main' })))
    after(() => stopWatched(app))

    for (const { option, where, path, signedIn } of ASKED) {
      for (const { mode, what, error } of OUTCOMES) {
        it(`a ${option} that ${what}, asked in ${where}, fails that request with ${error(option).code}; no cookie, the session kept, the process lives`, async () => {
          const a = app as WatchedApp
          const cookie = signedIn ? await signIn(a) : undefined
          await reportOf(a)
          await get(a, `/fault/${option}/${mode}`)
          const reply = await get(a, path, cookie).finally(() => get(a, `/fault/${option}/ok`))
          await assertAlive(a)
          assert.deepEqual({ status: reply.status, cookies: reply.cookies }, { status: 500, cookies: [] })
          assert.deepEqual((await reportOf(a)).errors, [error(option)])
          if (cookie !== undefined) assert.equal((await get(a, '/me', cookie)).body, 'ann')
        })
      }
    }
  })
}

/** The request that calls each store method, in each entry, and what the failure answers. */
const STORE_CALLS = {
  main: [
    { method: 'get', path: '/me', status: 503, code: 'ERR_TESSERA_STORE_UNAVAILABLE' },
    { method: 'touch', path: '/me', status: 503, code: 'ERR_TESSERA_STORE_UNAVAILABLE' },
    { method: 'set', path: '/login', status: 503, code: 'ERR_TESSERA_STORE_UNAVAILABLE' },
    { method: 'set', path: '/late', status: 503, code: 'ERR_TESSERA_STORE_UNAVAILABLE' },
    { method: 'destroy', path: '/logout', status: 503, code: 'ERR_TESSERA_STORE_UNAVAILABLE' },
  ],
  // compat: the store's own error, as express-session passes it; where express-session's res.end would throw
  // it (a hung response, or an uncaught exception from a timer), it goes to next()
  compat: [
    { method: 'get', path: '/me', status: 500, code: 'Error' },
    { method: 'touch', path: '/me', status: 500, code: 'Error' },
    { method: 'set', path: '/login', status: 500, code: 'Error' },
    { method: 'set', path: '/late', status: 500, code: 'Error' },
    { method: 'destroy', path: '/logout', status: 500, code: 'Error' },
  ],
}

for (const entry of ['main', 'compat'] as const) {
  for (const version of ['5', '4']) {
    describe(`an express-session store of the app's whose method throws synchronously, ${entry} entry on express ${version}`, () => {
      let app: WatchedApp | undefined
      before(async () => (app = await startWatched(APP, { EXPRESS: version, ENTRY: entry })))
      after(() => stopWatched(app))

      for (const { method, path, status, code } of STORE_CALLS[entry]) {
        it(`${method}, called for ${path}: the request fails (${status}, ${code}) and the process lives`, async () => {
          const a = app as WatchedApp
          const cookie = await signIn(a)
          await reportOf(a)
          await get(a, `/store/${method}`)
          const reply = await get(a, path, cookie).finally(() => get(a, '/store/none'))
          await assertAlive(a)
          assert.equal(reply.status, status)
          assert.deepEqual(
            (await reportOf(a)).errors.map((error) => error.code),
            [code],
          )
        })
      }
    })
  }
}

const TELEMETRY_FAULTS = ['getMeter', 'counter', 'histogram', 'getTracer', 'startSpan', 'spanEnd', 'context']

for (const version of ['5', '4']) {
  describe(`OpenTelemetry providers that throw, main entry on express ${version}`, () => {
    let app: WatchedApp | undefined
    before(async () => (app = await startWatched(APP, { EXPRESS: version, ENTRY: 'main' })))
    after(() => stopWatched(app))

    for (const fault of TELEMETRY_FAULTS) {
      it(`in ${fault}: sign-in, use, a rejected cookie and sign-out answer as without telemetry; a TESSERA_TELEMETRY_ERROR warning`, async () => {
        const a = app as WatchedApp
        await reportOf(a)
        await get(a, `/telemetry/${fault}`)
        try {
          const login = await get(a, '/login')
          assert.deepEqual({ status: login.status, body: login.body }, { status: 200, body: 'in' })
          const cookie = cookiePair(login)
          assert.equal((await get(a, '/me', cookie)).body, 'ann')
          assert.equal((await get(a, '/me', 'sid=garbage')).body, 'undefined')
          assert.equal((await get(a, '/logout', cookie)).status, 200)
        } finally {
          await get(a, '/telemetry/none')
        }
        await assertAlive(a)
        const report = await reportOf(a)
        assert.deepEqual(report.errors, [])
        const warning = report.warnings.find((w) => w.code === 'TESSERA_TELEMETRY_ERROR')
        assert.equal(warning?.cause, `telemetry ${fault} failed`, JSON.stringify(report.warnings))
      })
    }
  })
}
