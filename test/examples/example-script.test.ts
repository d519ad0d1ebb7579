// `npm run example -- <name>`: every example started by name, under the Node running the script.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const REPO = join(import.meta.dirname, '../..')
const STARTUP_TIMEOUT = 15_000

interface Run {
  child: ChildProcess
  stdout: string
  stderr: string
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['scripts/example.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const result: Run = { child, stdout: '', stderr: '' }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (result.stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk))
  return result
}

/** The URL the example prints once it listens. */
function listening(running: Run): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${STARTUP_TIMEOUT} ms: ${running.stdout} ${running.stderr}`)), STARTUP_TIMEOUT)
    const check = (): void => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(running.stdout)
      if (match) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    running.child.stdout?.on('data', check)
    running.child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code}: ${running.stderr}`))
    })
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill()
  await exited
}

describe('npm run example -- <name>', () => {
  for (const [name, path] of [
    ['views', '/'],
    ['login', '/login'],
    ['named-user', '/user'],
    ['demo', '/'],
    ['observability', '/'],
  ] as const) {
    it(`starts ${name} and serves ${path}`, { timeout: STARTUP_TIMEOUT * 2 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-example-'))
      const running = run([name], { SESSION_DB: join(dir, 'demo.sqlite') })
      try {
        const url = await listening(running)
        const res = await fetch(url + path, { signal: AbortSignal.timeout(STARTUP_TIMEOUT) })
        assert.equal(res.status, 200)
      } finally {
        await stop(running.child)
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  it('observability prints the store call spans and the session metrics', { timeout: STARTUP_TIMEOUT * 2 }, async () => {
    const running = run(['observability'], { METRICS_INTERVAL: '200' })
    try {
      const url = await listening(running)
      assert.equal((await fetch(url + '/', { signal: AbortSignal.timeout(STARTUP_TIMEOUT) })).status, 200)
      for (let i = 0; i < 100 && !/tessera_session\.session\.created/.test(running.stdout); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.match(running.stdout, /name: 'session\.create'/)
      assert.match(running.stdout, /name: 'tessera_session\.session\.created'/)
      assert.match(running.stdout, /name: 'tessera_session\.store\.operation\.duration'/)
    } finally {
      await stop(running.child)
    }
  })

  it('passes --compat on to the example', { timeout: STARTUP_TIMEOUT * 2 }, async () => {
    const running = run(['views', '--compat'])
    try {
      await listening(running)
      assert.match(running.stdout, /views example \(compat entry\)/)
    } finally {
      await stop(running.child)
    }
  })

  for (const args of [[], ['nope'], ['../examples/views'], ['setup.ts']]) {
    it(`refuses ${args.length === 0 ? 'no name' : JSON.stringify(args[0])} with exit code 2 and the list of examples`, { timeout: STARTUP_TIMEOUT }, async () => {
      const running = run(args)
      const [code] = (await once(running.child, 'exit')) as [number | null]
      assert.equal(code, 2)
      assert.match(running.stderr, /usage: npm run example -- <name> \[--compat\]/)
      assert.match(running.stderr, /examples: demo, login, named-user, observability, views/)
    })
  }
})
