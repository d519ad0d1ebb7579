import { InvalidOptionError, SessionDataError } from '../../errors.ts'
import {
  kContractStore,
  type CreateResult,
  type GetOptions,
  type NewSession,
  type SessionPatch,
  type SessionStore,
  type StoredSession,
  type UpdateOptions,
  type TouchResult,
  type UpdateResult,
  type UserSessionInfo,
} from '../contract.ts'
import { kStoreKind } from '../kind.ts'
import { positiveInteger } from '../options.ts'
import { listedMeta } from '../record.ts'
import { commandsOf, type Commands, type IoRedisLike, type NodeRedisClientLike, type NodeRedisClusterLike } from './client.ts'
import { decode, encodeData, encodeMeta, latestExpiry, ms, strings } from './codec.ts'
import { covered, ownerFields, type CoveredWrite, type OwnerIndex } from './cross-slot.ts'
import { parseMetaText } from './meta.ts'
import { idOf, indexKey, sessionKeys, type SessionKeys } from './keys.ts'
import { SCRIPTS } from './scripts.ts'
import { Sender, type ReplicaWait } from './sender.ts'

export interface RedisStoreOptions {
  /** A connected client the application owns; the store never connects, quits or reconfigures it. */
  client: NodeRedisClientLike | NodeRedisClusterLike | IoRedisLike
  /** Prepended to every key. Must not contain `{` or `}` (it would take over the cluster hash tag). Default `'tsess:'`. */
  prefix?: string
  /** How long (ms) a destroyed id stays unusable, so late writers cannot bring it back. Default 60 000. */
  tombstoneTtl?: number
  /**
   * After each destroy and revocation, wait (`WAIT`) until `replicas` replicas hold it, for at most
   * `timeout` ms, so that a failover cannot bring a logged-out session back; if fewer acknowledge in
   * time the call rejects with `StoreReplicationError` (the request fails closed with 503). Default: no wait.
   */
  waitForReplicas?: { replicas: number; timeout: number }
}

const DEFAULTS = { prefix: 'tsess:', tombstoneTtl: 60_000 }

/**
 * A Redis / Valkey store: one hash per session with a field per top-level key, so overlapping requests
 * that change different keys both survive; native key expiry (no sweeper, no keyspace notifications);
 * a per-user index for `listByUser`/`destroyByUser`. Works on standalone servers and on Redis Cluster,
 * where a user's index and their sessions live in different slots (keys.ts, cross-slot.ts). Needs Redis ≥ 6.2
 * or Valkey. A read, an update and a touch are one round trip (one EVALSHA or HGETALL); a signed-in
 * session's create on a cluster and its destroy take one more, for the user's index.
 *
 * @example
 * import { createClient } from 'redis'
 * import { RedisStore } from 'tessera-session/stores/redis'
 * const client = await createClient({ url: process.env.REDIS_URL }).connect()
 * app.use(session({ secret, store: new RedisStore({ client }) }))
 */
