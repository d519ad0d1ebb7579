/**
 * OpenTelemetry metrics and spans, read through the SDK's in-memory metric exporter and span exporter
 * registered as the global providers (with an AsyncLocalStorage context manager, so that a request
 * span started before the session middleware is the active one). The session lifecycle runs against
 * each real store; failures come from a small fault store. Counters must agree with the events
 * raised for the same requests, and no exported value may hold an id, a handle, a user id or a cookie.
 */
import { after, afterEach, before, beforeEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { context, metrics, trace, SpanStatusCode, type Attributes } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { createClient } from 'redis'
import pg from 'pg'
import session, { type SessionHandler, type SessionOptions, type SessionStore } from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { HOSTS, SECRET, V1_VALUE, cleanup, cookiePair, sessionCookie, faultStore, freezeClock, gate, handle, idOf, memoryStore, recordEvents, serve, storeKeyOf, type Req, type Res, type TestServer } from '../http/helpers.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const host = HOSTS[0]!
const redisSkipped = await redisSkip()
const postgresSkipped = await postgresSkip()
const sqliteDir = mkdtempSync(join(tmpdir(), 'tessera-telemetry-'))
after(() => rmSync(sqliteDir, { recursive: true, force: true }))

const spans = new InMemorySpanExporter()
let reader: PeriodicExportingMetricReader
let exporter: InMemoryMetricExporter
/** Ids of the request spans the test apps started, so that store spans can be checked to nest under them. */
const requestSpans = new Set<string>()

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))
})
after(() => {
  trace.disable()
  metrics.disable()
  context.disable()
})

/** A fresh meter provider for each test, registered after the test's `session()` may have been built. */
function registerMeterProvider(): void {
  metrics.disable()
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
}

beforeEach(() => {
  registerMeterProvider()
  spans.reset()
  requestSpans.clear()
})
afterEach(cleanup)

interface Point {
  name: string
  unit: string
  attributes: Attributes
  /** A sum's value, or a histogram's count. */
  value: number
}

/** Every data point of our meter, as of now. */
async function collect(): Promise<Point[]> {
  exporter.reset()
  await reader.forceFlush()
  const points: Point[] = []
  for (const resource of exporter.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      if (scope.scope.name !== 'tessera-session') continue
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) {
          const value = typeof point.value === 'number' ? point.value : (point.value as HistogramMetricData['dataPoints'][number]['value']).count
          points.push({ name: metric.descriptor.name, unit: metric.descriptor.unit, attributes: point.attributes, value })
        }
      }
    }
  }
  return points
}

/** The value of the point of `name` whose attributes include `attributes` (0 when there is none), summed over the rest. */
function valueOf(points: Point[], name: string, attributes: Attributes = {}): number {
  return points
    .filter((p) => p.name === name && Object.entries(attributes).every(([key, value]) => p.attributes[key] === value))
    .reduce((sum, p) => sum + p.value, 0)
}

function storeSpans(): ReadableSpan[] {
  return spans.getFinishedSpans().filter((span) => span.instrumentationScope.name === 'tessera-session')
}

/** An app whose request span (started by the SDK's tracer before the session middleware) is the active span. */
async function tracedApp(middleware: () => SessionHandler, routes: (app: any) => void): Promise<TestServer> {
  const tracer = trace.getTracer('test-app')
  return serve(host, (app) => {
    app.use((req: Req, res: Res, next: () => void) => {
      tracer.startActiveSpan(`${req.method} ${req.path}`, (span) => {
        requestSpans.add(span.spanContext().spanId)
        res.on('finish', () => span.end())
        next()
      })
    })
    app.use((req: Req, res: Res, next: () => void) => middleware()(req, res, next))
    routes(app)
  })
}

interface StoreCase {
  name: string
  skip: string | false
  kind: string
  dbSystem: string | undefined
  /** `driverCalls` gets the active span id each time the store reaches its driver (PostgreSQL only: the pool is ours to wrap). */
  open(driverCalls: string[]): Promise<{ store: SessionStore; close(): Promise<void> }>
}

