/**
 * A throwaway 3-master Redis Cluster on loopback for the store tests: three `redis-server` child
 * processes (six with a replica each), which die with `stop()` and with the test process, joined by
 * `redis-cli --cluster create`. It can move a slot as `redis-cli --cluster reshard` does and kill a node.
 * Without `redis-server` the suites that need it skip with one line; under CI=true that fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const HOST = '127.0.0.1'
const MASTERS = 3
/** Every wait here is bounded by this (ms). */
const STARTUP_LIMIT = 20_000

export interface ClusterNode {
  readonly host: string
  readonly port: number
}

export interface RedisCluster {
  /** `host:port` of each master as started, as clients are given them. */
  readonly nodes: readonly ClusterNode[]
  /** Each replica as started (none unless asked for), with the master it replicates. */
  readonly replicas: ReadonlyArray<ClusterNode & { readonly master: ClusterNode }>
  /** One command on one node, on a connection of its own. */
  command(node: ClusterNode, args: string[]): Promise<unknown>
  /** The master that serves `slot` now, as `node` sees the cluster. */
  masterOf(slot: number, node?: ClusterNode): Promise<ClusterNode>
  /**
   * Moves `slot` to master `to` as `redis-cli --cluster reshard` does: IMPORTING on `to`, MIGRATING on its
   * owner, MIGRATE of `batch` keys at a time (calling `between` after each, so that a test can act while
   * the slot is split), then SETSLOT NODE on every master. Bounded: a slot with keys still left after
   * 10 000 batches fails.
   */
  migrateSlot(slot: number, to: ClusterNode, options?: { batch?: number; between?: () => Promise<void> }): Promise<void>
  /** Kills one node's process at once (SIGKILL) and resolves when it has exited. */
  kill(node: ClusterNode): Promise<void>
  /** Kills the servers and removes their directory; safe to call twice. */
  stop(): Promise<void>
}

export interface RedisClusterOptions {
  /**
   * Replicas per master (0 or 1). Default 0. With replicas, failovers happen only when a test asks for one
   * (`CLUSTER FAILOVER`): on a busy machine a starved master would otherwise be failed over at random,
   * losing what it had not replicated yet.
   */
  replicas?: 0 | 1
}

function hasBinary(name: string): boolean {
  const result = spawnSync(name, ['--version'], { stdio: 'ignore' })
  return result.error === undefined && result.status === 0
}

