// The demo keeps sessions in a SQLite file: a user stays signed in across a restart of the app.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const REPO = join(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-restart-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function startDemo(database: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['examples/demo/server.ts'], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', NODE_ENV: 'development', SESSION_DB: database },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${stdout}`)), 15_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
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

describe('demo app on SQLite', () => {
  it('keeps a signed-in user signed in across a restart', { timeout: 40_000 }, async () => {
    const database = join(dir, 'demo.sqlite')
    let demo = await startDemo(database)
    let cookie: string
    try {
      const login = await fetch(`${demo.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: demo.url },
        body: 'username=ann&password=demo',
        redirect: 'manual',
      })
      assert.ok(login.status === 302 || login.status === 303, `login answered ${login.status}`)
      cookie = login.headers.getSetCookie().map((line) => line.split(';', 1)[0]).join('; ')
      assert.match(cookie, /^sid=v1\./)
    } finally {
      await stopDemo(demo.child)
    }
    demo = await startDemo(database)
    try {
      const profile = await fetch(`${demo.url}/profile`, { headers: { cookie }, redirect: 'manual' })
      assert.equal(profile.status, 200)
      assert.match(await profile.text(), /ann/)
    } finally {
      await stopDemo(demo.child)
    }
  })
})
