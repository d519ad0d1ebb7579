// With @opentelemetry/api installed and no SDK registered, the engine does no telemetry work: no
// instruments, no tracer, no payload built for an event nobody listens to, no wrapper around a store call.
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { Engine } from '../../src/engine/engine.ts'
import { resolvePolicy } from '../../src/options.ts'
import { MemoryStore } from '../../src/stores/memory.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { PostgresStore } from '../../src/stores/postgres.ts'
import { kContractStore, type SessionStore } from '../../src/stores/contract.ts'
import { kStoreKind, storeKindOf } from '../../src/stores/kind.ts'
import { fromCallbackStore } from '../../src/stores/legacy.ts'
import { Store } from '../../src/express-store.ts'
import { loadOpenTelemetryApi } from '../../src/telemetry/api.ts'
import { currentInstruments, currentTracer } from '../../src/telemetry/providers.ts'
import { COUNTED_EVENTS, fixedValue } from '../../src/telemetry/conventions.ts'

const SECRET = 'a telemetry unit test secret of sufficient length'

afterEach(() => {
  metrics.disable()
  trace.disable()
  context.disable()
})

function engine(): Engine {
  return new Engine(resolvePolicy({ secret: SECRET }), new MemoryStore())
}

describe('telemetry with no SDK registered', () => {
  const { api, version } = loadOpenTelemetryApi() ?? assert.fail('@opentelemetry/api is a devDependency')

  it('has no instruments and no tracer, until a provider is registered, and none again once it is removed', () => {
    assert.equal(currentInstruments(api, version), undefined)
    assert.equal(currentTracer(api, version), undefined)
    metrics.setGlobalMeterProvider(new MeterProvider())
    trace.setGlobalTracerProvider(new BasicTracerProvider())
    assert.notEqual(currentInstruments(api, version), undefined)
    assert.notEqual(currentTracer(api, version), undefined)
    metrics.disable()
    trace.disable()
    assert.equal(currentInstruments(api, version), undefined)
    assert.equal(currentTracer(api, version), undefined)
  })

  it('builds no event payload nobody listens to, and builds it once a meter provider is registered', () => {
    const gate = engine()
    let built = 0
    const payload = () => {
      built++
      return { idHash: 'x' }
    }
    gate.emit('created', payload)
    assert.equal(built, 0)
    metrics.setGlobalMeterProvider(new MeterProvider())
    gate.emit('created', payload)
    assert.equal(built, 1)
    // an event no counter counts still costs nothing without listeners
    gate.emit('insecure_transport', payload)
    assert.equal(built, 1)
  })

  it('starts no span around a store call, and starts one once a tracer provider is registered', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    const gate = engine()
    const active: unknown[] = []
    const run = (store: SessionStore) => {
      active.push(trace.getActiveSpan())
      return Promise.resolve(store)
    }
    assert.equal(await gate.call('get', run), gate.store)
    assert.deepEqual(active, [undefined])
    trace.setGlobalTracerProvider(new BasicTracerProvider())
    await gate.call('get', run)
    assert.notEqual(active[1], undefined)
  })
})

describe('loading', () => {
  it('imports only types from @opentelemetry/api: the module itself is loaded at run time, when it is installed', () => {
    const src = join(import.meta.dirname, '../../src')
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'))
    const importers = files.filter((file) => readFileSync(join(src, file), 'utf8').includes('@opentelemetry/'))
    let statements = 0
    for (const file of importers) {
      const source = readFileSync(join(src, file), 'utf8')
      for (const [statement] of source.matchAll(/^(?:import|export)\b[^;'"]*?from\s*['"]@opentelemetry\/[^'"]*['"]/gm)) {
        statements++
        assert.match(statement, /^import type /, `${file}: ${statement}`)
      }
    }
    assert.ok(statements > 0, 'the import statements were found')
  })
})

describe('storeKindOf', () => {
  it('names each built-in store, and any other store `other`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-kind-'))
    const sqlite = new SqliteStore({ path: join(dir, 'kind.db'), pruneInterval: false })
    try {
      assert.equal(storeKindOf(new MemoryStore()), 'memory')
      assert.equal(storeKindOf(sqlite), 'sqlite')
      assert.equal(storeKindOf(new RedisStore({ client: { sendCommand: async () => null } } as never)), 'redis')
      assert.equal(storeKindOf(new PostgresStore({ pool: { query: async () => ({ rows: [] }) }, createTable: false, pruneInterval: false } as never)), 'postgresql')
      assert.equal(storeKindOf(fromCallbackStore(new Store() as never)), 'other')
      assert.equal(storeKindOf({ [kContractStore]: true }), 'other')
    } finally {
      await sqlite.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('never passes on a kind a store made up: a metric attribute takes values from a fixed set only', () => {
    assert.equal(storeKindOf({ [kStoreKind]: 'v1.an-id-or-a-cookie' }), 'other')
    assert.equal(storeKindOf({ [kStoreKind]: 'toString' }), 'other')
    assert.equal(storeKindOf({ [kStoreKind]: 42 }), 'other')
  })
})

describe('event attributes', () => {
  it('take the event field when it is one of the fixed values, else `other`', () => {
    const values = COUNTED_EVENTS.rejected.values as Record<string, true>
    assert.equal(fixedValue(values, 'bad_mac'), 'bad_mac')
    assert.equal(fixedValue(values, 'v1.abc.def'), 'other')
    assert.equal(fixedValue(values, '__proto__'), 'other')
    assert.equal(fixedValue(values, undefined), 'other')
  })
})