/** `false` when a cluster can be started here, else the skip reason. Under CI=true a missing binary throws. */
export function redisClusterSkip(): string | false {
  if (hasBinary('redis-server') && hasBinary('redis-cli')) return false
  const message = 'redis-server/redis-cli not installed: install Redis (apt-get install redis-server) to run the cluster suites'
  if (process.env.CI === 'true') throw new Error(`${message} (required because CI=true)`)
  return `skipped: ${message}`
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

/** A port P with P and its cluster bus port P + 10000 both free. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
  throw new Error('no free port pair for a cluster node')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs redis-cli to completion, bounded; resolves its stdout. */
function cli(args: string[], timeout = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out)
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code ?? signal}: ${out.trim()}`))
    })
  })
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`redis cluster: timed out waiting for ${what}`)
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** A connection to one node that never reconnects, every command bounded by `timeout` ms. */
async function connect(node: ClusterNode, timeout = 5_000): Promise<Redis> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeout, commandTimeout: timeout, retryStrategy: () => null })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** One command on one node, on a connection of its own. */
async function nodeCommand(node: ClusterNode, args: string[]): Promise<unknown> {
  const client = await connect(node)
  try {
    const [name, ...rest] = args
    return await client.call(name as string, ...rest)
  } finally {
    client.disconnect()
  }
}

/** `CLUSTER NODES` of one node, parsed: id, address, whether master, and the master's id for a replica. */
async function clusterNodes(node: ClusterNode): Promise<Array<{ id: string; port: number; master: boolean; masterId: string; slots: string[] }>> {
  const text = String(await nodeCommand(node, ['CLUSTER', 'NODES']))
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ')
      return { id, port: Number(address.split('@')[0]?.split(':')[1]), master: flags.split(',').includes('master'), masterId, slots }
    })
}

/** Starts the cluster and resolves once every node reports `cluster_state:ok` and agrees on 3 masters (and their replicas). */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicasPerMaster = options.replicas ?? 0
  const total = MASTERS * (1 + replicasPerMaster)
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-cluster-'))
  const children: ChildProcess[] = []
  const ports: number[] = []
  let stopped = false

  // the servers must not outlive the test process, even when it exits without calling stop()
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', killAll)
  // a runner that cancels the file sends SIGTERM, which skips 'exit': kill the servers, then die as asked
  const onSignal = (signal: NodeJS.Signals) => {
    killAll()
    process.kill(process.pid, signal)
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)

  const stop = async () => {
    if (stopped) return
    stopped = true
    killAll()
    await Promise.all(children.map(exited))
    process.removeListener('exit', killAll)
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
    rmSync(dir, { recursive: true, force: true })
  }

  const logTail = (port: number) => {
    try {
      return readFileSync(join(dir, `redis-${port}.log`), 'utf8').trim().split('\n').slice(-5).join('\n')
    } catch {
      return '(no log)'
    }
  }

  try {
    const deadline = Date.now() + STARTUP_LIMIT
    const taken = new Set<number>()
    for (let i = 0; i < total; i++) {
      const port = await freePort(taken)
      ports.push(port)
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', HOST,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', replicasPerMaster > 0 ? '15000' : '2000',
          '--cluster-replica-no-failover', replicasPerMaster > 0 ? 'yes' : 'no',
          '--dir', dir,
          '--logfile', join(dir, `redis-${port}.log`),
          '--save', '',
          '--appendonly', 'no',
          '--daemonize', 'no',
        ],
        { stdio: 'ignore' },
      )
      child.once('error', () => {})
      children.push(child)
    }
    for (const [i, port] of ports.entries()) {
      await waitFor(`redis-server on port ${port} (log: ${logTail(port)})`, deadline, async () => {
        if (children[i].exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${logTail(port)}`)
        return (await cli(['-h', HOST, '-p', String(port), 'ping'])).trim() === 'PONG'
      })
    }
    const replicaArgs = replicasPerMaster > 0 ? ['--cluster-replicas', String(replicasPerMaster)] : []
    await cli(['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), ...replicaArgs, '--cluster-yes'], Math.max(1_000, deadline - Date.now()))
    for (const port of ports) {
      await waitFor(`cluster_state:ok on port ${port}`, deadline, async () => {
        const info = await cli(['-h', HOST, '-p', String(port), 'cluster', 'info'])
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${total}`) && info.includes('cluster_slots_ok:16384')
      })
    }
  } catch (err) {
    await stop()
    throw err
  }

  // redis-cli chooses which nodes replicate which, and they turn into replicas a moment after the
  // cluster is up (until then they are masters without slots): ask until the cluster says so
  const deadline = Date.now() + STARTUP_LIMIT
  let layout: Awaited<ReturnType<typeof clusterNodes>> = []
  await waitFor('replicas assigned', deadline, async () => {
    layout = await clusterNodes({ host: HOST, port: ports[0] as number })
    const serving = layout.filter((node) => node.master && node.slots.length > 0).length
    return serving === MASTERS && layout.filter((node) => !node.master).length === total - MASTERS
  })
  const masters = layout.filter((node) => node.master).map((node) => ({ host: HOST, port: node.port }))
  const replicas = layout
    .filter((node) => !node.master)
    .map((node) => ({ host: HOST, port: node.port, master: { host: HOST, port: layout.find((m) => m.id === node.masterId)?.port as number } }))
  for (const replica of replicas) {
    await waitFor(`replica ${replica.port} in sync`, deadline, async () => String(await nodeCommand(replica, ['INFO', 'replication'])).includes('master_link_status:up'))
  }

  const byPort = (port: number) => children[ports.indexOf(port)]
  const alive = (node: ClusterNode) => byPort(node.port)?.exitCode === null && byPort(node.port)?.signalCode === null
  const masterOf = async (slot: number, node?: ClusterNode): Promise<ClusterNode> => {
    // any node that is still running knows the map
    const asked = node ?? ports.map((port) => ({ host: HOST, port })).find(alive)
    if (asked === undefined) throw new Error('redis cluster: no node is running')
    const shards = (await nodeCommand(asked, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>
    const shard = shards.find(([from, to]) => from <= slot && slot <= to)
    if (shard === undefined) throw new Error(`redis cluster: no node serves slot ${slot}`)
    return { host: HOST, port: Number(shard[2][1]) }
  }
  return {
    nodes: masters,
    replicas,
    command: (node, args) => nodeCommand(node, args),
    masterOf,
    async migrateSlot(slot, to, { batch = 1, between } = {}) {
      const from = await masterOf(slot, to)
      if (from.port === to.port) return
      const [source, target] = [await connect(from), await connect(to)]
      try {
        const [fromId, toId] = [String(await source.call('CLUSTER', 'MYID')), String(await target.call('CLUSTER', 'MYID'))]
        await target.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId)
        await source.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId)
        for (let round = 0; ; round++) {
          if (round === 10_000) throw new Error(`redis cluster: slot ${slot} still has keys after 10000 batches`)
          const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', String(slot), String(batch))) as string[]
          if (keys.length === 0) break
          await source.call('MIGRATE', to.host, String(to.port), '', '0', '5000', 'REPLACE', 'KEYS', ...keys)
          await between?.()
        }
        // the new owner first, then the old one, then everyone else (as redis-cli does)
        await target.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
        await source.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
        for (const master of masters) {
          if (master.port !== to.port && master.port !== from.port && alive(master)) await nodeCommand(master, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId])
        }
      } finally {
        source.disconnect()
        target.disconnect()
      }
    },
    async kill(node) {
      const child = byPort(node.port)
      if (child === undefined) throw new Error(`redis cluster: no node on port ${node.port}`)
      child.kill('SIGKILL')
      await exited(child)
    },
    stop,
  }
}
