import type express from 'express'
import { pathToFileURL } from 'node:url'

/** What every example's `createApp` takes. */
export interface ExampleOptions {
  /** Use the compat entry (express-session's API, `tessera-session/compat`). Default false. */
  compat?: boolean
  /** The Express module to build the app with (the tests pass Express 4). Default Express 5. */
  express?: typeof express
}

const DEVELOPMENT_SECRET = 'development-only secret: set SESSION_SECRET in production'

/** `SESSION_SECRET`, or a development fallback that is refused in production. */
export function sessionSecret(): string {
  const secret = process.env.SESSION_SECRET
  if (secret) return secret
  // the fallback is public (it is in this file): never sign production cookies with it
  if (process.env.NODE_ENV === 'production') throw new Error('SESSION_SECRET is required when NODE_ENV=production')
  return DEVELOPMENT_SECRET
}

/** Whether the module at `url` is the script Node was started with (`import.meta.main` needs Node 24). */
export function isMain(url: string): boolean {
  const script = process.argv[1]
  return script !== undefined && pathToFileURL(script).href === url
}
