import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseSync } from 'node:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { runConformance, newId } from './conformance.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let counter = 0
const files = new WeakMap<SessionStore, string>()
/** A second connection to the same file, holding the write lock: the store's statements time out. */
const lockers = new WeakMap<SessionStore, DatabaseSync>()

runConformance('sqlite', {
  make: () => {
    const path = join(dir, `store-${counter++}.db`)
    const store = new SqliteStore({ path, busyTimeout: 100, pruneInterval: false })
    files.set(store, path)
    return store
  },
  dispose: async (store) => {
    await store.close?.()
    const path = files.get(store) as string
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  },
  corrupt: async (store, id) => {
    const db = new DatabaseSync(files.get(store) as string)
    db.prepare('UPDATE sessions SET data = ? WHERE id = ?').run('{"user": "ann"', id)
    db.close()
  },
  outage: {
    cut: async (store) => {
      const db = new DatabaseSync(files.get(store) as string)
      db.exec('BEGIN EXCLUSIVE')
      lockers.set(store, db)
    },
    restore: async (store) => {
      const db = lockers.get(store) as DatabaseSync
      db.exec('ROLLBACK')
      db.close()
    },
  },
})

describe('SqliteStore', () => {
  it('keeps sessions across a restart of the store (the file persists)', async () => {
    const path = join(dir, 'restart.db')
    const first = new SqliteStore({ path, pruneInterval: false })
    const id = newId()
    await first.create(id, { data: { user: 'ann' }, meta: null, userId: null, expiresAt: Date.now() + 60_000 })
    await first.close()
    const second = new SqliteStore({ path, pruneInterval: false })
    assert.equal((await second.get(id))?.data.user, 'ann')
    await second.close()
  })

  it('uses the WAL journal', async () => {
    const path = join(dir, 'wal.db')
    const store = new SqliteStore({ path, pruneInterval: false })
    const db = new DatabaseSync(path)
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal')
    db.close()
    await store.close()
  })

  it('applies patches inside SQLite, so two connections writing different keys both keep theirs', async () => {
    const path = join(dir, 'two-writers.db')
    const a = new SqliteStore({ path, pruneInterval: false })
    const b = new SqliteStore({ path, pruneInterval: false })
    const id = newId()
    await a.create(id, { data: { base: 1 }, meta: null, userId: null, expiresAt: Date.now() + 60_000 })
    const patch = (set: Record<string, unknown>) => ({ set, unset: [], whole: set })
    assert.equal(await a.update(id, patch({ fromA: 1 }), Date.now() + 60_000), 'ok')
    assert.equal(await b.update(id, patch({ fromB: 2 }), Date.now() + 60_000), 'ok')
    assert.deepEqual({ ...(await a.get(id))?.data }, { base: 1, fromA: 1, fromB: 2 })
    await a.close()
    await b.close()
  })

  it('handles keys that need escaping in a JSON path', async () => {
    const store = new SqliteStore({ path: ':memory:', pruneInterval: false })
    const id = newId()
    await store.create(id, { data: {}, meta: null, userId: null, expiresAt: Date.now() + 60_000 })
    const keys = ['a.b', 'a"b', 'a\\b', '$', '', '\n', 'x[0]', 'é ☃']
    const set = Object.fromEntries(keys.map((k, i) => [k, i]))
    assert.equal(await store.update(id, { set, unset: [], whole: set }, Date.now() + 60_000), 'ok')
    assert.deepEqual({ ...(await store.get(id))?.data }, set)
    assert.equal(await store.update(id, { set: {}, unset: keys, whole: {} }, Date.now() + 60_000), 'ok')
    assert.deepEqual({ ...(await store.get(id))?.data }, {})
    // SQLite cannot address a key with U+0000: refused as data (not a store failure), nothing written
    await assert.rejects(store.update(id, { set: { 'a\u0000': 1 }, unset: [], whole: {} }, Date.now() + 60_000), {
      code: 'ERR_TESSERA_SESSION_DATA',
    })
    assert.deepEqual({ ...(await store.get(id))?.data }, {})
    await store.close()
  })

  it('prunes in batches and removes every expired row', async () => {
    const store = new SqliteStore({ path: ':memory:', pruneInterval: false, pruneBatch: 100 })
    for (let i = 0; i < 450; i++) {
      await store.create(newId(), { data: { i }, meta: null, userId: null, expiresAt: Date.now() - 1 + (i < 350 ? 0 : 3_600_000) })
    }
    assert.equal(await store.prune(), 350)
    assert.equal(await store.prune(), 0)
    await store.close()
  })

  it('prunes 100 rows per statement by default, and lets the event loop run between statements', async () => {
    const database = new DatabaseSync(':memory:')
    const store = new SqliteStore({ database, pruneInterval: false })
    for (let i = 0; i < 250; i++) await store.create(newId(), { data: { i }, meta: null, userId: null, expiresAt: Date.now() - 1 })
    const count = () => (database.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n
    const pruning = store.prune()
    // the first batch ran before prune() returned; the next waits for the event loop
    assert.equal(count(), 150)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(count(), 50)
    assert.equal(await pruning, 250)
    assert.equal(count(), 0)
    await store.close()
    database.close()
  })

  it('lists, counts and clears live sessions (express-session\'s optional all/length/clear)', async () => {
    const store = new SqliteStore({ path: ':memory:', pruneInterval: false })
    const live = newId()
    await store.create(live, { data: { user: 'ann' }, meta: null, userId: null, expiresAt: Date.now() + 60_000 })
    await store.create(newId(), { data: { user: 'old' }, meta: null, userId: null, expiresAt: Date.now() - 1 })
    assert.deepEqual((await store.all()).map(([id, s]) => [id, s.data.user]), [[live, 'ann']])
    assert.equal(await store.length(), 1)
    await store.clear()
    assert.equal(await store.length(), 0)
    await store.close()
  })

  it('rejects a bad table name at construction', () => {
    assert.throws(() => new SqliteStore({ path: ':memory:', tableName: 'x; DROP TABLE y' }), { code: 'ERR_TESSERA_INVALID_OPTION' })
  })
})
