import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createConnection, type Socket } from 'node:net'
import { createClient, createCluster } from 'redis'
import { Cluster, Redis } from 'ioredis'
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts'
import type { SessionMeta, SessionStore } from '../../src/stores/contract.ts'
import { InvalidOptionError, SessionDataError, StoreReplicationError, StoreUnavailableError } from '../../src/errors.ts'
import { storeKeyOf, taggedStoreKeyOf } from '../../src/engine/engine.ts'
import { SCRIPTS } from '../../src/stores/redis/scripts.ts'
import { newId, runConformance } from './conformance.ts'
import { REDIS_URL, redisSkip, uniqueName } from '../support/services.ts'
import { redisClusterSkip, startRedisCluster } from '../support/redis-cluster.ts'

const HOUR = 3_600_000
const standaloneSkip = await redisSkip()
const clusterSkip = redisClusterSkip()
const cluster = clusterSkip === false ? await startRedisCluster() : undefined
after(() => cluster?.stop())

/** One client of the application's, with what the tests need to do behind the store's back. */
interface Connection {
  readonly client: RedisStoreOptions['client']
  /** One command routed by `key` (to its master on a cluster). */
  command(key: string, args: string[]): Promise<unknown>
  /** Every key matching `pattern`, on every master. */
  keys(pattern: string): Promise<string[]>
  /** Closes the connection; until `restore`, commands reject at once. */
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

interface Driver {
  name: string
  skip: string | false
  cluster: boolean
  connect(): Promise<Connection>
}

async function scanAll(scan: (cursor: string) => Promise<unknown>): Promise<string[]> {
  const found = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = (await scan(cursor)) as [string, string[]]
    for (const key of keys) found.add(String(key))
    cursor = String(next)
  } while (cursor !== '0')
  return [...found]
}

const scanArgs = (cursor: string, pattern: string) => ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000']
const clusterUrls = () => (cluster?.nodes ?? []).map(({ host, port }) => ({ url: `redis://${host}:${port}` }))

function nodeRedis(name: string, RESP: 2 | 3): Driver {
  return {
    name,
    skip: standaloneSkip,
    cluster: false,
    async connect() {
      // without the offline queue, a command on a closed client rejects at once instead of waiting
      const client = createClient({ url: REDIS_URL, disableOfflineQueue: true, RESP })
      client.on('error', () => {})
      await client.connect()
      return {
        client,
        command: (_key, args) => client.sendCommand(args),
        keys: (pattern) => scanAll((cursor) => client.sendCommand(scanArgs(cursor, pattern))),
        cut: async () => client.destroy(),
        restore: async () => {
          if (!client.isOpen) await client.connect()
        },
        close: async () => {
          if (client.isOpen) client.destroy()
        },
      }
    },
  }
}

const drivers: Driver[] = [
  nodeRedis('node-redis', 3),
  // RESP2 answers HGETALL with a flat array where RESP3 answers a map
  nodeRedis('node-redis (RESP2)', 2),
  {
    name: 'node-redis cluster',
    skip: clusterSkip,
    cluster: true,
    async connect() {
      const client = createCluster({ rootNodes: clusterUrls(), defaults: { disableOfflineQueue: true } })
      client.on('error', () => {})
      await client.connect()
      return {
        client,
        command: (key, args) => client.sendCommand(key, false, args),
        keys: async (pattern) => {
          const all = await Promise.all(
            client.masters.map(async (master) => {
              const node = await client.nodeClient(master)
              return scanAll((cursor) => node.sendCommand(scanArgs(cursor, pattern)))
            }),
          )
          return all.flat()
        },
        cut: async () => client.destroy(),
        restore: async () => {
          if (!client.isOpen) await client.connect()
        },
        close: async () => {
          if (client.isOpen) client.destroy()
        },
      }
    },
  },
  {
    name: 'ioredis',
    skip: standaloneSkip,
    cluster: false,
    async connect() {
      const client = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      client.on('error', () => {})
      await client.connect()
      return {
        client,
        command: (_key, [name, ...args]) => client.call(name, ...args),
        keys: (pattern) => scanAll((cursor) => client.call('SCAN', ...scanArgs(cursor, pattern).slice(1))),
        cut: () => disconnected(client),
        restore: async () => {
          if (client.status === 'end') await client.connect()
        },
        close: async () => client.disconnect(),
      }
    },
  },
  {
    name: 'ioredis cluster',
    skip: clusterSkip,
    cluster: true,
    async connect() {
      const client = new Cluster(cluster?.nodes.map(({ host, port }) => ({ host, port })) ?? [], { lazyConnect: true, enableOfflineQueue: false })
      client.on('error', () => {})
      await client.connect()
      return {
        client,
        command: (_key, [name, ...args]) => client.call(name, ...args),
        keys: async (pattern) => {
          const all = await Promise.all(client.nodes('master').map((node) => scanAll((cursor) => node.call('SCAN', ...scanArgs(cursor, pattern).slice(1)))))
          return all.flat()
        },
        cut: () => disconnected(client),
        restore: async () => {
          if (client.status === 'end') await client.connect()
        },
        close: async () => client.disconnect(),
      }
    },
  },
]

