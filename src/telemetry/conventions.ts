import type { RejectReason, SessionEvents } from '../events.ts'
import type { StoreKind } from '../stores/kind.ts'

/**
 * The names tessera-session reports under, in one place: docs/observability.md lists each. Metric
 * names follow OpenTelemetry's naming guidelines: a namespace of our own (`tessera_session`, the
 * package name in snake case), singular namespaces, counters of things pluralized only through
 * their `{unit}`, no `total`. Every attribute value comes from a fixed set below: never an id, a
 * handle, a user id or a cookie value.
 */
export const SCOPE_NAME = 'tessera-session'

export const Metric = {
  sessionCreated: 'tessera_session.session.created',
  sessionRotated: 'tessera_session.session.rotated',
  sessionDestroyed: 'tessera_session.session.destroyed',
  sessionExpired: 'tessera_session.session.expired',
  cookieRejected: 'tessera_session.cookie.rejected',
  writeConflicts: 'tessera_session.session.write_conflicts',
  storeOperationDuration: 'tessera_session.store.operation.duration',
  storeOperationActive: 'tessera_session.store.operation.active',
  circuitBreakerCount: 'tessera_session.circuit_breaker.count',
} as const

export const Attribute = {
  rotationReason: 'tessera_session.rotation.reason',
  destructionReason: 'tessera_session.destruction.reason',
  expiryKind: 'tessera_session.expiry.kind',
  rejectionReason: 'tessera_session.rejection.reason',
  conflictResult: 'tessera_session.conflict.result',
  storeKind: 'tessera_session.store.kind',
  storeOperation: 'tessera_session.store.operation',
  storeOutcome: 'tessera_session.store.outcome',
  circuitBreakerState: 'tessera_session.circuit_breaker.state',
  /** OpenTelemetry's database semantic conventions (v1.45.0): stable attribute. */
  dbSystemName: 'db.system.name',
  /** OpenTelemetry's general semantic conventions: the class of error, here our error code. */
  errorType: 'error.type',
} as const

/** Buckets (seconds) for store calls: from a memory store's tens of microseconds to a timeout's seconds. */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * `db.system.name` of each built-in store's server, from the database semantic conventions v1.45.0
 * (`postgresql` is a stable value there, `redis` and `sqlite` are defined values still in
 * development); the memory store and other stores have none.
 */
export const DB_SYSTEM_NAME: Record<StoreKind | 'other', string | undefined> = { memory: undefined, sqlite: 'sqlite', redis: 'redis', postgresql: 'postgresql', other: undefined }

/** How a store call ended: `refused` never reached the store (in-flight bound, disconnected store, open breaker). */
export type StoreOutcome = 'ok' | 'error' | 'timeout' | 'refused' | 'invalid_data'

/** The operations the engine calls stores with; anything else is reported as `other`. */
export const STORE_OPERATIONS: Record<string, true> = { get: true, create: true, update: true, touch: true, destroy: true, listByUser: true, destroyByUser: true }

/** The breaker's states: `half_open` once the cooldown has passed, until a call succeeds. */
export type BreakerState = 'closed' | 'open' | 'half_open'
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open']

/** An event field whose value becomes an attribute, and every value it may take (a `Record` so that a new value fails the type check here). */
interface CountedField<E extends keyof SessionEvents> {
  metric: string
  unit: string
  description: string
  attribute?: string
  field?: keyof SessionEvents[E]
  values?: Record<string, true>
}

const ROTATION_REASONS: Record<SessionEvents['rotated']['reason'], true> = { regenerate: true, login: true, renewal: true, migration: true }
const DESTRUCTION_REASONS: Record<SessionEvents['destroyed']['reason'], true> = { destroy: true, unset: true, expired: true, revoked: true, binding: true }
const EXPIRY_KINDS: Record<SessionEvents['expired']['kind'], true> = { idle: true, absolute: true }
const REJECTION_REASONS: Record<RejectReason, true> = { bad_mac: true, malformed: true, unknown: true, duplicate: true, prefix: true, oversize: true }
const CONFLICT_RESULTS: Record<SessionEvents['conflict']['result'], true> = { gone: true, conflict: true }

/** The events that feed a counter: the counter is fed where the event is raised, from the event's own fields. */
export const COUNTED_EVENTS: { [E in 'created' | 'rotated' | 'destroyed' | 'expired' | 'rejected' | 'conflict']: CountedField<E> } = {
  created: { metric: Metric.sessionCreated, unit: '{session}', description: 'Sessions written to the store for the first time.' },
  rotated: {
    metric: Metric.sessionRotated,
    unit: '{session}',
    description: 'Session ids replaced by a new one (regenerate, login, renewal, migration).',
    attribute: Attribute.rotationReason,
    field: 'reason',
    values: ROTATION_REASONS,
  },
  destroyed: {
    metric: Metric.sessionDestroyed,
    unit: '{session}',
    description: 'Sessions destroyed (logout, unset, revocation, client binding).',
    attribute: Attribute.destructionReason,
    field: 'reason',
    values: DESTRUCTION_REASONS,
  },
  expired: {
    metric: Metric.sessionExpired,
    unit: '{session}',
    description: 'Presented sessions found past their idle or absolute deadline.',
    attribute: Attribute.expiryKind,
    field: 'kind',
    values: EXPIRY_KINDS,
  },
  rejected: {
    metric: Metric.cookieRejected,
    unit: '{cookie}',
    description: 'Presented session cookies that gave no session.',
    attribute: Attribute.rejectionReason,
    field: 'reason',
    values: REJECTION_REASONS,
  },
  conflict: {
    metric: Metric.writeConflicts,
    unit: '{write}',
    description: 'Writes or touches that found the session destroyed or changed by another request.',
    attribute: Attribute.conflictResult,
    field: 'result',
    values: CONFLICT_RESULTS,
  },
}

/** A value from its fixed set, or `other`: whatever an event carries, no attribute can hold anything else. */
export function fixedValue(values: Record<string, true>, value: unknown): string {
  return typeof value === 'string' && Object.hasOwn(values, value) ? value : 'other'
}
