/**
 * Starts and stops app processes (app-process.ts): the main entry in a process of its own, on a
 * store shared with other processes and with the test.
 */
import { join } from 'node:path'
import { startWatched, stopWatched, type WatchedApp } from './watched-app.ts'

const APP = join(import.meta.dirname, 'app-process.ts')

/** The secret of every app process: a test that signs cookies itself (an express-session app) uses it too. */
export const APP_SECRET = 'a multi-process test secret, long enough'

/** An app process; what it printed on stderr is kept (and shown if it exits before it listens). */
export type AppProcess = WatchedApp

/** Spawns an app process with `env` (STORE and the store's settings) and resolves once it listens. */
export function startApp(env: Record<string, string>): Promise<AppProcess> {
  return startWatched(APP, { SECRET: APP_SECRET, ...env })
}

/** Stops an app process (SIGTERM: it closes its server and its store connection) and waits for it to exit. */
export function stopApp(app: AppProcess): Promise<void> {
  return stopWatched(app)
}
