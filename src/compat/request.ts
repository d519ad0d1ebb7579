import type { IncomingMessage } from 'node:http'
import type { Session } from '../session.ts'
import type { Store } from './store.ts'

/** The request fields express-session reads and writes. */
export interface CompatRequest extends IncomingMessage {
  session?: Session | null
  sessionID: string
  sessionStore: Store
  secret?: string
  secure?: boolean
  originalUrl?: string
  signedCookies?: Record<string, unknown>
  cookies?: Record<string, unknown>
}
