/**
 * Data no store can hold never ends the process. The app runs in a child process: an exception out
 * of a response hook is an uncaught exception there, which in this process would end the test
 * runner. After every request the parent checks that the child is still up and what reached its
 * error handler, its store and its events.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { RESPONSE_STYLES, STRINGIFY_THROWS_AT, UNSTORABLE } from '../support/unstorable.ts'
import { request } from '../support/request.ts'

const APP = join(import.meta.dirname, 'fixtures/unstorable-app.ts')

interface AppProcess {
  url: string
  child: ChildProcess
  stderr: string[]
}

interface Report {
  errors: string[]
  writes: number
  events: string[]
}

function start(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, [APP], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error('app process did not start within 20 s'))
    }, 20_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve({ url: `http://127.0.0.1:${match[1]}`, child, stderr })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app process exited with ${code}: ${stderr.join('\n')}`))
    })
  })
}

function stop(app: AppProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (app === undefined || app.child.exitCode !== null || app.child.signalCode !== null) return resolve()
    app.child.once('exit', () => resolve())
    app.child.kill('SIGTERM')
  })
}

/** The app process still answers; if not, the test fails with what it printed when it died. */
async function assertAlive(app: AppProcess): Promise<void> {
  const answers = await request(`${app.url}/alive`, { timeout: 5000 }).then(
    (reply) => reply.body === 'yes',
    () => false,
  )
  if (!answers && app.child.exitCode === null && app.child.signalCode === null) await new Promise((resolve) => app.child.once('exit', resolve))
  assert.ok(answers, `the app process exited: ${app.stderr.join('\n')}`)
}

/** The status, or 'cut' when the connection ended before a complete response. */
async function statusOf(url: string, options: Parameters<typeof request>[1] = {}): Promise<number | 'cut'> {
  return request(url, { timeout: 5000, ...options }).then(
    (reply) => reply.status,
    () => 'cut' as const,
  )
}

/**
 * What reached the app since the last report, once `errors` errors have: the compat entry passes an
 * error to next() on a later tick, which may come after the response (bounded wait).
 */
async function reportOf(app: AppProcess, errors: number): Promise<Report> {
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
    let app: AppProcess | undefined
    before(async () => (app = await start({ EXPRESS: version, ENTRY: 'main' })))
    after(() => stop(app))

    it("survives the reported request: 6,000 '[' and 6,000 ']' kept in the session, the response written on a later tick", async () => {
      const a = app as AppProcess
      const body = '['.repeat(6000) + ']'.repeat(6000)
      const status = await statusOf(`${a.url}/prefs`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body })
      await assertAlive(a)
      assert.equal(status, 500)
      assert.deepEqual(await reportOf(a, 1), { errors: ['ERR_TESSERA_SESSION_DATA'], writes: 0, events: ['malformed_data'] })
    })

    for (const kind of Object.keys(UNSTORABLE)) {
      for (const style of STYLES) {
        it(`survives ${kind}, answered by ${style}: ERR_TESSERA_SESSION_DATA, nothing written`, async () => {
          const a = app as AppProcess
          const status = await statusOf(a.url + path(kind, style))
          await assertAlive(a)
          // the late style has sent its headers when the data goes bad: the response can only be cut
          assert.equal(status, style === 'late' ? 'cut' : 500)
          assert.deepEqual(await reportOf(a, 1), { errors: ['ERR_TESSERA_SESSION_DATA'], writes: 0, events: ['malformed_data'] })
        })
      }
    }

    it('still serves sessions afterwards', async () => {
      const a = app as AppProcess
      assert.equal(await statusOf(`${a.url}/login`), 200)
      assert.equal((await reportOf(a, 0)).writes, 1)
    })
  })

  describe(`the compat entry on express ${version}`, () => {
    let app: AppProcess | undefined
    before(async () => (app = await start({ EXPRESS: version, ENTRY: 'compat' })))
    after(() => stop(app))

    it("survives the reported request: 6,000 '[' and 6,000 ']' kept in the session, the response written on a later tick", async () => {
      const a = app as AppProcess
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
          const a = app as AppProcess
          await statusOf(a.url + path(kind, style))
          await assertAlive(a)
          const report = await reportOf(a, 1)
          assert.equal(report.errors.length, 1)
          assert.equal(report.writes, 0)
        })
      }
    }

    it('still serves sessions afterwards', async () => {
      const a = app as AppProcess
      assert.equal(await statusOf(`${a.url}/login`), 200)
      assert.equal((await reportOf(a, 0)).writes, 1)
    })
  })
}
