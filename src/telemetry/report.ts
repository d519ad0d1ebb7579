import { debug } from '../debug.ts'

/** The failures warned of already, by message: a broken provider fails the same way on every call. */
const warned = new Set<string>()
const MOST_WARNINGS = 16

/**
 * A meter or tracer provider of the app threw (its instruments, spans or lookups): telemetry is
 * called from store calls and events in the middle of a request, and from promise callbacks where a
 * throw becomes a rejection nobody handles (which ends the process), so the error stops here. Each
 * kind of failure (by message, the first 16) goes out once as a `TESSERA_TELEMETRY_ERROR` process
 * warning, its `cause` the provider's error; repeats go only to the debug log.
 */
export function reportTelemetryError(err: unknown): void {
  const reason = err instanceof Error ? err.message : String(err)
  debug('telemetry provider failed: %s', reason)
  if (warned.has(reason) || warned.size >= MOST_WARNINGS) return
  warned.add(reason)
  const warning = new Error(`an OpenTelemetry provider threw (requests are not affected; some metrics or spans are missing): ${reason}`, { cause: err })
  warning.name = 'TesseraSessionWarning'
  Object.assign(warning, { code: 'TESSERA_TELEMETRY_ERROR' })
  process.emitWarning(warning)
}
