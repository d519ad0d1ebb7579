/**
 * MemoryStore and SqliteStore answer synchronously, and the middleware reads a request's session
 * from them in the same turn as its cookie, and writes a create or an update in the same turn as `res.end`,
 * without a promise (`kSync`). What that must not change: a store whose `get`, `create` or `update` was
 * replaced (a subclass, an instrumentation wrapper) is called through it (a proxy that replaces `get`:
 * see maxStoreCalls in store-error-policy.test.ts), and a call that throws fails the request closed
 * like any store failure.
 */
import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import session, { MemoryStore, type CreateResult, type GetOptions, type NewSession, type SessionPatch, type SessionStore, type StoredSession, type UpdateOptions, type UpdateResult } from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { HOSTS, SECRET, cleanup, cookiePair, recordEvents, serve, track, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const dir = mkdtempSync(join(tmpdir(), 'tessera-sync-read-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

/** `Base` with `get`, `create` and `update` overridden to count their calls, as an app's subclass would. */
function counting<B extends new (...args: any[]) => SessionStore>(Base: B) {
  return class Counting extends Base implements Counted {
    gets = 0
    creates = 0
    updates = 0
    override async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
      this.gets++
      return super.get(id, options)
    }
    override async create(id: string, session: NewSession): Promise<CreateResult> {
      this.creates++
      return super.create(id, session)
    }
    override async update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult> {
      this.updates++
      return super.update(id, patch, expiresAt, options)
    }
  }
}

const CountingMemoryStore = counting(MemoryStore)
const CountingSqliteStore = counting(SqliteStore)

/** An instance whose `get`, `create` and `update` an app's instrumentation replaced; counts their calls. */
function instrumented<S extends SessionStore>(store: S): S & Counted {
  const counted = store as S & Counted
  const get = store.get.bind(store)
  const create = store.create.bind(store)
  const update = store.update.bind(store)
  counted.gets = 0
  counted.creates = 0
  counted.updates = 0
  counted.create = (id, session) => {
    counted.creates++
    return create(id, session)
  }
  counted.get = (id, options) => {
    counted.gets++
    return get(id, options)
  }
  counted.update = (id, patch, expiresAt, options) => {
    counted.updates++
    return update(id, patch, expiresAt, options)
  }
  return counted
}

interface Counted {
  gets: number
  creates: number
  updates: number
}

const sqlitePath = () => join(dir, `sync-${files++}.db`)

const REPLACED: Array<{ name: string; make: () => SessionStore & Counted }> = [
  { name: 'a MemoryStore subclass that overrides them', make: () => new CountingMemoryStore() },
  { name: 'a MemoryStore whose get, create and update an instrumentation replaced', make: () => instrumented(new MemoryStore()) },
  { name: 'a SqliteStore subclass that overrides them', make: () => track(new CountingSqliteStore({ path: sqlitePath(), pruneInterval: false })) },
  { name: 'a SqliteStore whose get, create and update an instrumentation replaced', make: () => instrumented(track(new SqliteStore({ path: sqlitePath(), pruneInterval: false }))) },
]

async function loginApp(host: (typeof HOSTS)[number], store: SessionStore) {
  const middleware = session({ secret: SECRET, store })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
    app.get('/rename', (req: Req, res: Res) => {
      req.session.user = 'bob'
      res.send('renamed')
    })
    app.get('/close-and-rename', (req: Req, res: Res, next: (err?: unknown) => void) => {
      req.session.user = 'bob'
      ;(store as SqliteStore).close().then(() => res.send('renamed'), next)
    })
  })
  return { server, middleware }
}

/** A store call that threw failed the request closed: 503 with the store's error, no cookie, one store_error event for `operation`. */
function assertFailedClosed(reply: { status: number; cookies: unknown[] }, seen: { server: { errors: any[] }; events: Record<'store_error', any[]>; operation: string }): void {
  assert.equal(reply.status, 503)
  assert.deepEqual(reply.cookies, [])
  assert.equal(seen.server.errors[0]?.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
  assert.deepEqual(
    seen.events.store_error.map((e) => e.operation),
    [seen.operation],
  )
}

describe('a synchronous store', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const { name, make } of REPLACED) {
        it(`read, create and update go through ${name}`, async () => {
          const store = make()
          const { server } = await loginApp(host, store)
          const cookie = cookiePair(await server.request('/login'))
          assert.equal(store.creates, 1)
          const before = store.gets
          assert.equal((await server.request('/me', { cookie })).body, 'ann')
          assert.equal(store.gets, before + 1)
          assert.equal((await server.request('/rename', { cookie })).body, 'renamed')
          assert.equal(store.updates, 1)
          assert.equal((await server.request('/me', { cookie })).body, 'bob')
        })
      }

      it('read that throws fails the request closed: 503, a store_error event, no cookie', async () => {
        const store = track(new SqliteStore({ path: sqlitePath(), pruneInterval: false }))
        const { server, middleware } = await loginApp(host, store)
        const events = recordEvents(middleware, ['store_error'])
        const cookie = cookiePair(await server.request('/login'))
        await store.close()
        assertFailedClosed(await server.request('/me', { cookie }), { server, events, operation: 'get' })
      })
    })
  }

  for (const host of HOSTS) {
    it(`${host.name}: an update that throws fails the request closed: 503, a store_error event, nothing written`, async () => {
      const path = sqlitePath()
      const store = track(new SqliteStore({ path, pruneInterval: false }))
      const { server, middleware } = await loginApp(host, store)
      const events = recordEvents(middleware, ['store_error'])
      const cookie = cookiePair(await server.request('/login'))
      assertFailedClosed(await server.request('/close-and-rename', { cookie }), { server, events, operation: 'update' })
      const reopened = track(new SqliteStore({ path, pruneInterval: false }))
      const { server: again } = await loginApp(host, reopened)
      assert.equal((await again.request('/me', { cookie })).body, 'ann')
    })
  }

  it('MemoryStore: the request goes on before the middleware returns', async () => {
    const middleware = session({ secret: SECRET, store: new MemoryStore() })
    const order: string[] = []
    const server = await serve(HOSTS[0] as (typeof HOSTS)[number], (app) => {
      app.use((req: Req, res: Res, next: (err?: unknown) => void) => {
        middleware(req, res, next)
        order.push('returned')
      })
      app.get('/login', (req: Req, res: Res) => {
        req.session.user = 'ann'
        res.send('in')
      })
      app.get('/me', (req: Req, res: Res) => {
        order.push('handler')
        res.send(String(req.session.user))
      })
    })
    const cookie = cookiePair(await server.request('/login'))
    order.length = 0
    assert.equal((await server.request('/me', { cookie })).body, 'ann')
    assert.deepEqual(order, ['handler', 'returned'])
  })
})