/** Closes an ioredis connection for good (no reconnection) and resolves once it is closed. */
async function disconnected(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return
  const ended = once(client, 'end')
  client.disconnect()
  await ended
}

/** The store's key of a session, as the store lays it out (see src/stores/redis.ts). */
function sessionKey(prefix: string, id: string): string {
  return `${prefix}{${id.slice(0, 8)}}${id.slice(8)}`
}

/** The hash tag of a user's index: the first 8 characters of the SHA-256 of the user id. */
function userHash(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, 8)
}

function indexKey(prefix: string, userId: string): string {
  return `${prefix}u:{${userHash(userId)}}${userId}`
}

function memberOf(id: string): string {
  return `{${id.slice(0, 8)}}${id.slice(8)}`
}

function meta(overrides: Partial<SessionMeta> = {}): SessionMeta {
  const now = Date.now()
  return { createdAt: now, absoluteExpiresAt: now + 12 * HOUR, idleTimeout: 1_800_000, ...overrides }
}

for (const driver of drivers) {
  const opened = new Map<SessionStore, { connection: Connection; prefix: string }>()

  async function open(options: Partial<RedisStoreOptions> = {}): Promise<{ store: RedisStore; connection: Connection; prefix: string }> {
    const connection = await driver.connect()
    const prefix = `${uniqueName('tsess')}:`
    const store = new RedisStore({ client: connection.client, prefix, ...options })
    opened.set(store, { connection, prefix })
    return { store, connection, prefix }
  }

  async function dispose(store: SessionStore): Promise<void> {
    const entry = opened.get(store)
    if (entry === undefined) return
    opened.delete(store)
    const { connection, prefix } = entry
    await connection.restore()
    // the prefix comes from uniqueName (letters, digits, _ and :), so it has no glob characters
    for (const key of await connection.keys(`${prefix}*`)) await connection.command(key, ['DEL', key])
    await store.close?.()
    await connection.close()
  }

  function connectionOf(store: SessionStore) {
    const entry = opened.get(store)
    assert.ok(entry, 'store was not opened by this test file')
    return entry
  }

  runConformance(driver.name, {
    skip: driver.skip,
    serverClock: true,
    make: async () => (await open()).store,
    dispose,
    corrupt: async (store, id) => {
      const { connection, prefix } = connectionOf(store)
      const key = sessionKey(prefix, id)
      await connection.command(key, ['HSET', key, 'd:user', '{"unterminated'])
    },
    writeMeta: async (store, id, json) => {
      const { connection, prefix } = connectionOf(store)
      const key = sessionKey(prefix, id)
      await connection.command(key, ['HSET', key, '_m', json])
    },
    outage: {
      cut: (store) => connectionOf(store).connection.cut(),
      restore: (store) => connectionOf(store).connection.restore(),
    },
  })

  describe(`${driver.name} store`, { skip: driver.skip }, () => {
    afterEach(async () => {
      for (const store of [...opened.keys()]) await dispose(store)
    })

    describe('key layout', () => {
      it('stores a signed-in session under a key that holds nothing of its id nor of its user, and its tombstone in the same key', async () => {
        const { store, connection, prefix } = await open()
        // what the engine does: a random id, stored under the SHA-256 of it
        const id = newId()
        const key = storeKeyOf(id)
        assert.equal(await store.create(key, { data: { n: 1 }, meta: meta(), userId: 'ann', expiresAt: Date.now() + HOUR }), 'ok')
        const session = sessionKey(prefix, key)
        const index = indexKey(prefix, 'ann')
        assert.deepEqual((await connection.keys(`${prefix}*`)).sort(), [session, index].sort())
        for (let i = 0; i + 6 <= id.length; i++) assert.ok(!session.includes(id.slice(i, i + 6)), `the session key holds ${id.slice(i, i + 6)} of the id`)
        assert.ok(!session.includes(userHash('ann')) && !session.includes('ann'), 'the session key names its user')
        assert.equal(await connection.command(session, ['TYPE', session]), 'hash')
        assert.deepEqual(await connection.command(index, ['ZRANGE', index, '0', '-1']), [memberOf(key)])
        // destroyed, its key holds its tombstone for a while (one key: every session script stays on one key)
        await store.destroy(key)
        assert.deepEqual(await connection.command(session, ['HKEYS', session]), ['_d'])
        const pttl = Number(await connection.command(session, ['PTTL', session]))
        assert.ok(pttl > 0 && pttl <= 60_000, `tombstone PTTL ${pttl}`)
        assert.equal(await connection.command(index, ['EXISTS', index]), 0, 'the destroyed session left its index')
      })

      it('keeps serving a session an earlier version stored (tagged key, index entry at its expiry, no _x), and revokes it', async () => {
        const { store, connection, prefix } = await open()
        // an id an earlier version's login('ann') issued, and the key it stored it under, laid out as it did
        const id = userHash('ann') + newId()
        const key = taggedStoreKeyOf(id)
        const session = sessionKey(prefix, key)
        const index = indexKey(prefix, 'ann')
        const now = Date.now()
        const expiresAt = now + 10 * 60_000
        const m = meta({ absoluteExpiresAt: now + 3 * HOUR })
        await connection.command(session, ['HSET', session, '_v', '1', '_e', String(expiresAt), '_m', JSON.stringify(m), '_a', String(m.absoluteExpiresAt), '_u', 'ann', 'd:n', '1'])
        await connection.command(session, ['PEXPIREAT', session, String(expiresAt)])
        await connection.command(index, ['ZADD', index, String(expiresAt), memberOf(key)])
        await connection.command(index, ['PEXPIREAT', index, String(expiresAt)])
        if (driver.cluster) assert.equal(await connection.command(session, ['CLUSTER', 'KEYSLOT', session]), await connection.command(index, ['CLUSTER', 'KEYSLOT', index]))

        // a slide past the entry's score raises the entry first, to the absolute deadline
        const got = await store.get(key, { slideTo: now + HOUR, slideIfBefore: now + 50 * 60_000 })
        assert.deepEqual({ ...got?.data }, { n: 1 })
        assert.equal(Number(await connection.command(session, ['PEXPIRETIME', session])), now + HOUR)
        assert.equal(Number(await connection.command(index, ['ZSCORE', index, memberOf(key)])), m.absoluteExpiresAt)
        assert.equal(Number(await connection.command(index, ['PEXPIRETIME', index])), m.absoluteExpiresAt)
        assert.deepEqual((await store.listByUser('ann')).map((s) => s.id), [key])
        assert.equal(await store.destroyByUser('ann'), 1)
        assert.equal(await store.get(key), null)
      })

      it('stores each top-level key as its own d: field and the metadata in _ fields', async () => {
        const { store, connection, prefix } = await open()
        const id = newId()
        const expiresAt = Date.now() + HOUR
        const m = meta()
        assert.equal(await store.create(id, { data: { user: 'ann', cart: [1] }, meta: m, userId: 'u1', expiresAt }), 'ok')
        const key = sessionKey(prefix, id)
        const fields = (await connection.command(key, ['HKEYS', key])) as string[]
        assert.deepEqual([...fields].sort(), ['_a', '_e', '_m', '_t', '_u', '_v', '_x', 'd:cart', 'd:user'])
        const [cart, version, userId] = (await connection.command(key, ['HMGET', key, 'd:cart', '_v', '_u'])) as string[]
        assert.deepEqual([cart, version, userId], ['[1]', '1', 'u1'])
      })
    })

    describe('compact metadata', () => {
      it("keeps a signed-in session's hash a listpack: its metadata field stays under hash-max-listpack-value", async () => {
        const { store, connection, prefix } = await open()
        const id = storeKeyOf(newId())
        const now = Date.now()
        const m: SessionMeta = { createdAt: now, absoluteExpiresAt: now + 12 * HOUR, idleTimeout: 30 * 60_000, authTime: now }
        const data = { user: 'user-000001', roles: ['member'], csrf: 'x'.repeat(22) }
        assert.equal(await store.create(id, { data, meta: m, userId: 'user-000001', expiresAt: now + HOUR }), 'ok')
        const key = sessionKey(prefix, id)
        const text = String(await connection.command(key, ['HGET', key, '_m']))
        assert.ok(text.length <= 64, `_m is ${text.length} bytes: ${text}`)
        if (!driver.cluster) assert.equal(await connection.command(key, ['OBJECT', 'ENCODING', key]), 'listpack')
        assert.deepEqual((await store.get(id))?.meta, m)
        assert.deepEqual((await store.listByUser('user-000001'))[0]?.meta, m)
      })

      it('reads metadata an earlier version wrote with full field names, and keeps fields it does not know', async () => {
        const { store, connection, prefix } = await open()
        const id = newId()
        const now = Date.now()
        assert.equal(await store.create(id, { data: { n: 1 }, meta: meta(), userId: null, expiresAt: now + HOUR }), 'ok')
        const key = sessionKey(prefix, id)
        const old = { createdAt: now - 5, absoluteExpiresAt: now + HOUR, idleTimeout: HOUR, client: 'Firefox on Linux', cookieMaxAge: null, renewedAt: now - 1 }
        await connection.command(key, ['HSET', key, '_m', JSON.stringify(old)])
        assert.deepEqual((await store.get(id))?.meta, old)
        const later = { ...old, binding: 'b'.repeat(43), retiredAt: now, futureField: [1] } as SessionMeta
        assert.equal(await store.update(id, { set: {}, unset: [], meta: later, whole: {} }, now + HOUR), 'ok')
        assert.deepEqual((await store.get(id))?.meta, later)
      })
    })

    describe('round trips', () => {
      it('sends one command per operation, one more where a signed-in session and its index are two slots (counted by the server, with MONITOR)', async () => {
        const { store, prefix } = await open()
        const nodes = driver.cluster ? (cluster?.nodes ?? []) : [redisNode()]
        // every node knows every script, so that no EVALSHA meets NOSCRIPT wherever its keys hash
        for (const node of nodes) for (const { source } of Object.values(SCRIPTS)) await driverlessCommand(node, ['SCRIPT', 'LOAD', source])
        const monitor = await monitorCommands(nodes, prefix)
        try {
          // the first use of a script by a store sends it whole (EVAL); count the steady state
          await operations(store, 'warm')
          const counted: Record<string, string[]> = {}
          await operations(store, 'counted', async (name, operation) => {
            counted[name] = (await monitor.commands(operation)).sort()
          })
          // on a cluster the index is in another slot: registered in before a create or a change of owner
          const owned = driver.cluster ? ['evalsha', 'evalsha'] : ['evalsha']
          assert.deepEqual(counted, {
            create: owned,
            get: ['hgetall'],
            'get with a slide due': ['evalsha'],
            'get with a slide not due': ['evalsha'],
            update: ['evalsha'],
            'update that re-sets the owner': owned,
            touch: ['evalsha'],
            // the index, then each session's owner and expiry, all at once
            listByUser: ['evalsha', 'hmget', 'hmget', 'hmget'],
            // the session, then its entry in the index
            destroy: ['evalsha', 'evalsha'],
            // read the index, destroy b (a is spared, c is gone), drop b from the index
            destroyByUser: ['evalsha', 'evalsha', 'evalsha'],
          })
        } finally {
          await monitor.close()
        }
      })
    })

    describe('metadata fields', () => {
      it('cannot collide with data keys named like them', async () => {
        const { store } = await open()
        const id = newId()
        const data = { _v: 'v', _e: 'e', _m: { m: 1 }, _u: 'u', _a: 0, _t: null, 'd:x': 1, 'd:': 2, '': 3, d: 4 }
        const m = meta()
        assert.equal(await store.create(id, { data, meta: m, userId: 'owner', expiresAt: Date.now() + HOUR }), 'ok')
        let got = await store.get(id)
        assert.ok(got)
        assert.deepEqual({ ...got.data }, data)
        assert.deepEqual([got.version, got.userId, got.meta], [1, 'owner', m])
        assert.equal(await store.update(id, { set: { _v: 'w' }, unset: ['_e', '_m'], whole: {} }, Date.now() + HOUR), 'ok')
        assert.equal(await store.update(id, { set: { _u: 'x' }, unset: [], replace: true, whole: {} }, Date.now() + HOUR), 'ok')
        got = await store.get(id)
        assert.deepEqual({ ...got?.data }, { _u: 'x' })
        assert.deepEqual([got?.version, got?.userId, got?.meta], [3, 'owner', m])
      })

      it('rejects a record without version or expiry with SessionDataError', async () => {
        const { store, connection, prefix } = await open()
        const id = newId()
        await store.create(id, { data: { n: 1 }, meta: null, userId: null, expiresAt: Date.now() + HOUR })
        const key = sessionKey(prefix, id)
        await connection.command(key, ['HDEL', key, '_v'])
        await assert.rejects(store.get(id), SessionDataError)
        await assert.rejects(store.get(id, { slideTo: Date.now() + 2 * HOUR }), SessionDataError)
      })
    })

    describe('expiry', () => {
      it('sets the key TTL to expiresAt, follows updates, slides and touches, and caps slides at the absolute deadline', async () => {
        const { store, connection, prefix } = await open()
        const id = newId()
        const key = sessionKey(prefix, id)
        const expiryOf = async () => Number(await connection.command(key, ['PEXPIRETIME', key]))
        const now = Date.now()
        const absolute = now + 3 * HOUR
        await store.create(id, { data: { n: 1 }, meta: meta({ absoluteExpiresAt: absolute }), userId: null, expiresAt: now + HOUR })
        assert.equal(await expiryOf(), now + HOUR)
        const pttl = Number(await connection.command(key, ['PTTL', key]))
        assert.ok(Math.abs(pttl - HOUR) < 1_000, `PTTL ${pttl}`)
        await store.update(id, { set: { n: 2 }, unset: [], whole: {} }, now + 2 * HOUR)
        assert.equal(await expiryOf(), now + 2 * HOUR)
        await store.touch(id, now + 90 * 60_000)
        assert.equal(await expiryOf(), now + 90 * 60_000)
        await store.get(id, { slideTo: now + 10 * HOUR })
        assert.equal(await expiryOf(), absolute)
        assert.equal((await store.get(id))?.expiresAt, absolute)
      })

      it("keeps a session's index entry at the latest expiry it may reach, raises it before an expiry goes past it, and drops dead entries", async () => {
        const { store, connection, prefix } = await open()
        const index = indexKey(prefix, 'ann')
        const scoreOf = async (id: string) => Number(await connection.command(index, ['ZSCORE', index, memberOf(id)]))
        const indexExpiry = async () => Number(await connection.command(index, ['PEXPIRETIME', index]))
        const sessionExpiry = async (id: string) => Number(await connection.command(sessionKey(prefix, id), ['PEXPIRETIME', sessionKey(prefix, id)]))
        const now = Date.now()
        // with an absolute deadline: the entry covers it from the start, and the expiry never goes past it
        const a = newId()
        await store.create(a, { data: {}, meta: meta({ absoluteExpiresAt: now + 3 * HOUR }), userId: 'ann', expiresAt: now + HOUR })
        assert.equal(await scoreOf(a), now + 3 * HOUR)
        assert.equal(await indexExpiry(), now + 3 * HOUR)
        await store.touch(a, now + 2 * HOUR)
        assert.equal(await scoreOf(a), now + 3 * HOUR)
        // without one: each write past the entry raises it first
        const b = newId()
        await store.create(b, { data: {}, meta: null, userId: 'ann', expiresAt: now + HOUR })
        assert.equal(await scoreOf(b), now + HOUR)
        await store.touch(b, now + 4 * HOUR)
        assert.deepEqual([await scoreOf(b), await sessionExpiry(b), await indexExpiry()], [now + 4 * HOUR, now + 4 * HOUR, now + 4 * HOUR])
        await store.get(b, { slideTo: now + 5 * HOUR })
        assert.deepEqual([await scoreOf(b), await sessionExpiry(b)], [now + 5 * HOUR, now + 5 * HOUR])
        assert.equal(await store.update(b, { set: { n: 1 }, unset: [], whole: {} }, now + 6 * HOUR), 'ok')
        assert.deepEqual([await scoreOf(b), await sessionExpiry(b)], [now + 6 * HOUR, now + 6 * HOUR])
        // a destroyed session leaves; the index expires with its latest entry
        await store.destroy(b)
        assert.equal(await connection.command(index, ['ZCARD', index]), 1)
        assert.equal(await indexExpiry(), now + 3 * HOUR)
        // an entry whose score has passed goes with the next write to the index
        const c = newId()
        await store.create(c, { data: {}, meta: null, userId: 'ann', expiresAt: Date.now() + 200 })
        await new Promise((resolve) => setTimeout(resolve, 300))
        await store.create(newId(), { data: {}, meta: null, userId: 'ann', expiresAt: now + HOUR })
        assert.equal(await connection.command(index, ['ZSCORE', index, memberOf(c)]), null)
        assert.equal(await connection.command(index, ['ZCARD', index]), 2)
      })
    })

    describe('writes', () => {
      it('serializes the values when called, not when the command is sent', async () => {
        const { store } = await open()
        const id = newId()
        const cart = [1]
        const pending = store.create(id, { data: { cart }, meta: null, userId: null, expiresAt: Date.now() + HOUR })
        cart.push(2)
        assert.equal(await pending, 'ok')
        const set = { cart }
        const update = store.update(id, { set, unset: [], whole: set }, Date.now() + HOUR)
        cart.push(3)
        assert.equal(await update, 'ok')
        assert.deepEqual((await store.get(id))?.data.cart, [1, 2])
      })

      it('moves a session between user indexes when its owner changes, and clears it', async () => {
        const { store } = await open()
        const id = newId()
        await store.create(id, { data: {}, meta: null, userId: 'ann', expiresAt: Date.now() + HOUR })
        await store.update(id, { set: {}, unset: [], userId: 'bob', whole: {} }, Date.now() + HOUR)
        assert.deepEqual(await store.listByUser('ann'), [])
        assert.deepEqual((await store.listByUser('bob')).map((s) => s.id), [id])
        await store.update(id, { set: {}, unset: [], userId: null, whole: {} }, Date.now() + HOUR)
        assert.deepEqual(await store.listByUser('bob'), [])
        assert.equal((await store.get(id))?.userId, null)
      })
    })

    describe('waitForReplicas', () => {
      it('fails a destroy and a revocation closed with StoreReplicationError when too few replicas acknowledge (these servers have none)', async () => {
        const { store } = await open({ waitForReplicas: { replicas: 1, timeout: 20 } })
        const [a, b] = [newId(), newId()]
        for (const id of [a, b]) await store.create(id, { data: {}, meta: meta(), userId: 'ann', expiresAt: Date.now() + HOUR })
        const refused = (err: unknown) => {
          assert.ok(err instanceof StoreReplicationError)
          assert.equal(err.code, 'ERR_TESSERA_STORE_REPLICATION')
          assert.equal(err.status, 503)
          assert.deepEqual([err.acknowledged, err.required], [0, 1])
          return true
        }
        await assert.rejects(store.destroy(a), refused)
        await assert.rejects(store.destroyByUser('ann'), refused)
        // gone from the primary all the same: only their durability is in doubt
        assert.equal(await store.get(a), null)
        assert.equal(await store.get(b), null)
        // writes that end no session do not wait
        const c = newId()
        assert.equal(await store.create(c, { data: {}, meta: meta(), userId: 'ann', expiresAt: Date.now() + HOUR }), 'ok')
        assert.equal(await store.update(c, { set: { n: 1 }, unset: [], whole: {} }, Date.now() + HOUR), 'ok')
      })
    })

    describe('failures', () => {
      it('wraps driver errors once in StoreUnavailableError, with the cause', async () => {
        const { store, connection } = await open()
        const id = newId()
        await store.create(id, { data: {}, meta: null, userId: null, expiresAt: Date.now() + HOUR })
        await connection.cut()
        try {
          for (const attempt of [store.get(id), store.get(id, { slideTo: Date.now() + 2 * HOUR }), store.touch(id, Date.now() + HOUR), store.destroy(id), store.listByUser('ann')]) {
            await assert.rejects(attempt, (err: unknown) => {
              assert.ok(err instanceof StoreUnavailableError)
              assert.equal(err.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
              assert.ok(err.cause instanceof Error && !(err.cause instanceof StoreUnavailableError))
              return true
            })
          }
        } finally {
          await connection.restore()
        }
        assert.ok(await store.get(id))
      })

      it('re-sends a script the server forgot (NOSCRIPT after SCRIPT FLUSH)', { skip: !driver.cluster && 'flushes scripts: run on the private cluster only' }, async () => {
        const { store, connection, prefix } = await open()
        const id = newId()
        await store.create(id, { data: { n: 1 }, meta: null, userId: null, expiresAt: Date.now() + HOUR })
        await store.update(id, { set: { n: 2 }, unset: [], whole: {} }, Date.now() + HOUR)
        for (const node of cluster?.nodes ?? []) {
          const flush = await driverlessCommand(node, ['SCRIPT', 'FLUSH'])
          assert.equal(flush, 'OK')
        }
        assert.equal(await store.update(id, { set: { n: 3 }, unset: [], whole: {} }, Date.now() + HOUR), 'ok')
        assert.equal((await store.get(id, { slideTo: Date.now() + 2 * HOUR }))?.data.n, 3)
        assert.ok(await connection.command(sessionKey(prefix, id), ['EXISTS', sessionKey(prefix, id)]))
      })
    })
  })
}

/** Every contract operation once, on sessions of user `user`. */
async function operations(store: RedisStore, user: string, measure = async (_name: string, operation: () => Promise<unknown>) => void (await operation())): Promise<void> {
  // the keys the engine stores login(user) sessions under
  const [a, b, c] = [storeKeyOf(newId()), storeKeyOf(newId()), storeKeyOf(newId())]
  const now = Date.now()
  const fresh = (id: string) => store.create(id, { data: { n: 1 }, meta: meta(), userId: user, expiresAt: now + HOUR })
  await measure('create', () => fresh(a))
  await fresh(b)
  await fresh(c)
  await measure('get', () => store.get(a))
  await measure('get with a slide due', () => store.get(a, { slideTo: now + 2 * HOUR, slideIfBefore: now + 90 * 60_000 }))
  await measure('get with a slide not due', () => store.get(a, { slideTo: now + 2 * HOUR, slideIfBefore: now + 60_000 }))
  await measure('update', () => store.update(a, { set: { n: 2 }, unset: ['gone'], meta: meta(), whole: {} }, now + HOUR, { expectVersion: 1 }))
  await measure('update that re-sets the owner', () => store.update(a, { set: {}, unset: [], userId: user, whole: {} }, now + HOUR))
  await measure('touch', () => store.touch(a, now + 2 * HOUR))
  await measure('listByUser', () => store.listByUser(user))
  await measure('destroy', () => store.destroy(c))
  await measure('destroyByUser', () => store.destroyByUser(user, a))
}

function redisNode(): { host: string; port: number } {
  const { hostname, port } = new URL(REDIS_URL)
  return { host: hostname, port: Number(port) || 6379 }
}

/**
 * Counts what the servers receive from clients (not what scripts run) naming `prefix`, with MONITOR on
 * every node, read off a plain socket. After an operation, an ECHO of a marker on each node tells when
 * its feed has caught up. Bounded: a marker that does not show within 5 s fails the test.
 */
async function monitorCommands(nodes: ReadonlyArray<{ host: string; port: number }>, prefix: string) {
  const seen: string[] = []
  const waiting = new Map<string, () => void>()
  const sockets: Socket[] = []
  const markers: Redis[] = []
  let n = 0

  // a feed line: +<time> [<db> <source>] "<command>" "<arg>"…
  const onLine = (line: string) => {
    for (const [mark, arrived] of waiting) {
      if (line.includes(`"${mark}"`)) {
        waiting.delete(mark)
        arrived()
        return
      }
    }
    const match = /^\+\S+ \[\d+ (\S+)\] "([^"]+)"/.exec(line)
    if (match !== null && match[1] !== 'lua' && line.includes(prefix)) seen.push(match[2].toLowerCase())
  }

  for (const node of nodes) {
    const socket = createConnection(node)
    sockets.push(socket)
    await once(socket, 'connect')
    let buffer = ''
    let monitoring: () => void = () => {}
    const started = new Promise<void>((resolve) => (monitoring = resolve))
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (line === '+OK') monitoring()
        else onLine(line)
      }
    })
    socket.write('MONITOR\r\n')
    await Promise.race([started, new Promise((_, reject) => setTimeout(() => reject(new Error('MONITOR did not start within 5 s')), 5_000).unref())])
    const marker = new Redis({ ...node, lazyConnect: true })
    await marker.connect()
    markers.push(marker)
  }

  const caughtUp = () =>
    Promise.all(
      markers.map((marker) => {
        const mark = `${prefix}mark:${n++}`
        const arrived = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`MONITOR feed did not show ${mark} within 5 s`)), 5_000)
          waiting.set(mark, () => {
            clearTimeout(timer)
            resolve()
          })
        })
        return Promise.all([arrived, marker.call('ECHO', mark)])
      }),
    )

  return {
    async commands(operation: () => Promise<unknown>): Promise<string[]> {
      await caughtUp()
      seen.length = 0
      await operation()
      await caughtUp()
      return [...seen]
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      for (const marker of markers) marker.disconnect()
    },
  }
}

