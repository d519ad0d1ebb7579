import { debuglog } from 'node:util'

const warned = new Set<string>()

/**
 * compat: express-session's deprecation notices (it uses depd). Each message is printed once per
 * process as a DeprecationWarning, which `--no-deprecation` silences.
 */
export function deprecate(message: string): void {
  if (warned.has(message)) return
  warned.add(message)
  process.emitWarning(message, { type: 'DeprecationWarning', code: 'TESSERA_SESSION_COMPAT' })
}

/** The debug log, enabled by `NODE_DEBUG=tessera-session`. It never receives ids, cookie values or secrets. */
export const debug = debuglog('tessera-session')
