import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseSync } from 'node:sqlite'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { SCHEMA } from '../../src/stores/sqlite/statements.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { runConformance, newId } from './conformance.ts'
import { nestedArray } from '../support/unstorable.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let counter = 0
const files = new WeakMap<SessionStore, string>()
/** A second connection to the same file, holding the write lock: the store's statements time out. */
const lockers = new WeakMap<SessionStore, DatabaseSync>()

runConformance('sqlite', {
  keepsExpiry: true,
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
  writeMeta: async (store, id, json) => {
    const db = new DatabaseSync(files.get(store) as string)
    db.prepare('UPDATE sessions SET meta = ? WHERE id = ?').run(json, id)
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

  it('writes one page to the WAL for an update that keeps the expiry, and the expiry index as well for one that moves it', async () => {
    const path = join(dir, 'keep-expiry.db')
    const store = new SqliteStore({ path, pruneInterval: false })
    const expiresAt = Date.now() + 60_000
    const ids = Array.from({ length: 200 }, () => newId())
    for (const id of ids) await store.create(id, { data: { user: 'ann' }, meta: null, userId: null, expiresAt })
    const db = new DatabaseSync(path)
    /** WAL frames (pages) one update of `id` appends, counted from an emptied WAL. */
    const pagesOf = async (id: string, keepExpiry: boolean) => {
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      assert.equal(await store.update(id, { set: { n: 1 }, unset: [], whole: {}, keepExpiry }, expiresAt + 1_000), 'ok')
      return (db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }).log
    }
    assert.equal(await pagesOf(ids[50] as string, true), 1)
    assert.ok((await pagesOf(ids[150] as string, false)) > 1)
    db.close()
    await store.close()
  })

  it('creates a new file with 1 KiB pages (cheaper commits); a file written with other pages opens, reads and writes as it is', async () => {
    const pageSize = (path: string) => {
      const db = new DatabaseSync(path)
      const size = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size
      db.close()
      return size
    }
    const fresh = join(dir, 'pages-new.db')
    await new SqliteStore({ path: fresh, pruneInterval: false }).close()
    assert.equal(pageSize(fresh), 1024)
    // a file as the previous version left it: SQLite's default 4 KiB pages, one session in format 2
    const old = join(dir, 'pages-old.db')
    const legacy = new DatabaseSync(old)
    legacy.exec('PRAGMA journal_mode = WAL')
    legacy.exec(SCHEMA('sessions'))
    const id = newId()
    legacy.prepare('INSERT INTO sessions (id, data, meta, user_id, expires_at) VALUES (?, ?, NULL, NULL, ?)').run(id, '[2,{"user":"\\"ann\\""}]', Date.now() + 60_000)
    legacy.close()
    const store = new SqliteStore({ path: old, pruneInterval: false })
    assert.equal((await store.get(id))?.data.user, 'ann')
    assert.equal(await store.update(id, { set: { n: 1 }, unset: [], whole: { user: 'ann', n: 1 } }, Date.now() + 60_000), 'ok')
    assert.deepEqual({ ...(await store.get(id))?.data }, { user: 'ann', n: 1 })
    await store.close()
    assert.equal(pageSize(old), 4096)
  })

  it('leaves the page size of a database the application owns', async () => {
    const path = join(dir, 'pages-owned.db')
    const db = new DatabaseSync(path)
    const store = new SqliteStore({ database: db, pruneInterval: false })
    assert.equal((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size, 4096)
    await store.close()
    db.close()
  })

  it('sets synchronous = NORMAL in its constructor only: an app that wants FULL on its own database sets it after (docs/stores/sqlite.md, Durability)', async () => {
    const db = new DatabaseSync(join(dir, 'synchronous.db'))
    const store = new SqliteStore({ database: db, pruneInterval: false })
    const level = () => (db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous
    assert.equal(level(), 1)
    db.exec('PRAGMA synchronous = FULL')
    const id = newId()
    await store.create(id, { data: { n: 1 }, meta: null, userId: null, expiresAt: Date.now() + 60_000 })
    assert.equal(await store.update(id, { set: { n: 2 }, unset: [], whole: { n: 2 } }, Date.now() + 60_000), 'ok')
    assert.equal(level(), 2)
    await store.close()
    db.close()
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

  describe('stored format', () => {
    const patch = (set: Record<string, unknown>, unset: string[] = [], extra: Record<string, unknown> = {}) => ({ set, unset, whole: set, ...extra })
    const soon = () => Date.now() + 60_000

    it('keeps each value as its JSON text: SQLite\'s JSON functions never parse the values', async () => {
      const database = new DatabaseSync(':memory:')
      const store = new SqliteStore({ database, pruneInterval: false })
      const id = newId()
      await store.create(id, { data: { deep: nestedArray(1500) }, meta: null, userId: null, expiresAt: soon() })
      assert.equal(await store.update(id, patch({ deeper: nestedArray(2000), o: { z: 1, a: 2 } }), soon()), 'ok')
      const row = database.prepare('SELECT json_type(data) AS type, data ->> \'$[0]\' AS format, data ->> \'$[1].o\' AS o FROM sessions WHERE id = ?').get(id)
      assert.deepEqual({ ...row }, { type: 'array', format: 2, o: '{"z":1,"a":2}' })
      await store.close()
      database.close()
    })

    // the data object itself, as the store wrote it before
    const PREVIOUS = '{"user":"ann","n":0.30000000000000004,"big":12345678901234568,"e":1e+21,"o":{"z":1,"a":[1,{"b":null}]},"t":true,"f":false,"nil":null,"s":"é ☃ \\u0000","a\\"b":1}'
    const updates: Array<[string, (store: SqliteStore, id: string) => Promise<unknown>, Record<string, unknown>]> = [
      ['a field-level update', (store, id) => store.update(id, patch({ added: 1 }, ['t']), soon()), { added: 1, t: undefined }],
      ['an update with expectVersion', (store, id) => store.update(id, patch({ added: 1 }), soon(), { expectVersion: 1 }), { added: 1 }],
      ['a metadata-only update', (store, id) => store.update(id, patch({}, [], { meta: { createdAt: 1, absoluteExpiresAt: soon(), idleTimeout: 1 } }), soon()), {}],
      ['a whole-object update (replace)', (store, id) => store.update(id, patch({ only: [1] }, [], { replace: true }), soon()), { only: [1] }],
    ]
    for (const [what, update, change] of updates) {
      it(`reads a row of the previous format, and ${what} rewrites it in the current one, every value unchanged`, async () => {
        const database = new DatabaseSync(':memory:')
        const store = new SqliteStore({ database, pruneInterval: false })
        const id = newId()
        await store.create(id, { data: {}, meta: null, userId: null, expiresAt: soon() })
        database.prepare('UPDATE sessions SET data = ? WHERE id = ?').run(PREVIOUS, id)
        const before = { ...(await store.get(id))?.data }
        assert.deepEqual(before, JSON.parse(PREVIOUS))
        assert.equal(await update(store, id), 'ok')
        const expected: Record<string, unknown> = 'only' in change ? { ...change } : { ...before, ...change }
        for (const key of Object.keys(expected)) if (expected[key] === undefined) delete expected[key]
        assert.equal(JSON.stringify({ ...(await store.get(id))?.data }), JSON.stringify(expected))
        assert.equal((database.prepare('SELECT json_type(data) AS type FROM sessions WHERE id = ?').get(id) as { type: string }).type, 'array')
        await store.close()
        database.close()
      })
    }

    it('a row SQLite cannot parse fails an update with SessionDataError (one record\'s data), not an outage', async () => {
      const database = new DatabaseSync(':memory:')
      const store = new SqliteStore({ database, pruneInterval: false })
      for (const corrupt of ['{"user": "ann"', '[2, {"user": ']) {
        const id = newId()
        await store.create(id, { data: {}, meta: null, userId: null, expiresAt: soon() })
        database.prepare('UPDATE sessions SET data = ? WHERE id = ?').run(corrupt, id)
        await assert.rejects(store.update(id, patch({ n: 1 }), soon()), { code: 'ERR_TESSERA_SESSION_DATA' })
      }
      await store.close()
      database.close()
    })
  })

  it('rejects a bad table name at construction', () => {
    assert.throws(() => new SqliteStore({ path: ':memory:', tableName: 'x; DROP TABLE y' }), { code: 'ERR_TESSERA_INVALID_OPTION' })
  })

  it('rejects numeric options out of range at construction, each named', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['tombstoneTtl', { tombstoneTtl: 0 }],
      ['pruneBatch', { pruneBatch: 1.5 }],
      ['busyTimeout', { busyTimeout: -1 }],
      ['pruneInterval', { pruneInterval: 0 }],
      // past what a timer keeps, Node would prune every millisecond
      ['pruneInterval', { pruneInterval: 2 ** 31 }],
    ]
    for (const [option, extra] of cases) {
      assert.throws(() => new SqliteStore({ path: ':memory:', ...extra }), { code: 'ERR_TESSERA_INVALID_OPTION', option }, JSON.stringify(extra))
    }
  })
})

describe('SqliteStore opened by several processes at once', () => {
  // a cluster's workers starting together on a new file race to switch it to WAL and create the table;
  // SQLite may answer BUSY there without waiting, which must not make a worker fail to start
  it('opens in every process, each time (6 processes at once, 5 new files)', async () => {
    const storeModule = new URL('../../src/stores/sqlite.ts', import.meta.url).href
    const opener = `import { SqliteStore } from ${JSON.stringify(storeModule)}\nconst store = new SqliteStore({ path: process.argv[1], pruneInterval: false })\nstore.close()\n`
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `together-${round}.db`)
      const exits = await Promise.all(
        Array.from({ length: 6 }, () => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', opener, path], { stdio: ['ignore', 'ignore', 'pipe'] })
          let stderr = ''
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
          return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })))
        }),
      )
      for (const exit of exits) assert.equal(exit.code, 0, exit.stderr)
    }
  })
})