/** One command straight to one node, on a connection of its own. */
async function driverlessCommand(node: { host: string; port: number }, args: string[]): Promise<unknown> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true })
  try {
    await client.connect()
    const [name, ...rest] = args
    return await client.call(name, ...rest)
  } finally {
    client.disconnect()
  }
}

describe('RedisStore options', () => {
  it('refuses a client it cannot talk to, and a prefix that would take over the hash tag', () => {
    assert.throws(() => new RedisStore({ client: {} as RedisStoreOptions['client'] }), { code: 'ERR_TESSERA_INVALID_OPTION', option: 'client' })
    const client = { sendCommand: async () => null }
    assert.throws(() => new RedisStore({ client, prefix: 'a{b}:' }), { code: 'ERR_TESSERA_INVALID_OPTION', option: 'prefix' })
    assert.throws(() => new RedisStore({ client, tombstoneTtl: 0 }), { code: 'ERR_TESSERA_INVALID_OPTION', option: 'tombstoneTtl' })
  })

  it('refuses a waitForReplicas without a positive replica count and timeout (a WAIT without timeout would block the connection for good)', () => {
    const client = { sendCommand: async () => null }
    const bad: Array<[unknown, string]> = [
      [null, 'waitForReplicas'],
      [1, 'waitForReplicas'],
      [{ timeout: 100 }, 'waitForReplicas.replicas'],
      [{ replicas: 0, timeout: 100 }, 'waitForReplicas.replicas'],
      [{ replicas: 1.5, timeout: 100 }, 'waitForReplicas.replicas'],
      [{ replicas: 1 }, 'waitForReplicas.timeout'],
      [{ replicas: 1, timeout: 0 }, 'waitForReplicas.timeout'],
      [{ replicas: 1, timeout: Infinity }, 'waitForReplicas.timeout'],
    ]
    for (const [waitForReplicas, option] of bad) {
      assert.throws(() => new RedisStore({ client, waitForReplicas: waitForReplicas as RedisStoreOptions['waitForReplicas'] }), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError)
        assert.equal(err.option, option)
        return true
      })
    }
    assert.ok(new RedisStore({ client, waitForReplicas: { replicas: 1, timeout: 100 } }))
  })

  it('refuses an ioredis client with keyPrefix (it would not prefix the keys the store passes in script arguments and reads from its index)', () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' })
    assert.throws(() => new RedisStore({ client }), { code: 'ERR_TESSERA_INVALID_OPTION', option: 'client' })
    client.disconnect()
  })

  it('close() releases nothing of the client and is safe twice', async () => {
    let sent = 0
    const store = new RedisStore({ client: { sendCommand: async () => (sent++, null) } })
    await store.close()
    await store.close()
    assert.equal(sent, 0)
  })
})

