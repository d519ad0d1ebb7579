/**
 * Real servers for integration tests. Without them (a laptop), the suites that need them skip with
 * one line saying how to enable them; under CI=true they are required and a missing server fails.
 */
import { createConnection } from 'node:net'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const required = process.env.CI === 'true'

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Resolves `false` (the suite skips, with `reason`) or `true`. Under CI=true an unreachable server
 * throws instead, so CI cannot pass by skipping.
 */
async function service(name: string, url: string, defaultPort: number, hint: string): Promise<string | false> {
  const { hostname, port } = new URL(url)
  if (await reachable(hostname, Number(port) || defaultPort)) return false
  const message = `${name} not reachable at ${hostname}:${port || defaultPort}: ${hint}`
  if (required) throw new Error(`${message} (required because CI=true)`)
  return `skipped: ${message}`
}

/** `false` when Redis is up, else the skip reason. */
export function redisSkip(): Promise<string | false> {
  return service('Redis', REDIS_URL, 6379, 'start redis-server or set REDIS_URL')
}

/** `false` when PostgreSQL is up, else the skip reason. */
export function postgresSkip(): Promise<string | false> {
  return service('PostgreSQL', PG_URL, 5432, 'start PostgreSQL or set DATABASE_URL')
}

/** A key prefix / table suffix unique to one test run. */
export function uniqueName(base: string): string {
  return `${base}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`
}
