import { StoreReplicationError, StoreUnavailableError } from '../../errors.ts'
import type { Commands } from './client.ts'
import { SCRIPTS, type Script } from './scripts.ts'

/**
 * How many times a command is re-sent while Redis Cluster answers TRYAGAIN (a slot migration has moved
 * some of its keys but not all: node-redis passes the error on, ioredis retries a few times itself), and
 * how long to wait before each: bounded, a few seconds in all, and the engine's storeTimeout still applies.
 */
const TRYAGAIN_DELAYS = [5, 10, 20, 40, 80, ...Array<number>(35).fill(100)]

/** `waitForReplicas`, checked: how many replicas must hold a destroy, and for how long (ms) to wait. */
export interface ReplicaWait {
  replicas: number
  timeout: number
}

/**
 * The store's commands with its error policy, at the driver boundary: scripts sent whole once and by
 * digest after, TRYAGAIN retried, driver errors wrapped once as `StoreUnavailableError`.
 */
export class Sender {
  readonly #commands: Commands
  readonly #waitForReplicas: ReplicaWait | undefined
  /** Scripts this store has sent in full once; after that EVALSHA, with EVAL again on NOSCRIPT. */
  readonly #sent = new Set<Script>()

  constructor(commands: Commands, waitForReplicas: ReplicaWait | undefined) {
    this.#commands = commands
    this.#waitForReplicas = waitForReplicas
  }

  /** Whether the client is a cluster's: then a session and its user's index are in different slots. */
  get cluster(): boolean {
    return this.#commands.cluster
  }

  /**
   * Sends one command: re-sent while the cluster answers TRYAGAIN, a script re-sent whole on NOSCRIPT
   * (scripts vanish on restart, failover and on a node that never ran them).
   */
  async send(operation: string, key: string, args: string[], script?: Script): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.#commands.send(key, args)
        if (script !== undefined) this.#sent.add(script)
        return reply
      } catch (err) {
        const message = String((err as Error)?.message)
        if (script !== undefined && args[0] === 'EVALSHA' && message.startsWith('NOSCRIPT')) {
          args = ['EVAL', script.source, ...args.slice(2)]
          continue
        }
        const delay = TRYAGAIN_DELAYS[attempt]
        if (/\bTRYAGAIN\b/.test(message) && delay !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, delay))
          continue
        }
        throw new StoreUnavailableError(`redis: ${operation} (${args[0]}) failed: ${message}`, { cause: err })
      }
    }
  }

  /** One EVALSHA (EVAL the first time). */
  eval(operation: string, s: Script, keys: string[], args: string[]): Promise<unknown> {
    const sent = this.#sent.has(s)
    return this.send(operation, keys[0] as string, [sent ? 'EVALSHA' : 'EVAL', sent ? s.sha : s.source, String(keys.length), ...keys, ...args], s)
  }

  /** One INDEX_SCRIPT on a user's index. */
  index(operation: string, index: string, op: 'add' | 'rem' | 'read', score: string, members: string[]): Promise<unknown> {
    return this.eval(operation, SCRIPTS.index, [index], [op, score, ...members])
  }

  /** With `waitForReplicas`: WAIT on the masters of `keys`, and `StoreReplicationError` when too few replicas acknowledged. */
  async replicated(operation: string, keys: string[]): Promise<void> {
    const wanted = this.#waitForReplicas
    const wait = this.#commands.wait
    if (wanted === undefined || wait === undefined || keys.length === 0) return
    let acknowledged: number
    try {
      acknowledged = await wait(keys, wanted.replicas, wanted.timeout)
    } catch (err) {
      throw new StoreUnavailableError(`redis: ${operation} (WAIT) failed: ${(err as Error)?.message}`, { cause: err })
    }
    if (!(acknowledged >= wanted.replicas)) {
      throw new StoreReplicationError(`redis: ${operation}: ${acknowledged} of ${wanted.replicas} replicas acknowledged within ${wanted.timeout} ms`, acknowledged, wanted.replicas)
    }
  }
}