/** The span active right now, as a driver's own instrumentation would find its parent. */
function activeSpanId(): string {
  return trace.getActiveSpan()?.spanContext().spanId ?? 'none'
}

const STORES: StoreCase[] = [
  { name: 'MemoryStore', skip: false, kind: 'memory', dbSystem: undefined, open: async () => ({ store: memoryStore(), close: async () => {} }) },
  {
    name: 'SqliteStore',
    skip: false,
    kind: 'sqlite',
    dbSystem: 'sqlite',
    async open() {
      const store = new SqliteStore({ path: join(sqliteDir, `${uniqueName('telemetry')}.db`), pruneInterval: false })
      return { store, close: () => store.close() }
    },
  },
  {
    name: 'RedisStore',
    skip: redisSkipped,
    kind: 'redis',
    dbSystem: 'redis',
    async open() {
      const client = createClient({ url: REDIS_URL })
      await client.connect()
      const prefix = `${uniqueName('telemetry')}:`
      return {
        store: new RedisStore({ client, prefix }),
        async close() {
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys)
          await client.quit()
        },
      }
    },
  },
  {
    name: 'PostgresStore',
    skip: postgresSkipped,
    kind: 'postgresql',
    dbSystem: 'postgresql',
    async open(driverCalls) {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 2 })
      const tableName = uniqueName('telemetry')
      const query = (config: any) => {
        driverCalls.push(activeSpanId())
        return pool.query(config)
      }
      return {
        store: new PostgresStore({ pool: { query }, tableName, pruneInterval: false }),
        async close() {
          await pool.query(`DROP TABLE IF EXISTS "${tableName}", "${tableName}_tombstones"`)
          await pool.end()
        },
      }
    },
  },
]

const EVENTS = ['created', 'rotated', 'destroyed', 'expired', 'rejected', 'conflict'] as const

/** `list` grouped by `key`. */
function groupBy<T>(list: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of list) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** Each counter's points, as the events raised for the same requests say they should be. */
function expectedFromEvents(seen: Record<(typeof EVENTS)[number], any[]>): Array<[string, Attributes, number]> {
  const tally = (list: any[], field: string) => [...groupBy(list, (payload) => String(payload[field]))].map(([value, group]) => [value, group.length] as const)
  return [
    ['tessera_session.session.created', {}, seen.created.length],
    ...tally(seen.rotated, 'reason').map(([v, n]): [string, Attributes, number] => ['tessera_session.session.rotated', { 'tessera_session.rotation.reason': v }, n]),
    ...tally(seen.destroyed, 'reason').map(([v, n]): [string, Attributes, number] => ['tessera_session.session.destroyed', { 'tessera_session.destruction.reason': v }, n]),
    ...tally(seen.expired, 'kind').map(([v, n]): [string, Attributes, number] => ['tessera_session.session.expired', { 'tessera_session.expiry.kind': v }, n]),
    ...tally(seen.rejected, 'reason').map(([v, n]): [string, Attributes, number] => ['tessera_session.cookie.rejected', { 'tessera_session.rejection.reason': v }, n]),
    ...tally(seen.conflict, 'result').map(([v, n]): [string, Attributes, number] => ['tessera_session.session.write_conflicts', { 'tessera_session.conflict.result': v }, n]),
  ]
}

/** Every string an exporter would send: metric attributes, span names, span and span-event attributes, status messages. */
function exportedStrings(points: Point[]): string[] {
  const strings: string[] = []
  const add = (attributes: Attributes | undefined) => {
    for (const [key, value] of Object.entries(attributes ?? {})) strings.push(key, String(value))
  }
  for (const point of points) add(point.attributes)
  for (const span of spans.getFinishedSpans()) {
    if (span.instrumentationScope.name !== 'tessera-session') continue
    strings.push(span.name, span.status.message ?? '')
    add(span.attributes)
    for (const event of span.events) add(event.attributes)
  }
  return strings
}

