import type { Attributes } from '@opentelemetry/api'
import type { SessionEventName, SessionEvents } from '../events.ts'
import { loadOpenTelemetryApi, type OpenTelemetryApi } from './api.ts'
import { Attribute, DB_SYSTEM_NAME, STORE_OPERATIONS, fixedValue } from './conventions.ts'
import { ObservedCall } from './observed-call.ts'
import { currentInstruments, currentTracer, watchGate, type StoreGate } from './providers.ts'
import { reportTelemetryError } from './report.ts'

/**
 * One `session()` instance's metrics and spans, reported through whatever global providers the app
 * registered with `@opentelemetry/api` (the meter and the tracer are named `tessera-session`). The
 * engine calls it from its two single points: where every event is raised and where every store call
 * passes. Undefined (see `openTelemetry`) when the API is not installed.
 */
export class Telemetry {
  readonly #api: OpenTelemetryApi
  readonly #version: string
  readonly #storeAttributes: Attributes
  /** Per operation, made once: a store call then allocates nothing for its attributes. */
  readonly #operationAttributes = new Map<string, Attributes>()

  constructor(api: OpenTelemetryApi, version: string, gate: StoreGate) {
    this.#api = api
    this.#version = version
    const system = DB_SYSTEM_NAME[gate.storeKind]
    this.#storeAttributes = system === undefined ? { [Attribute.storeKind]: gate.storeKind } : { [Attribute.storeKind]: gate.storeKind, [Attribute.dbSystemName]: system }
    watchGate(gate)
  }

  /** The counter an event feeds, or undefined when it feeds none, no meter provider is registered, or the provider failed. */
  eventCounter<E extends SessionEventName>(name: E): ((payload: SessionEvents[E]) => void) | undefined {
    try {
      return currentInstruments(this.#api, this.#version)?.events[name]
    } catch (err) {
      reportTelemetryError(err)
      return undefined
    }
  }

  /** Whether a store call made now would be watched: a meter or a tracer provider is registered. */
  watchesStoreCalls(): boolean {
    try {
      return currentInstruments(this.#api, this.#version) !== undefined || currentTracer(this.#api, this.#version) !== undefined
    } catch (err) {
      reportTelemetryError(err)
      return false
    }
  }

  /** Watches one store call, or undefined when neither a meter nor a tracer provider is registered, or a provider failed. */
  storeCall(operation: string): ObservedCall | undefined {
    try {
      return this.#observe(operation)
    } catch (err) {
      // the call goes on unobserved: a provider's failure is never the store call's
      reportTelemetryError(err)
      return undefined
    }
  }

  #observe(operation: string): ObservedCall | undefined {
    const instruments = currentInstruments(this.#api, this.#version)
    const tracer = currentTracer(this.#api, this.#version)
    if (instruments === undefined && tracer === undefined) return undefined
    const known = fixedValue(STORE_OPERATIONS, operation)
    let attributes = this.#operationAttributes.get(known)
    if (attributes === undefined) {
      attributes = { ...this.#storeAttributes, [Attribute.storeOperation]: known }
      this.#operationAttributes.set(known, attributes)
    }
    return new ObservedCall(this.#api, { operation: known, attributes, tracer, histogram: instruments?.storeDuration })
  }
}

/** The telemetry of a new `session()` instance, or undefined when `@opentelemetry/api` is not installed (then nothing is ever reported). */
export function openTelemetry(gate: StoreGate): Telemetry | undefined {
  const loaded = loadOpenTelemetryApi()
  return loaded === undefined ? undefined : new Telemetry(loaded.api, loaded.version, gate)
}