describe('RedisStore with the node-redis settings its docs suggest for a sessions-only client', { skip: standaloneSkip }, () => {
  it('works without per-command timers, and refuses at once while disconnected rather than queue', async () => {
    const client = createClient({ url: REDIS_URL, commandOptions: { timeout: 0 }, disableOfflineQueue: true })
    client.on('error', () => {})
    await client.connect()
    const admin = await createClient({ url: REDIS_URL }).connect()
    const prefix = uniqueName('tess:settings') + ':'
    try {
      const store = new RedisStore({ client, prefix })
      const id = newId()
      const meta: SessionMeta = { createdAt: Date.now(), absoluteExpiresAt: Date.now() + HOUR, idleTimeout: HOUR }
      assert.equal(await store.create(id, { data: { user: 'ann' }, meta, userId: null, expiresAt: Date.now() + HOUR }), 'ok')
      assert.equal(await store.update(id, { set: { n: 1 }, unset: [], whole: { user: 'ann', n: 1 } }, Date.now() + HOUR), 'ok')
      assert.deepEqual({ ...(await store.get(id))?.data }, { user: 'ann', n: 1 })

      // the server drops the connection; the call below runs before the client can have reconnected
      // (that takes network round trips), and with the offline queue it would wait and then succeed
      // (events.once would reject on the client's 'error' event for the closed socket)
      const dropped = new Promise<void>((resolve) => client.once('reconnecting', () => resolve()))
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(await client.clientId())])
      await dropped
      const started = Date.now()
      await assert.rejects(store.get(id), StoreUnavailableError)
      assert.ok(Date.now() - started < 1_000, 'refused without waiting for the reconnection')
    } finally {
      // destroying a client in the middle of reconnecting leaves its new socket open
      if (client.isOpen && !client.isReady) await new Promise<void>((resolve) => client.once('ready', () => resolve()))
      client.destroy()
      for (const key of await admin.keys(`${prefix}*`)) await admin.del(key)
      await admin.quit()
    }
  })
})
