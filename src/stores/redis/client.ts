/**
 * The one thing the Redis store needs from a client, whichever it is: send a command routed by a key,
 * and wait for replicas on the connections that carried its writes.
 */
import { InvalidOptionError } from '../../errors.ts'

/** A node-redis (`redis` 5/6) client from `createClient()`. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>
}

/** A node-redis cluster from `createCluster()`. */
export interface NodeRedisClusterLike {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>
  readonly masters: readonly unknown[]
  /** The client of the master that serves `key` (node-redis 5.9 and later); for `waitForReplicas`. */
  getNodeClientForKey?(key: string, isReadonly?: boolean): Promise<NodeRedisClientLike>
  /** Each slot's master (node-redis 5); for `waitForReplicas`, with `nodeClient`. */
  readonly slots?: ReadonlyArray<{ readonly master: unknown } | undefined>
  nodeClient?(node: unknown): NodeRedisClientLike | Promise<NodeRedisClientLike>
}

/** An ioredis/iovalkey `Redis` or `Cluster`. */
export interface IoRedisLike {
  call(command: string, ...args: string[]): Promise<unknown>
  readonly isCluster: boolean
  /** A `Cluster`'s `host:port` keys per slot, master first; for `waitForReplicas`. */
  readonly slots?: ReadonlyArray<readonly string[] | undefined>
  /** A `Cluster`'s connections; for `waitForReplicas`. */
  nodes?(role: 'master'): ReadonlyArray<{ readonly options: { readonly host?: string; readonly port?: number }; call(command: string, ...args: string[]): Promise<unknown> }>
}

/** A connection that `WAIT` can be sent on. */
interface Connection {
  call(args: string[]): Promise<unknown>
}

export interface Commands {
  readonly cluster: boolean
  /** Sends one command, routed by `key` on a cluster. */
  send(key: string, args: string[]): Promise<unknown>
  /**
   * `WAIT replicas timeout` on the connection of each master that serves one of `keys` (the connection
   * that carried the writes to them: WAIT counts that connection's writes only); the fewest replicas
   * that acknowledged. Undefined when the client cannot tell which connection serves a key.
   */
  readonly wait: ((keys: readonly string[], replicas: number, timeout: number) => Promise<number>) | undefined
}

export function commandsOf(client: unknown): Commands {
  const c = client as Partial<NodeRedisClientLike & NodeRedisClusterLike & IoRedisLike> | null
  if (c != null && typeof c.call === 'function' && typeof c.isCluster === 'boolean') return ioRedisCommands(c as IoRedisLike)
  if (c != null && typeof c.sendCommand === 'function') {
    if (Array.isArray(c.masters)) return nodeRedisClusterCommands(c as NodeRedisClusterLike)
    const single = c as NodeRedisClientLike
    const connection = { call: (args: string[]) => single.sendCommand(args) }
    return { cluster: false, send: (_key, args) => single.sendCommand(args), wait: (_keys, replicas, timeout) => waitOn([connection], replicas, timeout) }
  }
  throw new InvalidOptionError('client', 'must be a node-redis client or cluster (createClient/createCluster) or an ioredis Redis or Cluster')
}

function ioRedisCommands(c: IoRedisLike): Commands {
  // ioredis would prefix KEYS but not the keys the store names in ARGV and in replies (index members)
  const options = (c as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options
  if (options?.keyPrefix || options?.redisOptions?.keyPrefix) throw new InvalidOptionError('client', "ioredis keyPrefix is not supported: use the store's prefix option")
  const call = c.call.bind(c)
  const send = (_key: string, [command, ...args]: string[]) => call(command as string, ...args)
  if (!c.isCluster) {
    const connection = { call: (args: string[]) => send('', args) }
    return { cluster: false, send, wait: (_keys, replicas, timeout) => waitOn([connection], replicas, timeout) }
  }
  const nodes = c.nodes?.bind(c)
  if (nodes === undefined || c.slots === undefined) return { cluster: true, send, wait: undefined }
  // a keyless command such as WAIT would go to a random node: send it on the connection of the slot's master
  const wait = (keys: readonly string[], replicas: number, timeout: number) => {
    const masters = nodes('master')
    const chosen = new Set<(typeof masters)[number]>()
    for (const key of keys) {
      const address = c.slots?.[keySlot(key)]?.[0]
      const master = masters.find((node) => `${node.options.host}:${node.options.port}` === address)
      // a slot this client has not mapped yet: every master, rather than none
      if (master === undefined) for (const node of masters) chosen.add(node)
      else chosen.add(master)
    }
    return waitOn([...chosen].map((node) => ({ call: ([command, ...args]: string[]) => node.call(command as string, ...args) })), replicas, timeout)
  }
  return { cluster: true, send, wait }
}

function nodeRedisClusterCommands(cluster: NodeRedisClusterLike): Commands {
  // isReadonly false: replicas may lag, and a session read must see the last write
  const send = (key: string, args: string[]) => cluster.sendCommand(key, false, args)
  const clientFor = nodeClientFor(cluster)
  if (clientFor === undefined) return { cluster: true, send, wait: undefined }
  const wait = async (keys: readonly string[], replicas: number, timeout: number) => {
    const clients = new Set(await Promise.all(keys.map(clientFor)))
    return waitOn([...clients].map((client) => ({ call: (args: string[]) => client.sendCommand(args) })), replicas, timeout)
  }
  return { cluster: true, send, wait }
}

/** How to reach the client of the master that serves a key, with what this node-redis version offers. */
function nodeClientFor(cluster: NodeRedisClusterLike): ((key: string) => Promise<NodeRedisClientLike>) | undefined {
  const forKey = cluster.getNodeClientForKey
  if (typeof forKey === 'function') return (key) => forKey.call(cluster, key, false)
  const nodeClient = cluster.nodeClient
  if (typeof nodeClient !== 'function' || cluster.slots === undefined) return undefined
  return async (key) => {
    const master = cluster.slots?.[keySlot(key)]?.master
    if (master === undefined) throw new Error(`no master known for slot ${keySlot(key)}`)
    return nodeClient.call(cluster, master)
  }
}

/** WAIT on each connection at once; the fewest replicas any of them reached. */
async function waitOn(connections: readonly Connection[], replicas: number, timeout: number): Promise<number> {
  const args = ['WAIT', String(replicas), String(timeout)]
  const replies = await Promise.all(connections.map((connection) => connection.call(args)))
  return Math.min(...replies.map(Number))
}

/** The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (the first non-empty `{…}`) or of the whole key, mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  let hashed = key
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) hashed = key.slice(open + 1, close)
  }
  let crc = 0
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
