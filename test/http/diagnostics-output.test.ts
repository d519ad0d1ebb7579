/**
 * What a process prints: in development each diagnostic once per process (whichever middleware
 * raised it, however often), nothing when the app listens for `diagnostic` (it routes them), and
 * nothing in production, where the events still fire. The startup line is printed to a terminal
 * only. Nothing printed holds an id, a cookie value or a secret. Each case is an app process of its
 * own, driven over HTTP.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { DIAGNOSTIC_CODES } from '../../src/diagnostics.ts'
import { startChild } from '../support/child-app.ts'
import { SECRET, request, sessionCookie, type Reply } from './helpers.ts'

const FIXTURE = fileURLToPath(new URL('./fixtures/diagnostics-app.ts', import.meta.url))
const CROSS_SITE = { origin: 'http://front.example.net' }

interface Output {
  stdout: string
  stderr: string
  /** The secret, and every id and cookie value the app handed out. */
  needles: Set<string>
}

/** Starts the fixture with `env`, commits every mistake twice on each of its two middlewares, stops it. */
async function run(env: Record<string, string | undefined>, waitFor?: (out: { stdout: string; stderr: string }) => boolean): Promise<Output> {
  const app = await startChild([FIXTURE], { env: { TESSERA_SECRET: SECRET, NODE_ENV: 'development', ...env } })
  const needles = new Set<string>([SECRET])
  const remember = (reply: Reply, name: string) => {
    const cookie = sessionCookie(reply, name)
    if (cookie) needles.add(cookie.value).add(decodeURIComponent(cookie.value)).add(cookie.value.split('.')[1] as string)
    if (reply.body.length >= 22 && reply.body !== 'sent') needles.add(reply.body)
  }
  try {
    for (const prefix of ['a', 'b']) {
      for (let i = 0; i < 2; i++) {
        remember(await request(`${app.url}/${prefix}/write`, { headers: CROSS_SITE }), `${prefix}.sid`)
        remember(await request(`${app.url}/${prefix}/late`), `${prefix}.sid`)
        remember(await request(`${app.url}/${prefix}/remember`), `${prefix}.sid`)
      }
    }
    // the late writes are raised when their responses finish: bounded wait for what the case expects
    for (let i = 0; waitFor && i < 200 && !waitFor({ stdout: app.stdout(), stderr: app.stderr() }); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  } finally {
    await app.stop()
  }
  return { stdout: app.stdout(), stderr: app.stderr(), needles }
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1
}

function assertNoNeedles(output: Output): void {
  for (const needle of output.needles) {
    assert.ok(!output.stdout.includes(needle), `stdout holds an id, a cookie value or the secret: ${needle.slice(0, 8)}…`)
    assert.ok(!output.stderr.includes(needle), `stderr holds an id, a cookie value or the secret: ${needle.slice(0, 8)}…`)
  }
}

const diagnosticLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('DIAGNOSTIC '))
    .map((line) => JSON.parse(line.slice('DIAGNOSTIC '.length)) as { code: string; message: string; fix: string })

describe('printed diagnostics', () => {
  it('in development, each code is printed once per process, with its fix, and nothing secret', async () => {
    const output = await run({}, ({ stderr }) => stderr.includes('[TESSERA_WRITE_AFTER_RESPONSE]'))
    for (const code of DIAGNOSTIC_CODES) assert.equal(count(output.stderr, `[${code}] TesseraSessionWarning:`), 1, `${code} in:\n${output.stderr}`)
    assert.match(output.stderr, /\[TESSERA_SECURE_OVER_HTTP\] TesseraSessionWarning: a Secure session cookie .*\n.*plain HTTP/)
    assertNoNeedles(output)
  })

  it('when the app listens for diagnostic, every occurrence is an event and nothing is printed', async () => {
    const output = await run({ LISTEN: '1' }, ({ stdout }) => count(stdout, 'TESSERA_WRITE_AFTER_RESPONSE') >= 4)
    const events = diagnosticLines(output.stdout)
    for (const code of DIAGNOSTIC_CODES) {
      assert.ok(events.filter((event) => event.code === code).length >= 4, `${code}: ${events.length} events`)
      assert.ok(!output.stderr.includes(code), `${code} printed while listened for`)
    }
    assertNoNeedles(output)
  })

  it('in production nothing is printed, and the events still fire for an app that listens', async () => {
    const quiet = await run({ NODE_ENV: 'production' })
    assert.doesNotMatch(quiet.stderr, /TESSERA_/)
    assertNoNeedles(quiet)
    const listened = await run({ NODE_ENV: 'production', LISTEN: '1' }, ({ stdout }) => stdout.includes('TESSERA_WRITE_AFTER_RESPONSE'))
    assert.deepEqual(new Set(diagnosticLines(listened.stdout).map((event) => event.code)), new Set(DIAGNOSTIC_CODES))
    assert.doesNotMatch(listened.stderr, /TESSERA_/)
  })
})

describe('the startup line', () => {
  const LINE = 'cookie a.sid (Path=/a; HttpOnly; Secure; SameSite=Lax; Priority=High; until the browser closes); idle timeout 30 min; absolute timeout 12 h'

  it('is printed once per session() call to a terminal in development: store, cookie name and attributes, timeouts', async () => {
    const output = await run({ FAKE_TTY: '1' })
    assert.equal(count(output.stderr, '[TESSERA_STARTUP] TesseraSession: store MemoryStore; '), 2)
    assert.ok(output.stderr.includes(LINE), output.stderr)
    assert.ok(output.stderr.includes(LINE.replaceAll('a.sid', 'b.sid').replace('/a', '/b')))
    assertNoNeedles(output)
  })

  it('is not printed when stderr is not a terminal (test runners, log pipes), under NODE_ENV=test, or in production', async () => {
    for (const env of [{}, { FAKE_TTY: '1', NODE_ENV: 'test' }, { FAKE_TTY: '1', NODE_ENV: 'production' }]) {
      const app = await startChild([FIXTURE], { env: { TESSERA_SECRET: SECRET, NODE_ENV: 'development', ...env } })
      await app.stop()
      assert.doesNotMatch(app.stderr(), /TESSERA_STARTUP/, JSON.stringify(env))
    }
  })

  it('goes to the debug log (NODE_DEBUG=tessera-session) when not printed', async () => {
    const app = await startChild([FIXTURE], { env: { TESSERA_SECRET: SECRET, NODE_ENV: 'development', NODE_DEBUG: 'tessera-session' } })
    await app.stop()
    assert.match(app.stderr(), /TESSERA-SESSION \d+: store MemoryStore; cookie a\.sid \(Path=\/a;/)
  })
})
