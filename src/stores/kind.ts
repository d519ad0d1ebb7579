/**
 * Which built-in store a store is, for telemetry: each built-in store carries its kind under this
 * symbol (a registered one, so that two copies of the package agree); any other store is `other`.
 */
export const kStoreKind: unique symbol = Symbol.for('tessera-session.store-kind')

/** The built-in stores, named as OpenTelemetry's `db.system.name` names their servers where it does. */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgresql'

const KINDS: Record<StoreKind, true> = { memory: true, sqlite: true, redis: true, postgresql: true }

/** The kind of a store: one of a fixed set, never a name the app chose, so that it is safe as a metric attribute. */
export function storeKindOf(store: object): StoreKind | 'other' {
  const kind = (store as { [kStoreKind]?: unknown })[kStoreKind]
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind) ? (kind as StoreKind) : 'other'
}
