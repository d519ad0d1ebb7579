/**
 * RedisStore on a real Redis Cluster (3 masters, a replica each, started here) doing what clusters do
 * in production: revocations racing logins while a user's sessions and index live in different slots,
 * a slot migrating under load, and a master failing over.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createCluster } from 'redis'
import { Cluster } from 'ioredis'
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.ts'
import { keySlot } from '../../src/stores/redis/client.ts'
import { SCRIPTS } from '../../src/stores/redis/scripts.ts'
import { storeKeyOf, taggedStoreKeyOf } from '../../src/engine/engine.ts'
import { StoreReplicationError } from '../../src/errors.ts'
import type { SessionMeta } from '../../src/stores/contract.ts'
import { uniqueName } from '../support/services.ts'
import { redisClusterSkip, startRedisCluster, type ClusterNode, type RedisCluster } from '../support/redis-cluster.ts'

const HOUR = 3_600_000
/** How long a test pauses a replica (ms): commands sent to it meanwhile wait, up to 5 s. */
const PAUSE_MS = 1_500
const skip = redisClusterSkip()
const cluster: RedisCluster | undefined = skip === false ? await startRedisCluster({ replicas: 1 }) : undefined
after(() => cluster?.stop())

type Client = RedisStoreOptions['client']

interface Driver {
  name: string
  /** A client of the whole cluster; `close` ends it. */
  connect(): Promise<{ client: Client; close: () => void }>
  /** The same client, each command held back a random 0–`jitter` ms and reported to `log` when sent and when answered. */
  jittered(client: Client, jitter: number, log: (event: 'sent' | 'answered') => void): Client
  /** The same client, `before` awaited ahead of each command (its name and first argument). */
  hooked(client: Client, before: (command: string, first: string | undefined) => Promise<void>): Client
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const drivers: Driver[] = [
  {
    name: 'node-redis cluster',
    hooked(client, before) {
      const inner = client as ReturnType<typeof createCluster>
      return {
        masters: inner.masters,
        async sendCommand(key: string | undefined, readonly: boolean | undefined, args: string[]) {
          await before(String(args[0]).toUpperCase(), args[1])
          return inner.sendCommand(key, readonly, args)
        },
      }
    },
    async connect() {
      const client = createCluster({ rootNodes: (cluster?.nodes ?? []).map(({ host, port }) => ({ url: `redis://${host}:${port}` })), defaults: { disableOfflineQueue: true } })
      client.on('error', () => {})
      await client.connect()
      return { client, close: () => client.destroy() }
    },
    jittered(client, jitter, log) {
      const inner = client as ReturnType<typeof createCluster>
      return {
        masters: inner.masters,
        async sendCommand(key: string | undefined, readonly: boolean | undefined, args: string[]) {
          await delay(Math.random() * jitter)
          log('sent')
          const reply = await inner.sendCommand(key, readonly, args)
          log('answered')
          return reply
        },
      }
    },
  },
  {
    name: 'ioredis cluster',
    hooked(client, before) {
      const inner = client as Cluster
      return {
        isCluster: true,
        async call(command: string, ...args: string[]) {
          await before(command.toUpperCase(), args[0])
          return inner.call(command, ...args)
        },
      }
    },
    async connect() {
      const client = new Cluster((cluster?.nodes ?? []).map(({ host, port }) => ({ host, port })), { lazyConnect: true, enableOfflineQueue: false })
      client.on('error', () => {})
      await client.connect()
      return { client, close: () => client.disconnect() }
    },
    jittered(client, jitter, log) {
      const inner = client as Cluster
      return {
        isCluster: true,
        async call(command: string, ...args: string[]) {
          await delay(Math.random() * jitter)
          log('sent')
          const reply = await inner.call(command, ...args)
          log('answered')
          return reply
        },
      }
    },
  },
]

function meta(now = Date.now()): SessionMeta {
  return { createdAt: now, absoluteExpiresAt: now + 12 * HOUR, idleTimeout: 1_800_000 }
}

function userHash(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, 8)
}

const tags = new Map<number, string>()

/** A new store key whose Redis key hashes to `slot` (the store takes its first 8 characters as the hash tag). */
function keyInSlot(slot: number): string {
  let tag = tags.get(slot)
  for (let i = 0; tag === undefined && i < 10_000_000; i++) {
    const candidate = i.toString(36).padStart(8, '0')
    if (keySlot(candidate) === slot) tag = candidate
  }
  if (tag === undefined) throw new Error(`no tag found for slot ${slot}`)
  tags.set(slot, tag)
  return tag + randomBytes(32).toString('base64url')
}