export class RedisStore implements SessionStore {
  readonly [kContractStore] = true as const
  readonly [kStoreKind] = 'redis' as const
  readonly #sender: Sender
  readonly #prefix: string
  readonly #tombstoneTtl: string

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('client', 'is required')
    const commands = commandsOf(options.client)
    const prefix = options.prefix ?? DEFAULTS.prefix
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new InvalidOptionError('prefix', 'must be a string without { or }')
    this.#prefix = prefix
    this.#tombstoneTtl = String(positiveInteger('tombstoneTtl', options.tombstoneTtl, DEFAULTS.tombstoneTtl))
    this.#sender = new Sender(commands, replicaWait(options.waitForReplicas, commands))
  }

  #keys(id: string): SessionKeys {
    return sessionKeys(this.#prefix, id)
  }

  #indexKey(userId: string): string {
    return indexKey(this.#prefix, userId)
  }

  #owner(tag: string, userId: string, pairs: string[], deleted: string[]): OwnerIndex {
    return ownerFields(this.#sender, this.#prefix, tag, userId, { pairs, deleted })
  }

  #covered(operation: string, member: string, write: CoveredWrite['write'], raise: CoveredWrite['raise']): Promise<string[]> {
    return covered(this.#sender, this.#prefix, operation, member, { write, raise })
  }

  /**
   * Without a slide: one HGETALL. With one: one EVALSHA that reads and slides (GET_SCRIPT); two more
   * when the slide goes past what the owner's index entry covers (never for sessions the engine wrote:
   * their entry covers their absolute deadline, which no slide passes).
   */
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    const k = this.#keys(id)
    if (options?.slideTo === undefined) {
      return decode(await this.#sender.send('get', k.session, ['HGETALL', k.session]))
    }
    const slideTo = ms(options.slideTo)
    const slideIfBefore = options.slideIfBefore === undefined ? '' : ms(options.slideIfBefore)
    let fields: unknown
    await this.#covered(
      'get',
      k.member,
      async (raisedFor, raisedTo) => {
        const reply = (await this.#sender.eval('get', SCRIPTS.get, [k.session], [slideTo, slideIfBefore, raisedFor, raisedTo])) as unknown[]
        fields = reply[0]
        return strings(reply.slice(1))
      },
      (rest) => (rest.length === 2 ? [rest[0] as string, rest[1] as string] : undefined),
    )
    if (fields === undefined) return null
    const session = decode(fields)
    if (session === null) throw new SessionDataError('redis: the read script answered an empty session')
    return session
  }

  /**
   * One EVALSHA (CREATE_SCRIPT). A signed-in session whose user's index is in another cluster slot is
   * first registered there (INDEX_SCRIPT), so that a revocation that reads the index after this cannot miss it;
   * when one does meanwhile, its tombstone answers 'revoked'.
   */
  async create(id: string, session: NewSession): Promise<CreateResult> {
    const k = this.#keys(id)
    const expiresAt = ms(session.expiresAt)
    const pairs = ['_v', '1', '_e', expiresAt]
    encodeData(session.data, pairs, [])
    if (session.meta !== null) encodeMeta(session.meta, pairs, [])
    const keys = [k.session]
    let score = ''
    if (session.userId !== null) {
      score = latestExpiry(session.expiresAt, session.meta)
      const { index, local } = this.#owner(k.tag, session.userId, pairs, [])
      pairs.push('_x', score)
      if (local) keys.push(index)
      else await this.#sender.index('create', index, 'add', score, [k.member])
    }
    const created = Number(await this.#sender.eval('create', SCRIPTS.create, keys, [expiresAt, k.member, score, ...pairs]))
    return created === 1 ? 'ok' : created === 2 ? 'revoked' : 'collision'
  }

  /**
   * One EVALSHA (UPDATE_SCRIPT). A new owner's index in another cluster slot is registered in first, and
   * the previous owner's index drops the session after (INDEX_SCRIPT each).
   */
  async update(id: string, patch: SessionPatch, expiresAt: number, options?: UpdateOptions): Promise<UpdateResult> {
    const k = this.#keys(id)
    const at = ms(expiresAt)
    const pairs = ['_e', at]
    const deleted: string[] = []
    for (const key of patch.unset) deleted.push(`d:${key}`)
    encodeData(patch.set, pairs, deleted)
    if (patch.meta !== undefined) encodeMeta(patch.meta, pairs, deleted)
    const keys = [k.session]
    let owner = ''
    let score = ''
    if (patch.userId === null) {
      owner = '-'
      deleted.push('_u', '_t', '_x')
    } else if (patch.userId !== undefined) {
      owner = '='
      score = latestExpiry(expiresAt, patch.meta ?? null)
      const { index, local } = this.#owner(k.tag, patch.userId, pairs, deleted)
      if (local) keys.push(index)
      else await this.#sender.index('update', index, 'add', score, [k.member])
    }
    const expect = options?.expectVersion === undefined ? '' : String(options.expectVersion)
    const head = [expect, at, patch.replace === true ? '1' : '0', owner, patch.userId ?? '', k.member, score]
    const tail = [this.#tombstoneTtl, String(deleted.length), ...deleted, ...pairs]
    const reply = await this.#covered(
      'update',
      k.member,
      async (raisedFor, raisedTo) => strings(await this.#sender.eval('update', SCRIPTS.update, keys, [...head, raisedFor, raisedTo, ...tail])),
      (r) => (r[0] === 'raise' ? [r[1] as string, r[2] as string] : undefined),
    )
    // reply[1]: the previous owner, whose index no longer holds a session of theirs under this member
    if (reply[1] !== undefined && reply[1] !== '') await this.#sender.index('update', this.#indexKey(reply[1]), 'rem', '0', [k.member])
    if (reply[0] === 'ok') return 'ok'
    return reply[0] === 'conflict' ? 'conflict' : 'gone'
  }

  /** One EVALSHA (TOUCH_SCRIPT); two more when the expiry goes past what the owner's index entry covers. */
  async touch(id: string, expiresAt: number): Promise<TouchResult> {
    const k = this.#keys(id)
    const at = ms(expiresAt)
    const [result] = await this.#covered(
      'touch',
      k.member,
      async (raisedFor, raisedTo) => strings(await this.#sender.eval('touch', SCRIPTS.touch, [k.session], [at, raisedFor, raisedTo])),
      (r) => (r.length === 2 ? [r[0] as string, r[1] as string] : undefined),
    )
    // a session another request destroyed (or never had) answers 'gone': its cookie must not be sent again
    return result === 'ok' ? 'ok' : 'gone'
  }

  /**
   * One EVALSHA (DESTROY_SCRIPT); for a signed-in session one INDEX_SCRIPT after it, and with
   * `waitForReplicas` a WAIT (both at once).
   */
  async destroy(id: string): Promise<void> {
    const k = this.#keys(id)
    const [, owner] = strings(await this.#sender.eval('destroy', SCRIPTS.destroy, [k.session], [this.#tombstoneTtl, '']))
    const after: Array<Promise<unknown>> = [this.#sender.replicated('destroy', [k.session])]
    if (owner !== undefined && owner !== '') after.push(this.#sender.index('destroy', this.#indexKey(owner), 'rem', '0', [k.member]))
    await Promise.all(after)
  }

  /** One INDEX_SCRIPT that reads the index; then one HMGET per session, all at once. */
  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    const members = strings(await this.#sender.index('listByUser', this.#indexKey(userId), 'read', '0', []))
    const entries = await Promise.all(members.map((member) => this.#listed(member, userId)))
    return entries.filter((entry) => entry !== null)
  }

  /** An index member's session, if it is alive and still `userId`'s. */
  async #listed(member: string, userId: string): Promise<UserSessionInfo | null> {
    const key = this.#prefix + member
    const [owner, expiresAt, meta] = strings(await this.#sender.send('listByUser', key, ['HMGET', key, '_u', '_e', '_m']))
    if (owner !== userId || expiresAt === undefined || expiresAt === '' || Number(expiresAt) <= Date.now()) return null
    return { id: idOf(member), expiresAt: Number(expiresAt), meta: meta === undefined || meta === '' ? null : listedMeta(() => parseMetaText(meta)) }
  }

  /**
   * Three steps (see the key layout): one INDEX_SCRIPT reads the index; one DESTROY_SCRIPT per member, all
   * at once, tombstones each (and deletes those the user owns); one INDEX_SCRIPT removes them from the
   * index, at once with a WAIT when `waitForReplicas` is set.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const index = this.#indexKey(userId)
    const except = exceptId === undefined ? '' : this.#keys(exceptId).member
    const members = strings(await this.#sender.index('destroyByUser', index, 'read', '0', [])).filter((member) => member !== except)
    if (members.length === 0) return 0
    const replies = await Promise.all(
      members.map(async (member) => strings(await this.#sender.eval('destroyByUser', SCRIPTS.destroy, [this.#prefix + member], [this.#tombstoneTtl, userId]))),
    )
    await Promise.all([
      this.#sender.index('destroyByUser', index, 'rem', '0', members),
      this.#sender.replicated(
        'destroyByUser',
        members.map((member) => this.#prefix + member),
      ),
    ])
    return replies.filter(([deleted]) => deleted === '1').length
  }

  /** Nothing to release: the application owns the client. Safe to call more than once. */
  async close(): Promise<void> {}
}

/** The `waitForReplicas` option, checked. */
function replicaWait(value: RedisStoreOptions['waitForReplicas'], commands: Commands): ReplicaWait | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('waitForReplicas', 'must be { replicas, timeout }')
  const replicas = positiveInteger('waitForReplicas.replicas', value.replicas ?? 0, 0)
  // 0 would block the connection for good when a replica is gone
  const timeout = positiveInteger('waitForReplicas.timeout', value.timeout ?? 0, 0)
  if (commands.wait === undefined) throw new InvalidOptionError('waitForReplicas', 'needs a cluster client that can name the connection of a slot (node-redis 5 or later, ioredis)')
  return { replicas, timeout }
}

