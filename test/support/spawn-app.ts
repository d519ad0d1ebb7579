/**
 * Starts and stops app processes (app-process.ts): the main entry in a process of its own, on a
 * store shared with other processes and with the test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const APP = join(import.meta.dirname, 'app-process.ts')

/** The secret of every app process: a test that signs cookies itself (an express-session app) uses it too. */
export const APP_SECRET = 'a multi-process test secret, long enough'

export interface AppProcess {
  url: string
  child: ChildProcess
}

/** Spawns an app process with `env` (STORE and the store's settings) and resolves once it listens. */
export function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, [APP], { env: { ...process.env, SECRET: APP_SECRET, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error('app process did not start within 20 s'))
    }, 20_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve({ url: `http://127.0.0.1:${match[1]}`, child })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app process exited with ${code}`))
    })
  })
}

/** Stops an app process (SIGTERM: it closes its server and its store connection) and waits for it to exit. */
export function stopApp(app: AppProcess): Promise<void> {
  return new Promise((resolve) => {
    if (app.child.exitCode !== null) return resolve()
    app.child.once('exit', () => resolve())
    app.child.kill('SIGTERM')
  })
}