/** Every key under `prefix`, deleted on every master still running (replicas among them, after a failover). */
async function wipe(prefix: string): Promise<void> {
  for (const node of [...(cluster?.nodes ?? []), ...(cluster?.replicas ?? [])]) {
    const role = (await cluster?.command(node, ['ROLE']).catch(() => [])) as unknown[]
    if (role[0] !== 'master') continue
    const keys = (await cluster?.command(node, ['KEYS', `${prefix}*`])) as string[]
    for (const key of keys) await cluster?.command(node, ['DEL', key])
  }
}

describe('RedisStore on a Redis Cluster', { skip }, () => {
  for (const driver of drivers) {
    describe(driver.name, () => {
      it("a revocation racing logins leaves none of the logins that started before it, and every survivor revocable (each user's sessions in other slots than their index)", async () => {
        const { client, close } = await driver.connect()
        const prefix = `${uniqueName('tsess:race')}:`
        try {
          let seq = 0
          let overtaken = 0
          for (let round = 0; round < 20; round++) {
            const user = `racer${round}@example.com`
            // each operation has a store of its own over the same connection, to see when its commands go and come back
            const started = (label: { firstSent?: number; firstAnswered?: number }) =>
              new RedisStore({
                client: driver.jittered(client, 3, (event) => {
                  seq++
                  if (event === 'sent') label.firstSent ??= seq
                  else label.firstAnswered ??= seq
                }),
                prefix,
              })
            const revocation: { firstSent?: number; firstAnswered?: number } = {}
            const logins = Array.from({ length: 8 }, () => ({ key: storeKeyOf(randomBytes(32).toString('base64url')), result: '', label: {} as { firstSent?: number; firstAnswered?: number } }))
            await Promise.all([
              ...logins.map(async (login) => {
                await delay(Math.random() * 6)
                login.result = await started(login.label).create(login.key, { data: { round }, meta: meta(), userId: user, expiresAt: Date.now() + HOUR })
              }),
              (async () => {
                await delay(Math.random() * 6)
                await started(revocation).destroyByUser(user)
              })(),
            ])
            const store = new RedisStore({ client, prefix })
            const listed = new Set((await store.listByUser(user)).map((s) => s.id))
            for (const login of logins) {
              const alive = (await store.get(login.key)) !== null
              // its first command had come back before the revocation sent its first: that login came first
              const before = login.label.firstAnswered !== undefined && revocation.firstSent !== undefined && login.label.firstAnswered < revocation.firstSent
              if (before) overtaken++
              if (before) assert.equal(alive, false, `round ${round}: a login that came before the revocation survived it (${login.result})`)
              if (alive) assert.ok(listed.has(login.key), `round ${round}: a live session is missing from its user's index`)
            }
            await store.destroyByUser(user)
            for (const login of logins) assert.equal(await store.get(login.key), null)
          }
          // the races did happen: logins were overtaken by revocations
          assert.ok(overtaken > 0, 'no login came before a revocation in any round')
        } finally {
          await wipe(prefix)
          close()
        }
      })

      it("a login a revocation overtook (registered in the index, tombstoned before its create ran) answers 'revoked', not 'collision', and stays revoked", async () => {
        const { client, close } = await driver.connect()
        const prefix = `${uniqueName('tsess:overtaken')}:`
        const user = 'overtaken@example.com'
        const index = `${prefix}u:{${userHash(user)}}${user}`
        const revoker = new RedisStore({ client, prefix })
        let revocation: Promise<number> | undefined
        // the revocation runs between the login's two steps: after its index entry, before its create script
        const login = new RedisStore({
          prefix,
          client: driver.hooked(client, async (command, first) => {
            const isCreate = (command === 'EVAL' || command === 'EVALSHA') && (first === SCRIPTS.create.source || first === SCRIPTS.create.sha)
            if (isCreate && revocation === undefined) await (revocation = revoker.destroyByUser(user))
          }),
        })
        const session = () => ({ data: { n: 1 }, meta: meta(), userId: user, expiresAt: Date.now() + HOUR })
        // a key in another slot than the user's index: the index entry and the create are two commands
        const key = keyInSlot((keySlot(index) + 8192) % 16384)
        try {
          assert.equal(await login.create(key, session()), 'revoked')
          assert.equal(await revocation, 0, 'the revocation found no live session: the login had not been created yet')
          assert.equal(await revoker.get(key), null)
          assert.deepEqual(await revoker.listByUser(user), [])
          // the create does not come back later either, nor does a retry of it
          assert.equal(await revoker.create(key, session()), 'revoked')
          assert.equal(await revoker.get(key), null)
          // a login after the revocation is an ordinary one, and an id destroyed by a logout is still a collision
          const later = keyInSlot((keySlot(index) + 4096) % 16384)
          assert.equal(await revoker.create(later, session()), 'ok')
          await revoker.destroy(later)
          assert.equal(await revoker.create(later, session()), 'collision')
          // another user's create of the revoked id is a collision: the tombstone names whom it revoked
          assert.equal(await revoker.create(key, { ...session(), userId: 'someone-else@example.com' }), 'collision')
        } finally {
          await wipe(prefix)
          close()
        }
      })

      it('a slot migrating under load fails no operation: every script declares its keys, and TRYAGAIN is retried', async () => {
        assert.ok(cluster)
        const { client, close } = await driver.connect()
        const prefix = `${uniqueName('tsess:move')}:`
        const store = new RedisStore({ client, prefix })
        const user = 'mover@example.com'
        const index = `${prefix}u:{${userHash(user)}}${user}`
        const slot = keySlot(index)
        try {
          // sessions in the index's slot: new ones (keys that hash there) and one of an earlier version (tagged by its user)
          const model = new Map<string, number>()
          const add = async (key: string) => {
            assert.equal(await store.create(key, { data: { n: 0 }, meta: meta(), userId: user, expiresAt: Date.now() + HOUR }), 'ok')
            model.set(key, 0)
          }
          for (let i = 0; i < 20; i++) await add(keyInSlot(slot))
          await add(taggedStoreKeyOf(userHash(user) + randomBytes(32).toString('base64url')))
          for (let i = 0; i < 6; i++) await add(storeKeyOf(randomBytes(32).toString('base64url')))

          const failures: unknown[] = []
          let operations = 0
          let moving = true
          const worker = async (w: number) => {
            // each worker owns its sessions, so the model of each is exact
            const mine = [...model.keys()].filter((_, i) => i % 6 === w)
            for (let step = 0; moving && step < 100_000; step++) {
              operations++
              const key = mine[step % Math.max(1, mine.length)]
              try {
                const roll = step % 7
                if (roll === 0 || key === undefined) {
                  const fresh = step % 2 === 0 ? keyInSlot(slot) : storeKeyOf(randomBytes(32).toString('base64url'))
                  assert.equal(await store.create(fresh, { data: { n: 0 }, meta: meta(), userId: user, expiresAt: Date.now() + HOUR }), 'ok')
                  model.set(fresh, 0)
                  mine.push(fresh)
                } else if (roll === 1 || roll === 2) {
                  const n = (model.get(key) as number) + 1
                  assert.equal(await store.update(key, { set: { n }, unset: [], whole: { n } }, Date.now() + HOUR), 'ok')
                  model.set(key, n)
                } else if (roll === 3) {
                  const got = await store.get(key, { slideTo: Date.now() + HOUR + step, slideIfBefore: Date.now() + 2 * HOUR })
                  assert.equal(got?.data.n, model.get(key))
                } else if (roll === 4) {
                  await store.touch(key, Date.now() + HOUR)
                } else if (roll === 5 && mine.length > 3) {
                  await store.destroy(key)
                  model.delete(key)
                  mine.splice(mine.indexOf(key), 1)
                } else {
                  await store.listByUser(user)
                }
              } catch (err) {
                failures.push(err)
              }
            }
          }
          const workers = Array.from({ length: 6 }, (_, w) => worker(w))
          // there and back again, one key at a time, while the workers run; each key moved lets them work
          const home = await cluster.masterOf(slot)
          const away = cluster.nodes.find((node) => node.port !== home.port) as ClusterNode
          let split = 0
          const between = async () => {
            const before = operations
            for (let i = 0; i < 100 && operations < before + 3; i++) await delay(2)
            split += operations - before
          }
          await cluster.migrateSlot(slot, away, { between })
          await cluster.migrateSlot(slot, home, { between })
          moving = false
          await Promise.all(workers)

          assert.deepEqual(
            failures.map((err) => String((err as Error)?.message)),
            [],
          )
          assert.ok(split >= 50, `only ${split} operations ran while the slot was split between two nodes`)
          // nothing lost or resurrected: each session as its worker left it, and the index lists exactly them
          for (const [key, n] of model) assert.equal((await store.get(key))?.data.n, n, `session ${key}`)
          assert.deepEqual((await store.listByUser(user)).map((s) => s.id).sort(), [...model.keys()].sort())
          assert.equal(await store.destroyByUser(user), model.size)
        } finally {
          await wipe(prefix)
          close()
        }
      })
    })
  }

  describe('failover', () => {
    /**
     * A session on a master that still has its replica, stored and copied to the replica: its store key,
     * the master and the replica.
     */
    async function replicatedSession(store: RedisStore, client: Client, prefix: string) {
      assert.ok(cluster)
      for (const replica of cluster.replicas) {
        // a replica still replicating the master it started with (which is then still running)
        const role = (await cluster.command(replica, ['ROLE']).catch(() => [])) as unknown[]
        if (role[0] !== 'slave' || Number(role[2]) !== replica.master.port || role[3] !== 'connected') continue
        const shards = (await cluster.command(replica.master, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number]]>
        const owned = shards.find((shard) => Number(shard[2][1]) === replica.master.port)
        if (owned === undefined) continue
        const key = keyInSlot(owned[0])
        assert.equal(await store.create(key, { data: { user: 'ann' }, meta: meta(), userId: 'ann', expiresAt: Date.now() + HOUR }), 'ok')
        const redisKey = `${prefix}{${key.slice(0, 8)}}${key.slice(8)}`
        // the session is on the replica before the test starts
        const node = await (client as ReturnType<typeof createCluster>).getNodeClientForKey(redisKey)
        assert.equal(await node.sendCommand(['WAIT', '1', '5000']), 1)
        return { key, redisKey, master: replica.master, replica: { host: replica.host, port: replica.port } }
      }
      throw new Error('no master with a live replica is left')
    }

    /**
     * Kills the master, makes its replica the master at once (TAKEOVER), and resolves whether the session is
     * alive there. A paused replica drops what its master sent but it had not applied yet as soon as the link
     * closes; it answers these commands once its pause ends (PAUSE_MS, under the 5 s every command may take).
     */
    async function failOver(session: { redisKey: string; master: ClusterNode; replica: ClusterNode }): Promise<boolean> {
      assert.ok(cluster)
      await cluster.kill(session.master)
      for (let i = 0; i < 100; i++) {
        if (String(await cluster.command(session.replica, ['INFO', 'replication'])).includes('master_link_status:down')) break
        await delay(20)
      }
      assert.equal(await cluster.command(session.replica, ['CLUSTER', 'FAILOVER', 'TAKEOVER']), 'OK')
      for (let i = 0; i < 100 && !String(await cluster.command(session.replica, ['ROLE'])).startsWith('master'); i++) await delay(20)
      // a live session, not its tombstone (a hash holding only `_d`)
      const [version, destroyed] = (await cluster.command(session.replica, ['HMGET', session.redisKey, '_v', '_d'])) as Array<string | null>
      return version !== null && destroyed === null
    }

    async function open(options: Partial<RedisStoreOptions> = {}) {
      const connection = await drivers[0]?.connect()
      assert.ok(connection)
      const prefix = `${uniqueName('tsess:failover')}:`
      return { ...connection, prefix, store: new RedisStore({ client: connection.client, prefix, ...options }) }
    }

    it('without waitForReplicas, a logout the replica had not copied is undone by a failover (the replica is paused)', async () => {
      assert.ok(cluster)
      const { store, client, close, prefix } = await open()
      try {
        const session = await replicatedSession(store, client, prefix)
        await cluster.command(session.replica, ['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'])
        await store.destroy(session.key)
        assert.equal(await failOver(session), true, 'the destroyed session is back on the new master')
      } finally {
        await wipe(prefix)
        close()
      }
    })

    it('with waitForReplicas, a logout is acknowledged only once the replica holds it, and a failover then keeps it', async () => {
      assert.ok(cluster)
      const { store, client, close, prefix } = await open({ waitForReplicas: { replicas: 1, timeout: 10_000 } })
      try {
        const session = await replicatedSession(store, client, prefix)
        // the replica lags for a moment: the destroy waits for it instead of answering at once
        await cluster.command(session.replica, ['CLIENT', 'PAUSE', '300', 'ALL'])
        await store.destroy(session.key)
        assert.equal(await failOver(session), false, 'the destroyed session came back after the failover')
      } finally {
        await wipe(prefix)
        close()
      }
    })

    it('with waitForReplicas, a replica that does not catch up in time fails the logout closed (StoreReplicationError), and a revocation too', async () => {
      assert.ok(cluster)
      const { store, client, close, prefix } = await open({ waitForReplicas: { replicas: 1, timeout: 200 } })
      try {
        const session = await replicatedSession(store, client, prefix)
        await cluster.command(session.replica, ['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'])
        try {
          const refused = (err: unknown) => err instanceof StoreReplicationError && err.code === 'ERR_TESSERA_STORE_REPLICATION' && err.acknowledged === 0
          await assert.rejects(store.destroy(session.key), refused)
          const other = `${session.key.slice(0, 8)}${randomBytes(32).toString('base64url')}`
          assert.equal(await store.create(other, { data: {}, meta: meta(), userId: 'ann', expiresAt: Date.now() + HOUR }), 'ok')
          await assert.rejects(store.destroyByUser('ann'), refused)
        } finally {
          // answered once the pause is over
          await cluster.command(session.replica, ['CLIENT', 'UNPAUSE'])
        }
        // once the replica is back, the same logout is acknowledged
        await store.destroy(session.key)
      } finally {
        await wipe(prefix)
        close()
      }
    })
  })
})
