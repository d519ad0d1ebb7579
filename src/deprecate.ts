import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * compat: express-session's deprecation notices, as its `depd` prints them: namespace
 * `express-session`, silenced by `--no-deprecation` or `NO_DEPRECATION=express-session`, sent as a
 * process `deprecation` event instead when something listens for it, once per message and call site.
 */
const NAMESPACE = 'express-session'
const LIBRARY_DIR = fileURLToPath(new URL('.', import.meta.url))
const warned = new Set<string>()

function ignored(): boolean {
  if (process.noDeprecation) return true
  return (process.env.NO_DEPRECATION ?? '').split(/[\s,]+/).some((ns) => ns === '*' || ns === NAMESPACE)
}

/** The application's frame that led here: the first one outside this library and Node's internals. */
function callerLocation(stack: string): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?$/.exec(line.trim())
    if (!match) continue
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!
    if (file.startsWith(LIBRARY_DIR) || file.startsWith('node:')) continue
    return `${relative(process.cwd(), file)}:${match[2]}:${match[3]}`
  }
  return undefined
}

export function deprecate(message: string): void {
  const listening = process.listenerCount('deprecation') > 0
  if (!listening && ignored()) return
  const stack = new Error().stack ?? ''
  const caller = callerLocation(stack)
  const key = `${message}@${caller ?? ''}`
  if (warned.has(key)) return
  warned.add(key)
  if (listening) {
    const error = Object.assign(new Error(message), { name: 'DeprecationError', namespace: NAMESPACE })
    process.emit('deprecation' as 'warning', error)
    return
  }
  const where = caller === undefined ? '' : caller
  const output = process.stderr.isTTY
    ? `\x1b[36;1m${NAMESPACE}\x1b[22;39m \x1b[33;1mdeprecated\x1b[22;39m \x1b[0m${message}\x1b[39m${where && ` \x1b[36m${where}\x1b[39m`}`
    : `${new Date().toUTCString()} ${NAMESPACE} deprecated ${message}${where && ` at ${where}`}`
  process.stderr.write(output + '\n', 'utf8')
}
