/**
 * connect-redis, the express-session store on Redis, as the tests build it: on one node-redis client
 * per describe block, each store under a key prefix of its own, whose keys are deleted afterwards.
 */
import { after, before } from 'node:test'
import { RedisStore as ConnectRedis } from 'connect-redis'
import { createClient } from 'redis'
import { REDIS_URL, uniqueName } from './services.ts'

type Client = ReturnType<typeof createClient>

/** A client and the prefixes handed out on it. */
export class RedisPrefixes {
  #client: Client | undefined
  readonly #prefixes: string[] = []

  get client(): Client {
    if (this.#client === undefined) throw new Error('RedisPrefixes: open() first')
    return this.#client
  }

  async open(): Promise<void> {
    this.#client = createClient({ url: REDIS_URL })
    await this.#client.connect()
  }

  /** A fresh prefix (ending in ':') starting with `name`, cleaned up by `close()`. */
  prefix(name: string): string {
    const prefix = uniqueName(name) + ':'
    this.#prefixes.push(prefix)
    return prefix
  }

  /** A connect-redis store under a fresh prefix; `options` are connect-redis's (`ttl`, …). */
  connectRedis(name: string, options: Record<string, unknown> = {}): { store: ConnectRedis; prefix: string } {
    const prefix = this.prefix(name)
    return { store: new ConnectRedis({ client: this.client, prefix, ...options }), prefix }
  }

  /** The keys under a prefix. */
  keys(prefix: string): Promise<string[]> {
    return this.client.keys(`${prefix}*`)
  }

  async close(): Promise<void> {
    const client = this.#client
    if (client === undefined || !client.isOpen) return
    this.#client = undefined
    for (const prefix of this.#prefixes.splice(0)) {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length > 0) await client.del(keys)
    }
    await client.quit()
  }
}

/** Prefixes for the describe block this is called in: the client connects before its tests (unless `skip`), and quits after, deleting their keys. */
export function redisPrefixes(skip: string | false): RedisPrefixes {
  const prefixes = new RedisPrefixes()
  before(async () => {
    if (!skip) await prefixes.open()
  })
  after(() => prefixes.close())
  return prefixes
}
