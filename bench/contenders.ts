/**
 * The contenders: one Express 5 app each, differing only in the session middleware and its store.
 * Pure data, shared by the harness (what to start, which services it needs) and the server process
 * (what to build).
 */

export const Middlewares = { bare: 'bare', floor: 'floor', roundTrip: 'round-trip', expressSession: 'express-session', compat: 'compat', main: 'main' } as const
export type Middleware = (typeof Middlewares)[keyof typeof Middlewares]

export const StoreKinds = { none: 'none', memory: 'memory', sqlite: 'sqlite', redis: 'redis', postgres: 'postgres' } as const
export type StoreKind = (typeof StoreKinds)[keyof typeof StoreKinds]

export interface Contender {
  /** Short name used on the command line (`--contenders main-redis,…`) and in file names. */
  id: string
  /** As the report prints it. */
  label: string
  middleware: Middleware
  store: StoreKind
  /** Which store implementation: express-session's own, a third-party one, or a built-in. */
  storeLabel: string
  /**
   * `@opentelemetry/api` importable, no SDK registered: what the main entry costs an app that has
   * the API in its tree (another library brought it in) but does not export telemetry. Every other
   * contender runs with the API hidden, as in an app that never installed it.
   */
  openTelemetryApi?: true
  /** Short hash of the commit whose library sources this contender runs (`--baseline`); absent: the current ones. */
  baseline?: string
}

export const CONTENDERS: readonly Contender[] = [
  { id: 'bare', label: 'bare Express', middleware: 'bare', store: 'none', storeLabel: '—' },
  // a reference, not a session library: the least a signed-cookie in-memory session can cost (floor-session.ts)
  { id: 'floor-memory', label: 'floor: plain signed-cookie session in a Map', middleware: 'floor', store: 'memory', storeLabel: 'a Map in the process (floor-session.ts)' },
  // a reference, not a session library: what one Redis round trip per request costs on this machine
  { id: 'bare-redis-get', label: 'bare Express + one Redis GET', middleware: 'round-trip', store: 'redis', storeLabel: 'node-redis GET of one key, no session' },
  // the same for PostgreSQL: one indexed row fetched per request, prepared once per connection
  {
    id: 'bare-pg-select',
    label: 'bare Express + one PostgreSQL primary-key SELECT',
    middleware: 'round-trip',
    store: 'postgres',
    storeLabel: 'pg Pool (10 connections), a named SELECT by primary key, no session',
  },
  { id: 'es-memory', label: 'express-session + MemoryStore', middleware: 'express-session', store: 'memory', storeLabel: "express-session's MemoryStore" },
  { id: 'es-redis', label: 'express-session + connect-redis', middleware: 'express-session', store: 'redis', storeLabel: 'connect-redis 10 (node-redis)' },
  { id: 'es-pg', label: 'express-session + connect-pg-simple', middleware: 'express-session', store: 'postgres', storeLabel: 'connect-pg-simple 10' },
  { id: 'compat-memory', label: 'tessera compat + MemoryStore', middleware: 'compat', store: 'memory', storeLabel: "compat's MemoryStore" },
  { id: 'compat-redis', label: 'tessera compat + connect-redis', middleware: 'compat', store: 'redis', storeLabel: 'connect-redis 10 (node-redis)' },
  { id: 'compat-pg', label: 'tessera compat + connect-pg-simple', middleware: 'compat', store: 'postgres', storeLabel: 'connect-pg-simple 10' },
  { id: 'main-memory', label: 'tessera main + MemoryStore', middleware: 'main', store: 'memory', storeLabel: 'MemoryStore' },
  {
    id: 'main-memory-otel-api',
    label: 'tessera main + MemoryStore, @opentelemetry/api, no SDK',
    middleware: 'main',
    store: 'memory',
    storeLabel: 'MemoryStore',
    openTelemetryApi: true,
  },
  { id: 'main-sqlite', label: 'tessera main + SqliteStore', middleware: 'main', store: 'sqlite', storeLabel: 'SqliteStore (temp file)' },
  { id: 'main-redis', label: 'tessera main + RedisStore', middleware: 'main', store: 'redis', storeLabel: 'RedisStore (node-redis)' },
  { id: 'main-pg', label: 'tessera main + PostgresStore', middleware: 'main', store: 'postgres', storeLabel: 'PostgresStore' },
]

export const BARE = CONTENDERS[0] as Contender

export const SCENARIOS = ['anonymous', 'read', 'write', 'login'] as const
export type Scenario = (typeof SCENARIOS)[number]

/** What each scenario's route does, for the report. */
export const SCENARIO_DESCRIPTIONS: Record<Scenario, string> = {
  anonymous: 'no cookie; the route never touches the session',
  read: 'one of 1,000 existing sessions per request (cookies rotated); the route reads `req.session.user`',
  write: 'as read, and the route increments `req.session.counter`',
  login: 'no cookie; the route sets `req.session.user`, so every request creates and stores a session',
}

/** Path of each scenario's route on the contender's server. */
export const SCENARIO_PATHS: Record<Scenario, string> = { anonymous: '/anonymous', read: '/read', write: '/write', login: '/login' }

export function contenderById(id: string): Contender {
  const found = CONTENDERS.find((c) => c.id === id)
  if (found === undefined) throw new Error(`unknown contender "${id}"; one of: ${CONTENDERS.map((c) => c.id).join(', ')}`)
  return found
}

/** Whether the contender runs this library (either entry), and so has a `--baseline` twin. */
export function isTessera(c: Contender): boolean {
  return c.middleware === Middlewares.main || c.middleware === Middlewares.compat
}

/** A contender as the harness names it to a server process: `main-memory`, or `main-memory@<short>` for a baseline twin. */
export function contenderByRunId(id: string): Contender {
  const at = id.indexOf('@')
  if (at < 0) return contenderById(id)
  return atBaseline(contenderById(id.slice(0, at)), id.slice(at + 1))
}

/** A tessera contender again, running the library's sources as they were at commit `short`. */
export function atBaseline(c: Contender, short: string): Contender {
  return { ...c, id: `${c.id}@${short}`, label: `${c.label} (at ${short})`, baseline: short }
}
