/**
 * An app in a child process with no uncaughtException or unhandledRejection handler, for the tests
 * that prove a request never ends the process: an exception out of a response hook, or a rejection
 * nobody handles, ends the child, which in the test's own process would end the test runner. The
 * child prints `listening <port>` when ready; everything it prints on stderr is kept.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { request } from './request.ts'

export interface WatchedApp {
  url: string
  child: ChildProcess
  stderr: string[]
}

/** Runs `node <file>` with `env` added, and resolves once it listens. */
export function startWatched(file: string, env: Record<string, string>): Promise<WatchedApp> {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
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

/** SIGTERM (the app closes its server), then waits for the exit. */
export function stopWatched(app: WatchedApp | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (app === undefined || app.child.exitCode !== null || app.child.signalCode !== null) return resolve()
    app.child.once('exit', () => resolve())
    app.child.kill('SIGTERM')
  })
}

/** The app process still answers `/alive`; if not, the test fails with what it printed when it died. */
export async function assertAlive(app: WatchedApp): Promise<void> {
  const answers = await request(`${app.url}/alive`, { timeout: 5000 }).then(
    (reply) => reply.body === 'yes',
    () => false,
  )
  if (!answers && app.child.exitCode === null && app.child.signalCode === null) await new Promise((resolve) => app.child.once('exit', resolve))
  assert.ok(answers, `the app process exited: ${app.stderr.join('\n')}`)
}

/** The status, or 'cut' when the connection ended before a complete response. */
export async function statusOf(url: string, options: Parameters<typeof request>[1] = {}): Promise<number | 'cut'> {
  return request(url, { timeout: 5000, ...options }).then(
    (reply) => reply.status,
    () => 'cut' as const,
  )
}