describe('OpenTelemetry', { timeout: 60_000 }, () => {
  for (const storeCase of STORES) {
    describe(`on ${storeCase.name}`, { skip: storeCase.skip }, () => {
      it('counts what the events report, times every store call, and nests a span per call under the request span', async (t: TestContext) => {
        const clock = freezeClock(t)
        const driverCalls: string[] = []
        const { store, close } = await storeCase.open(driverCalls)
        t.after(close)
        // what runs inside the store call sees the call's span as the active one
        const get = store.get.bind(store)
        store.get = (key, options) => {
          driverCalls.push(activeSpanId())
          return get(key, options)
        }
        const userId = `telemetry-user-${uniqueName('u')}`
        const base: SessionOptions = { secret: SECRET, store, unset: 'destroy', idleTimeout: 2 * 3_600_000, absoluteTimeout: 8 * 3_600_000 }
        // the same store seen by instances with shorter deadlines: the store still holds what they judge expired
        const long = session(base)
        const shortIdle = session({ ...base, idleTimeout: 600_000 })
        const shortAbsolute = session({ ...base, idleTimeout: 600_000, absoluteTimeout: 1_800_000 })
        const revoking = session({ ...base, revokedBefore: () => clock.now() })
        let current = long
        const seen = [long, shortIdle, shortAbsolute, revoking].map((handler) => recordEvents(handler, EVENTS))
        const slowWrite = gate()
        const loaded = gate()
        const server = await tracedApp(
          () => current,
          (app) => {
            app.get('/set', (req: Req, res: Res) => {
              req.session.n = (req.session.n ?? 0) + 1
              res.send('set')
            })
            app.get('/login', handle(async (req, res) => {
              await req.session.login(userId)
              res.send('in')
            }))
            app.get('/regenerate', handle(async (req, res) => {
              await req.session.regenerate()
              req.session.n = 1
              res.send('regenerated')
            }))
            app.get('/logout', handle(async (req, res) => {
              await req.session.destroy()
              res.send('out')
            }))
            app.get('/unset', (req: Req, res: Res) => {
              req.session = null
              res.send('unset')
            })
            app.get('/slow-write', handle(async (req, res) => {
              loaded.open()
              await slowWrite.promise
              req.session.late = true
              res.send('late')
            }))
          },
        )
        const replies = []
        const first = await server.request('/set')
        replies.push(first)
        const login = await server.request('/login', { cookie: cookiePair(first) })
        replies.push(login)
        const listed = await long.listUserSessions(userId)
        assert.equal(listed.length, 1)
        const regenerated = await server.request('/regenerate', { cookie: cookiePair(login) })
        replies.push(regenerated)
        // a write that finds its session logged out meanwhile: a conflict ('gone')
        const slow = server.request('/slow-write', { cookie: cookiePair(regenerated) })
        await loaded.promise
        const logout = await server.request('/logout', { cookie: cookiePair(regenerated) })
        slowWrite.open()
        replies.push(logout, await slow)
        // the logged-out cookie again: unknown; a forged MAC and garbage: rejected before any store call
        await server.request('/set', { cookie: cookiePair(regenerated) })
        const value = cookiePair(first).split('=')[1] as string
        await server.request('/set', { cookie: `sid=${value.slice(0, -2)}AA` })
        await server.request('/set', { cookie: 'sid=garbage' })
        // idle and absolute deadlines, judged by the engine on records the store still holds
        const idle = await server.request('/set')
        const absolute = await server.request('/set')
        const unset = await server.request('/set')
        const revoked = await server.request('/set')
        replies.push(idle, absolute, unset, revoked)
        clock.advance(20 * 60_000)
        current = shortIdle
        await server.request('/set', { cookie: cookiePair(idle) })
        clock.advance(50 * 60_000)
        current = shortAbsolute
        await server.request('/set', { cookie: cookiePair(absolute) })
        current = long
        await server.request('/unset', { cookie: cookiePair(unset) })
        current = revoking
        clock.advance(1)
        await server.request('/set', { cookie: cookiePair(revoked) })
        assert.equal(await long.revokeUserSession(userId, listed[0]!.handle), false)
        assert.equal(await long.revokeUserSessions(userId), 0)

        // the deletes of sessions the load refused run after their response: wait (bounded) until no store call is in flight
        let points = await collect()
        for (let i = 0; i < 200 && valueOf(points, 'tessera_session.store.operation.active', { 'tessera_session.store.kind': storeCase.kind }) !== 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10))
          points = await collect()
        }
        const merged = Object.fromEntries(EVENTS.map((name) => [name, seen.flatMap((s) => s[name])])) as Record<(typeof EVENTS)[number], any[]>
        for (const [name, attributes, count] of expectedFromEvents(merged)) assert.equal(valueOf(points, name, attributes), count, `${name} ${JSON.stringify(attributes)}`)
        // and the events themselves happened as the requests above make them
        // /set, login, regenerate, three rejected cookies, four more sessions, and the three requests whose session ended
        assert.equal(valueOf(points, 'tessera_session.session.created'), 13)
        assert.equal(valueOf(points, 'tessera_session.session.rotated', { 'tessera_session.rotation.reason': 'login' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.rotated', { 'tessera_session.rotation.reason': 'regenerate' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.destroyed', { 'tessera_session.destruction.reason': 'destroy' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.destroyed', { 'tessera_session.destruction.reason': 'unset' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.destroyed', { 'tessera_session.destruction.reason': 'revoked' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.expired', { 'tessera_session.expiry.kind': 'idle' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.expired', { 'tessera_session.expiry.kind': 'absolute' }), 1)
        assert.equal(valueOf(points, 'tessera_session.cookie.rejected', { 'tessera_session.rejection.reason': 'unknown' }), 1)
        assert.equal(valueOf(points, 'tessera_session.cookie.rejected', { 'tessera_session.rejection.reason': 'bad_mac' }), 1)
        assert.equal(valueOf(points, 'tessera_session.cookie.rejected', { 'tessera_session.rejection.reason': 'malformed' }), 1)
        assert.equal(valueOf(points, 'tessera_session.session.write_conflicts', { 'tessera_session.conflict.result': 'gone' }), 1)

        // one histogram point per store call, and one span per store call, agreeing on operation and outcome
        const calls = storeSpans()
        assert.ok(calls.length > 0)
        const byCall = groupBy(calls, (span) => `${span.attributes['tessera_session.store.operation']}|${span.attributes['tessera_session.store.outcome']}`)
        for (const [key, group] of byCall) {
          const [operation, outcome] = key.split('|')
          assert.equal(valueOf(points, 'tessera_session.store.operation.duration', { 'tessera_session.store.kind': storeCase.kind, 'tessera_session.store.operation': operation!, 'tessera_session.store.outcome': outcome! }), group.length, key)
        }
        assert.equal(valueOf(points, 'tessera_session.store.operation.duration'), calls.length)
        for (const operation of ['get', 'create', 'update', 'destroy', 'listByUser', 'destroyByUser']) assert.ok(byCall.has(`${operation}|ok`), `a ${operation} call`)
        const histogram = points.find((p) => p.name === 'tessera_session.store.operation.duration')
        assert.equal(histogram?.unit, 's')

        for (const span of calls) {
          assert.equal(span.name, `session.${span.attributes['tessera_session.store.operation']}`)
          assert.equal(span.attributes['tessera_session.store.kind'], storeCase.kind)
          assert.equal(span.attributes['db.system.name'], storeCase.dbSystem)
          assert.equal(span.status.code, SpanStatusCode.UNSET)
          const operation = span.attributes['tessera_session.store.operation']
          // calls made from a request are children of its span; the per-user calls above were made outside any request
          if (operation === 'listByUser' || operation === 'destroyByUser') continue
          assert.ok(requestSpans.has(span.parentSpanContext?.spanId ?? ''), `${span.name} nests under a request span`)
        }
        const callIds = new Set(calls.map((span) => span.spanContext().spanId))
        assert.ok(driverCalls.length > 0)
        for (const id of driverCalls) assert.ok(callIds.has(id), 'the store and its driver run under the store call span')
        const insideRequests = calls.filter((span) => span.parentSpanContext !== undefined)
        assert.equal(insideRequests.length, calls.filter((span) => !['listByUser', 'destroyByUser'].includes(span.attributes['tessera_session.store.operation'] as string)).length)
        assert.equal(valueOf(points, 'tessera_session.store.operation.active', { 'tessera_session.store.kind': storeCase.kind }), 0)

        // nothing exported names a session, its cookie, its store key, its handle or its user
        const secrets = [userId, listed[0]!.handle]
        for (const reply of replies) {
          const cookie = sessionCookie(reply)
          if (cookie === undefined || !V1_VALUE.test(cookie.value)) continue
          const id = idOf(reply)
          secrets.push(id, cookiePair(reply).split('=')[1] as string, storeKeyOf(id))
        }
        for (const payload of Object.values(merged).flat()) if (typeof payload.idHash === 'string') secrets.push(payload.idHash)
        for (const text of exportedStrings(points)) {
          for (const secret of secrets) assert.ok(!text.includes(secret), `exported "${text}" holds a secret`)
        }
      })
    })
  }

  describe('when a store call fails', () => {
    it('records the outcome on the histogram and the span, with the error and ERROR status', async (t: TestContext) => {
      const faults = faultStore()
      const handler = session({ secret: SECRET, store: faults.store, storeTimeout: 100 })
      const server = await tracedApp(
        () => handler,
        (app) => app.get('/set', (req: Req, res: Res) => {
          req.session.n = 1
          res.send('set')
        }),
      )
      const good = await server.request('/set')
      faults.faults.get = 'reject'
      assert.equal((await server.request('/set', { cookie: cookiePair(good) })).status, 503)
      faults.faults.get = 'data'
      assert.equal((await server.request('/set', { cookie: cookiePair(good) })).status, 200)
      faults.faults.get = 'hang'
      const hanging = server.request('/set', { cookie: cookiePair(good) })
      // while it hangs, the call is in flight
      for (let i = 0; i < 100 && faults.calls.get < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      const during = await collect()
      assert.equal(valueOf(during, 'tessera_session.store.operation.active', { 'tessera_session.store.kind': 'other' }), 1)
      assert.equal((await hanging).status, 503)
      t.diagnostic('the hanging call timed out')

      const points = await collect()
      assert.equal(valueOf(points, 'tessera_session.store.operation.active', { 'tessera_session.store.kind': 'other' }), 0)
      const outcomes = { error: 1, invalid_data: 1, timeout: 1 }
      for (const [outcome, count] of Object.entries(outcomes)) {
        assert.equal(valueOf(points, 'tessera_session.store.operation.duration', { 'tessera_session.store.operation': 'get', 'tessera_session.store.outcome': outcome }), count, outcome)
        const [span] = storeSpans().filter((s) => s.attributes['tessera_session.store.outcome'] === outcome)
        assert.ok(span, outcome)
        assert.equal(span.status.code, SpanStatusCode.ERROR)
        assert.equal(span.attributes['tessera_session.store.kind'], 'other')
        assert.equal(span.attributes['db.system.name'], undefined)
        const exception = span.events.find((event) => event.name === 'exception')
        assert.ok(exception, `${outcome}: the exception is recorded`)
        const code = { error: 'ERR_TESSERA_STORE_UNAVAILABLE', invalid_data: 'ERR_TESSERA_SESSION_DATA', timeout: 'ERR_TESSERA_STORE_TIMEOUT' }[outcome]
        assert.equal(span.attributes['error.type'], code)
        assert.ok(requestSpans.has(span.parentSpanContext?.spanId ?? ''))
      }
    })

    it('reports the breaker opening, refusing calls, half-open after the cooldown and closing again', async (t: TestContext) => {
      const clock = freezeClock(t)
      const faults = faultStore()
      const handler = session({ secret: SECRET, store: faults.store, circuitBreaker: { failures: 1, cooldown: 60_000 } })
      const server = await tracedApp(
        () => handler,
        (app) => app.get('/set', (req: Req, res: Res) => {
          req.session.n = 1
          res.send('set')
        }),
      )
      const breaker = async (state: string) => valueOf(await collect(), 'tessera_session.circuit_breaker.count', { 'tessera_session.store.kind': 'other', 'tessera_session.circuit_breaker.state': state })
      const good = await server.request('/set')
      assert.equal(await breaker('closed'), 1)
      faults.faults.get = 'reject'
      assert.equal((await server.request('/set', { cookie: cookiePair(good) })).status, 503)
      assert.equal(await breaker('open'), 1)
      assert.equal(await breaker('closed'), 0)
      const calls = faults.calls.get
      assert.equal((await server.request('/set', { cookie: cookiePair(good) })).status, 503)
      assert.equal(faults.calls.get, calls, 'refused without a store call')
      clock.advance(60_000)
      assert.equal(await breaker('half_open'), 1)
      assert.equal(await breaker('open'), 0)
      faults.faults.get = undefined
      assert.equal((await server.request('/set', { cookie: cookiePair(good) })).status, 200)
      assert.equal(await breaker('closed'), 1)
      assert.equal(await breaker('half_open'), 0)

      const points = await collect()
      assert.equal(valueOf(points, 'tessera_session.store.operation.duration', { 'tessera_session.store.operation': 'get', 'tessera_session.store.outcome': 'refused' }), 1)
      const [refused] = storeSpans().filter((s) => s.attributes['tessera_session.store.outcome'] === 'refused')
      assert.equal(refused?.status.code, SpanStatusCode.ERROR)
      assert.equal(refused?.attributes['error.type'], 'ERR_TESSERA_STORE_UNAVAILABLE')
    })
  })

  describe('providers', () => {
    it('reports through a meter provider registered after session() was called, and stops when it is removed', async () => {
      metrics.disable()
      const handler = session({ secret: SECRET, store: memoryStore() })
      const server = await tracedApp(
        () => handler,
        (app) => app.get('/set', (req: Req, res: Res) => {
          req.session.n = 1
          res.send('set')
        }),
      )
      await server.request('/set')
      registerMeterProvider()
      await server.request('/set')
      assert.equal(valueOf(await collect(), 'tessera_session.session.created'), 1)
      const current = reader
      const currentExporter = exporter
      metrics.disable()
      await server.request('/set')
      currentExporter.reset()
      await current.forceFlush()
      const created = currentExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).find((m) => m.descriptor.name === 'tessera_session.session.created')
      assert.equal(created?.dataPoints[0]?.value, 1)
    })

    it('keeps the events as they are: same payloads, whether or not a provider is registered', async () => {
      const handler = session({ secret: SECRET, store: memoryStore() })
      const seen = recordEvents(handler, ['created', 'rejected'])
      const server = await tracedApp(
        () => handler,
        (app) => app.get('/set', (req: Req, res: Res) => {
          req.session.n = 1
          res.send('set')
        }),
      )
      await server.request('/set')
      await server.request('/set', { cookie: 'sid=garbage' })
      assert.equal(seen.created.length, 2)
      for (const payload of seen.created) assert.deepEqual(Object.keys(payload), ['idHash'])
      assert.deepEqual(seen.rejected, [{ reason: 'malformed' }])
    })
  })
})