describe('SqliteStore reads', () => {
  it('reads without writing when the slide is not due: another process holding the write lock does not hold up the read', async () => {
    const path = join(dir, 'read-under-lock.db')
    const store = new SqliteStore({ path, busyTimeout: 100, pruneInterval: false })
    const id = newId()
    const now = Date.now()
    await store.create(id, { data: { user: 'ann' }, meta: null, userId: null, expiresAt: now + 60_000 })
    const locker = new DatabaseSync(path)
    locker.exec('BEGIN IMMEDIATE')
    try {
      // expiry at now + 60 s, threshold now + 50 s: not due, so a read that ran the slide's UPDATE would wait and fail
      const got = await store.get(id, { slideTo: now + 70_000, slideIfBefore: now + 50_000 })
      assert.equal(got?.data.user, 'ann')
      // due: the slide needs the lock, which the other process holds
      await assert.rejects(store.get(id, { slideTo: now + 70_000, slideIfBefore: now + 65_000 }), { code: 'ERR_TESSERA_STORE_UNAVAILABLE' })
    } finally {
      locker.exec('ROLLBACK')
      locker.close()
    }
    assert.equal((await store.get(id, { slideTo: now + 70_000, slideIfBefore: now + 65_000 }))?.expiresAt, now + 60_000)
    assert.equal((await store.get(id))?.expiresAt, now + 70_000)
    await store.close()
  })
})
