import { createRequire } from 'node:module'
import type * as OpenTelemetry from '@opentelemetry/api'
import { debug } from '../debug.ts'

/** The `@opentelemetry/api` module, as the app installed it. */
export type OpenTelemetryApi = typeof OpenTelemetry

/** What the first `session()` call found: the module, `null` when it is not installed, `undefined` before. */
let loaded: { api: OpenTelemetryApi; version: string } | null | undefined

/**
 * `@opentelemetry/api` and this package's version, or undefined when the app has not installed the
 * API (it is an optional peer dependency). Loaded once, synchronously, by the first `session()` call,
 * and resolved from where this file is, so that the app's own copy is found (both entries of dist/
 * are ES modules underneath: `import.meta.url` is always there).
 */
export function loadOpenTelemetryApi(): { api: OpenTelemetryApi; version: string } | undefined {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url)
    try {
      loaded = { api: require('@opentelemetry/api') as OpenTelemetryApi, version: (require('../../package.json') as { version: string }).version }
    } catch (err) {
      // not installed is the common case and says nothing; a broken install is worth a debug line, never a failed startup
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') debug('@opentelemetry/api could not be loaded: %s', (err as Error).message)
      loaded = null
    }
  }
  return loaded ?? undefined
}
