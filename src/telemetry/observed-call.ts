import type { Attributes, Context, Histogram, Span, Tracer } from '@opentelemetry/api'
import { SessionDataError, StoreTimeoutError, TesseraError } from '../errors.ts'
import type { SessionStore } from '../stores/contract.ts'
import type { OpenTelemetryApi } from './api.ts'
import { Attribute, type StoreOutcome } from './conventions.ts'
import { reportTelemetryError } from './report.ts'

/**
 * One store call seen by telemetry: a span (a child of the request's active span, and the parent of
 * whatever the driver's own instrumentation records) and a point of the duration histogram, when a
 * tracer or a meter is registered. It learns the outcome from the call's promise alone: a call whose
 * `run` never ran was refused by the gate.
 */
export class ObservedCall {
  readonly #api: OpenTelemetryApi
  readonly #attributes: Attributes
  readonly #histogram: Histogram | undefined
  readonly #span: Span | undefined
  readonly #context: Context | undefined
  readonly #startedAt = performance.now()
  #ran = false

  constructor(api: OpenTelemetryApi, options: { operation: string; attributes: Attributes; tracer: Tracer | undefined; histogram: Histogram | undefined }) {
    this.#api = api
    this.#attributes = options.attributes
    this.#histogram = options.histogram
    if (options.tracer !== undefined) {
      const parent = api.context.active()
      this.#span = options.tracer.startSpan(`session.${options.operation}`, { kind: api.SpanKind.INTERNAL, attributes: options.attributes }, parent)
      this.#context = api.trace.setSpan(parent, this.#span)
    }
  }

  /** `run` as the gate calls it: inside the span's context, so that driver spans nest under it. */
  wrap<T>(run: (store: SessionStore) => Promise<T>): (store: SessionStore) => Promise<T> {
    return (store) => {
      this.#ran = true
      return this.#context === undefined ? run(store) : this.#runInContext(this.#context, run, store)
    }
  }

  /** A context manager that throws is the app's telemetry failing, not the store: the call runs (once) all the same. */
  #runInContext<T>(context: Context, run: (store: SessionStore) => Promise<T>, store: SessionStore): Promise<T> {
    let started = false
    let pending: Promise<T> | undefined
    try {
      return this.#api.context.with(context, (s: SessionStore) => {
        started = true
        return (pending = run(s))
      }, undefined, store)
    } catch (err) {
      // a throw of the store's own method is the store call's failure
      if (started && pending === undefined) throw err
      reportTelemetryError(err)
      return pending ?? run(store)
    }
  }

  /** Records the outcome once `call` settles; returns `call` itself, so that the caller sees exactly what the gate gave. */
  settle<T>(call: Promise<T>): Promise<T> {
    call.then(
      () => this.#end('ok', undefined),
      (err: unknown) => this.#end(this.#outcomeOf(err), err),
    )
    return call
  }

  #outcomeOf(err: unknown): StoreOutcome {
    if (!this.#ran) return 'refused'
    if (err instanceof StoreTimeoutError) return 'timeout'
    if (err instanceof SessionDataError) return 'invalid_data'
    return 'error'
  }

  /** Runs in a promise callback: a throw there would be a rejection nobody handles, which ends the process. */
  #end(outcome: StoreOutcome, err: unknown): void {
    try {
      this.#record(outcome, err)
    } catch (failure) {
      reportTelemetryError(failure)
    }
  }

  #record(outcome: StoreOutcome, err: unknown): void {
    this.#histogram?.record((performance.now() - this.#startedAt) / 1000, { ...this.#attributes, [Attribute.storeOutcome]: outcome })
    const span = this.#span
    if (span === undefined) return
    span.setAttribute(Attribute.storeOutcome, outcome)
    if (outcome !== 'ok') {
      const error = err instanceof Error ? err : new Error(String(err))
      span.setAttribute(Attribute.errorType, error instanceof TesseraError ? error.code : error.name)
      span.recordException(error)
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: error.message })
    }
    span.end()
  }
}
