import type { BatchObservableResult, Histogram, Meter, MeterProvider, Observable, Tracer, TracerProvider } from '@opentelemetry/api'
import type { SessionEventName, SessionEvents } from '../events.ts'
import type { StoreKind } from '../stores/kind.ts'
import type { OpenTelemetryApi } from './api.ts'
import { reportTelemetryError } from './report.ts'
import { Attribute, BREAKER_STATES, COUNTED_EVENTS, DURATION_BUCKETS, Metric, SCOPE_NAME, fixedValue, type BreakerState } from './conventions.ts'

/** What a `session()` instance shows the observable instruments: its store calls in flight and its breaker. */
export interface StoreGate {
  readonly storeKind: StoreKind | 'other'
  readonly storeCallsInFlight: number
  /** Undefined when the instance has no circuit breaker. */
  circuitBreakerState(): BreakerState | undefined
}

/** Per counted event, what feeds its counter from the event's payload. */
export type EventCounters = { [E in SessionEventName]?: (payload: SessionEvents[E]) => void }

/** The instruments of one meter provider. */
export interface Instruments {
  readonly events: EventCounters
  readonly storeDuration: Histogram
}

/**
 * The global providers are looked up on every use rather than once: an app may register its SDK
 * after calling `session()`, and the metrics API has no proxy that would forward instruments made
 * before. The lookup is two property reads while nothing is registered, and instruments are made
 * once per provider.
 */
let seenMeterProvider: MeterProvider | undefined
let instruments: Instruments | undefined
let seenTracerProvider: TracerProvider | undefined
let tracer: Tracer | undefined
let noopTracerProvider: TracerProvider | undefined

/** The instruments of the registered meter provider, or undefined while none is registered. */
export function currentInstruments(api: OpenTelemetryApi, version: string): Instruments | undefined {
  const provider = api.metrics.getMeterProvider()
  if (provider !== seenMeterProvider) {
    seenMeterProvider = provider
    // a provider that throws here is asked once: it stays without instruments
    instruments = undefined
    const meter = provider.getMeter(SCOPE_NAME, version)
    // the API's no-op provider answers its one shared no-op meter
    instruments = meter === api.createNoopMeter() ? undefined : createInstruments(meter)
  }
  return instruments
}

/** The tracer of the registered tracer provider, or undefined while none is registered. */
export function currentTracer(api: OpenTelemetryApi, version: string): Tracer | undefined {
  const global = api.trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider }
  // the global provider is the API's proxy, whose delegate is a no-op until an SDK registers
  const provider = typeof global.getDelegate === 'function' ? global.getDelegate() : global
  if (provider !== seenTracerProvider) {
    seenTracerProvider = provider
    tracer = undefined
    noopTracerProvider ??= new api.ProxyTracerProvider().getDelegate()
    tracer = provider === noopTracerProvider ? undefined : provider.getTracer(SCOPE_NAME, version)
  }
  return tracer
}

function createInstruments(meter: Meter): Instruments {
  const events: Record<string, (payload: object) => void> = {}
  for (const [name, counted] of Object.entries(COUNTED_EVENTS)) {
    const counter = meter.createCounter(counted.metric, { unit: counted.unit, description: counted.description })
    const { attribute, field, values } = counted as { attribute?: string; field?: string; values?: Record<string, true> }
    const attributesOf = attribute === undefined || field === undefined || values === undefined ? undefined : (payload: object) => ({ [attribute]: fixedValue(values, (payload as Record<string, unknown>)[field]) })
    events[name] = (payload) => {
      // fed where the event is raised, in the middle of a request: a counter that throws must not reach it
      try {
        counter.add(1, attributesOf?.(payload))
      } catch (err) {
        reportTelemetryError(err)
      }
    }
  }
  const storeDuration = meter.createHistogram(Metric.storeOperationDuration, {
    unit: 's',
    description: 'Duration of session store calls, refused ones included.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  })
  const active = meter.createObservableUpDownCounter(Metric.storeOperationActive, {
    unit: '{operation}',
    description: 'Session store calls in flight (those `maxStoreCalls` bounds).',
  })
  const breakers = meter.createObservableUpDownCounter(Metric.circuitBreakerCount, {
    unit: '{circuit_breaker}',
    description: 'Circuit breakers of session stores, by state: with one `session()` instance, 1 for its current state and 0 for the others.',
  })
  meter.addBatchObservableCallback((result) => observeGates(result, active, breakers), [active, breakers])
  return { events: events as EventCounters, storeDuration }
}

/** Live `session()` instances, held weakly: an app that builds many (tests do) must not keep them alive through telemetry. */
const gates = new Set<WeakRef<StoreGate>>()
const forget = new FinalizationRegistry<WeakRef<StoreGate>>((ref) => gates.delete(ref))

/** Makes a `session()` instance's store gate visible to the observable instruments. */
export function watchGate(gate: StoreGate): void {
  const ref = new WeakRef(gate)
  gates.add(ref)
  forget.register(gate, ref)
}

/** Sums the gates per store kind (and breaker state), reporting zeros too so that a state left shows as left. */
function observeGates(result: BatchObservableResult, activeInstrument: Observable, breakerInstrument: Observable): void {
  const active = new Map<string, number>()
  const breakers = new Map<string, Record<BreakerState, number>>()
  for (const ref of gates) {
    const gate = ref.deref()
    if (gate === undefined) continue
    active.set(gate.storeKind, (active.get(gate.storeKind) ?? 0) + gate.storeCallsInFlight)
    const state = gate.circuitBreakerState()
    if (state === undefined) continue
    const counts = breakers.get(gate.storeKind) ?? { closed: 0, open: 0, half_open: 0 }
    counts[state]++
    breakers.set(gate.storeKind, counts)
  }
  for (const [kind, count] of active) result.observe(activeInstrument, count, { [Attribute.storeKind]: kind })
  for (const [kind, counts] of breakers) {
    for (const state of BREAKER_STATES) result.observe(breakerInstrument, counts[state], { [Attribute.storeKind]: kind, [Attribute.circuitBreakerState]: state })
  }
}
