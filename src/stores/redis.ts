import { createHash } from 'node:crypto'
import { InvalidOptionError, SessionDataError, StoreReplicationError, StoreUnavailableError } from '../errors.ts'
import { isStorableText, parseJson, stringifyJson } from '../safe-json.ts'
import {
  kContractStore,
  type CreateResult,
  type GetOptions,
  type NewSession,
  type SessionMeta,
  type SessionPatch,
  type SessionStore,
  type SessionValues,
  type StoredSession,
  type UpdateOptions,
  type TouchResult,
  type UpdateResult,
  type UserSessionInfo,
} from './contract.ts'
import { kStoreKind } from './kind.ts'
import { positiveInteger } from './options.ts'
import { parseMeta, toRecord } from './record.ts'
import { commandsOf, type Commands, type IoRedisLike, type NodeRedisClientLike, type NodeRedisClusterLike } from './redis/client.ts'
import { SCRIPTS, type Script } from './redis/scripts.ts'

export type { IoRedisLike, NodeRedisClientLike, NodeRedisClusterLike } from './redis/client.ts'

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

/** Length of the hash tag taken from the front of a store key, and of a user hash. */
const TAG_LENGTH = 8

/**
 * How many times a command is re-sent while Redis Cluster answers TRYAGAIN (a slot migration has moved
 * some of its keys but not all: node-redis passes the error on, ioredis retries a few times itself), and
 * how long to wait before each: bounded, a few seconds in all, and the engine's storeTimeout still applies.
 */
const TRYAGAIN_DELAYS = [5, 10, 20, 40, 80, ...Array<number>(35).fill(100)]

/** Re-runs of a script whose owner's index entry was raised meanwhile: more only if the owner keeps changing. */
const RAISE_ATTEMPTS = 3

/*
 * Key layout. The store is given keys, not ids (the engine's storeKeyOf: the SHA-256 of the id, or, for a
 * session stored by an earlier version, that hash behind the id's first 8 characters). `tag` is a key's
 * first TAG_LENGTH characters, `rest` the others:
 *   <prefix>{<tag>}<rest>           HASH  one session; native TTL (PEXPIREAT) at its expiresAt. Once destroyed,
 *                                         its tombstone: only the field `_d`, PX tombstoneTtl
 *   <prefix>u:{<userHash>}<userId>  ZSET  a user's index: member `{<tag>}<rest>`, scored by the latest expiry
 *                                         the session may reach (its absolute deadline); TTL = highest score
 * `userHash` is the first TAG_LENGTH characters of the SHA-256 (base64url) of the user id. On a cluster a
 * session and its user's index are almost never in one slot (their tags are unrelated); sessions of earlier
 * versions are, their ids began with their user's hash. Every script declares every key it touches and
 * works on one slot; what spans two is two commands, in the order below. Scripts on a session touch that one
 * key (and its index when in the same slot), which a slot migration serves through ASK; a script on two keys
 * would get TRYAGAIN for as long as the migration has moved one but not the other (it is retried).
 *
 * Revocation across slots, by ordering and tombstones:
 * - A session gets an owner (create, or an update that sets one) only after it is registered in the
 *   owner's index, and its entry always covers its expiry: `_x` in the hash says up to when, and a write
 *   that would move the expiry past `_x` answers 'raise' instead; the store raises the entry, then writes.
 *   So an owned session is in its owner's index for as long as it lives.
 * - destroyByUser reads the index, then destroys every member it found, leaving a tombstone in place of
 *   each, even of a session not created yet; then removes them from the index. A login registered before
 *   the read is in it: its record was created before the tombstone (and is destroyed), or its create meets
 *   the tombstone and fails. A login registered after the read comes after the revocation, and survives it.
 *   A member that is another user's session by then is kept, marked `_k:<userId>` for tombstoneTtl: an
 *   update handing it to the revoked user meanwhile (registered before the read) destroys it instead.
 * - destroy removes the entry after the session; listing checks each member's owner, so an entry left by a
 *   failed removal (or by a session whose create failed) is never listed, and goes when its score passes.
 * On one server, and for a session in its index's slot, a create registers in the same script.
 *
 * Hash fields: `d:<key>` holds the JSON of data key `<key>`. Metadata fields start with `_`, which no
 * `d:` field does, so no data key can collide with them:
 *   _v version   _e expiresAt (ms)   _m SessionMeta JSON   _a meta.absoluteExpiresAt (ms, read by the slide)
 *   _u userId    _x until when (ms) the owner's index entry covers the session
 *   _t the user hash, when it differs from the key's tag: where earlier versions, still running during an
 *      upgrade, look for the index
 *   _d in a tombstone only;  _k:<userId> until when (ms) the session may not be handed to that user
 * Earlier versions kept tombstones in keys of their own (`<prefix>t:{<tag>}<rest>`); they expire unread.
 * JSON is never decoded in Lua: cjson turns [] into {} and rounds big numbers.
 */

/**
 * A Redis / Valkey store: one hash per session with a field per top-level key, so overlapping requests
 * that change different keys both survive; native key expiry (no sweeper, no keyspace notifications);
 * a per-user index for `listByUser`/`destroyByUser`. Works on standalone servers and on Redis Cluster,
 * where a user's index and their sessions live in different slots (see the key layout). Needs Redis ≥ 6.2
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
  readonly #commands: Commands
  readonly #prefix: string
  readonly #tombstoneTtl: string
  readonly #waitForReplicas: { replicas: number; timeout: number } | undefined
  /** Scripts this store has sent in full once; after that EVALSHA, with EVAL again on NOSCRIPT. */
  readonly #sent = new Set<Script>()

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('client', 'is required')
    this.#commands = commandsOf(options.client)
    const prefix = options.prefix ?? DEFAULTS.prefix
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new InvalidOptionError('prefix', 'must be a string without { or }')
    this.#prefix = prefix
    this.#tombstoneTtl = String(positiveInteger('tombstoneTtl', options.tombstoneTtl, DEFAULTS.tombstoneTtl))
    this.#waitForReplicas = replicaWait(options.waitForReplicas, this.#commands)
  }

  /** The hash tag and the Redis key of store key `id`, and its member in a user index. */
  #keys(id: string): { tag: string; member: string; session: string } {
    const tag = id.slice(0, TAG_LENGTH)
    const member = `{${tag}}${id.slice(TAG_LENGTH)}`
    return { tag, member, session: this.#prefix + member }
  }

  #indexKey(userId: string): string {
    return `${this.#prefix}u:{${userHash(userId)}}${userId}`
  }

  /**
   * Adds the owner fields of `userId` to a write, and answers its index key, with whether a script on
   * this session may touch it: on a cluster only when it is in the same slot.
   */
  #owner(tag: string, userId: string, pairs: string[], deleted: string[]): { index: string; local: boolean } {
    const owner = userHash(userId)
    pairs.push('_u', userId)
    if (owner === tag) deleted.push('_t')
    else pairs.push('_t', owner)
    return { index: `${this.#prefix}u:{${owner}}${userId}`, local: !this.#commands.cluster || owner === tag }
  }

  /**
   * Sends one command with the store's error policy: re-sent while the cluster answers TRYAGAIN, a script
   * re-sent whole on NOSCRIPT (scripts vanish on restart, failover and on a node that never ran them);
   * driver errors become `StoreUnavailableError`, once.
   */
  async #send(operation: string, key: string, args: string[], script?: Script): Promise<unknown> {
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
  #eval(operation: string, s: Script, keys: string[], args: string[]): Promise<unknown> {
    const sent = this.#sent.has(s)
    return this.#send(operation, keys[0] as string, [sent ? 'EVALSHA' : 'EVAL', sent ? s.sha : s.source, String(keys.length), ...keys, ...args], s)
  }

  /** One INDEX_SCRIPT on a user's index. */
  #index(operation: string, index: string, op: 'add' | 'rem' | 'read', score: string, members: string[]): Promise<unknown> {
    return this.#eval(operation, SCRIPTS.index, [index], [op, score, ...members])
  }

  /**
   * Runs a write that may find the expiry it sets past what the owner's index entry covers: then it
   * answers the owner and a score, the entry is raised to it, and the write runs again saying so.
   */
  async #covered(operation: string, member: string, write: (raisedFor: string, raisedTo: string) => Promise<string[]>, raise: (reply: string[]) => [string, string] | undefined): Promise<string[]> {
    let raisedFor = ''
    let raisedTo = ''
    for (let attempt = 0; ; attempt++) {
      const reply = await write(raisedFor, raisedTo)
      const needed = raise(reply)
      if (needed === undefined) return reply
      if (attempt === RAISE_ATTEMPTS) throw new StoreUnavailableError(`redis: ${operation}: the session's owner kept changing while its index entry was raised`)
      ;[raisedFor, raisedTo] = needed
      await this.#index(operation, this.#indexKey(raisedFor), 'add', raisedTo, [member])
    }
  }

  /** With `waitForReplicas`: WAIT on the masters of `keys`, and `StoreReplicationError` when too few replicas acknowledged. */
  async #replicated(operation: string, keys: string[]): Promise<void> {
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

  /**
   * Without a slide: one HGETALL. With one: one EVALSHA that reads and slides (GET_SCRIPT); two more
   * when the slide goes past what the owner's index entry covers (never for sessions the engine wrote:
   * their entry covers their absolute deadline, which no slide passes).
   */
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    const k = this.#keys(id)
    if (options?.slideTo === undefined) {
      return decode(await this.#send('get', k.session, ['HGETALL', k.session]))
    }
    const slideTo = ms(options.slideTo)
    const slideIfBefore = options.slideIfBefore === undefined ? '' : ms(options.slideIfBefore)
    let fields: unknown
    await this.#covered(
      'get',
      k.member,
      async (raisedFor, raisedTo) => {
        const reply = (await this.#eval('get', SCRIPTS.get, [k.session], [slideTo, slideIfBefore, raisedFor, raisedTo])) as unknown[]
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
   * first registered there (INDEX_SCRIPT), so that a revocation that reads the index after this cannot miss it.
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
      else await this.#index('create', index, 'add', score, [k.member])
    }
    const created = Number(await this.#eval('create', SCRIPTS.create, keys, [expiresAt, k.member, score, ...pairs])) === 1
    return created ? 'ok' : 'collision'
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
      else await this.#index('update', index, 'add', score, [k.member])
    }
    const expect = options?.expectVersion === undefined ? '' : String(options.expectVersion)
    const head = [expect, at, patch.replace === true ? '1' : '0', owner, patch.userId ?? '', k.member, score]
    const tail = [this.#tombstoneTtl, String(deleted.length), ...deleted, ...pairs]
    const reply = await this.#covered(
      'update',
      k.member,
      async (raisedFor, raisedTo) => strings(await this.#eval('update', SCRIPTS.update, keys, [...head, raisedFor, raisedTo, ...tail])),
      (r) => (r[0] === 'raise' ? [r[1] as string, r[2] as string] : undefined),
    )
    // reply[1]: the previous owner, whose index no longer holds a session of theirs under this member
    if (reply[1] !== undefined && reply[1] !== '') await this.#index('update', this.#indexKey(reply[1]), 'rem', '0', [k.member])
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
      async (raisedFor, raisedTo) => strings(await this.#eval('touch', SCRIPTS.touch, [k.session], [at, raisedFor, raisedTo])),
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
    const [, owner] = strings(await this.#eval('destroy', SCRIPTS.destroy, [k.session], [this.#tombstoneTtl, '']))
    const after: Array<Promise<unknown>> = [this.#replicated('destroy', [k.session])]
    if (owner !== undefined && owner !== '') after.push(this.#index('destroy', this.#indexKey(owner), 'rem', '0', [k.member]))
    await Promise.all(after)
  }

  /** One INDEX_SCRIPT that reads the index; then one HMGET per session, all at once. */
  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    const members = strings(await this.#index('listByUser', this.#indexKey(userId), 'read', '0', []))
    const entries = await Promise.all(members.map((member) => this.#listed(member, userId)))
    return entries.filter((entry) => entry !== null)
  }

  /** An index member's session, if it is alive and still `userId`'s. */
  async #listed(member: string, userId: string): Promise<UserSessionInfo | null> {
    const key = this.#prefix + member
    const [owner, expiresAt, meta] = strings(await this.#send('listByUser', key, ['HMGET', key, '_u', '_e', '_m']))
    if (owner !== userId || expiresAt === undefined || expiresAt === '' || Number(expiresAt) <= Date.now()) return null
    let parsed: SessionMeta | null = null
    try {
      if (meta !== undefined && meta !== '') parsed = parseMeta('redis', meta)
    } catch {
      // unreadable metadata does not hide the session from its owner's list
    }
    return { id: idOf(member), expiresAt: Number(expiresAt), meta: parsed }
  }

  /**
   * Three steps (see the key layout): one INDEX_SCRIPT reads the index; one DESTROY_SCRIPT per member, all
   * at once, tombstones each (and deletes those the user owns); one INDEX_SCRIPT removes them from the
   * index, at once with a WAIT when `waitForReplicas` is set.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const index = this.#indexKey(userId)
    const except = exceptId === undefined ? '' : this.#keys(exceptId).member
    const members = strings(await this.#index('destroyByUser', index, 'read', '0', [])).filter((member) => member !== except)
    if (members.length === 0) return 0
    const replies = await Promise.all(
      members.map(async (member) => strings(await this.#eval('destroyByUser', SCRIPTS.destroy, [this.#prefix + member], [this.#tombstoneTtl, userId]))),
    )
    await Promise.all([
      this.#index('destroyByUser', index, 'rem', '0', members),
      this.#replicated(
        'destroyByUser',
        members.map((member) => this.#prefix + member),
      ),
    ])
    return replies.filter(([deleted]) => deleted === '1').length
  }

  /** Nothing to release: the application owns the client. Safe to call more than once. */
  async close(): Promise<void> {}
}

/** The first characters of the SHA-256 of a user id: the hash tag of the user's index. */
function userHash(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, TAG_LENGTH)
}

/** The latest expiry a session may reach: its absolute deadline, when it has one past `expiresAt`. */
function latestExpiry(expiresAt: number, meta: SessionMeta | null): string {
  const absolute = meta?.absoluteExpiresAt
  return ms(typeof absolute === 'number' && Number.isFinite(absolute) && absolute > expiresAt ? absolute : expiresAt)
}

/** The `waitForReplicas` option, checked. */
function replicaWait(value: RedisStoreOptions['waitForReplicas'], commands: Commands): { replicas: number; timeout: number } | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('waitForReplicas', 'must be { replicas, timeout }')
  const replicas = positiveInteger('waitForReplicas.replicas', value.replicas ?? 0, 0)
  // 0 would block the connection for good when a replica is gone
  const timeout = positiveInteger('waitForReplicas.timeout', value.timeout ?? 0, 0)
  if (commands.wait === undefined) throw new InvalidOptionError('waitForReplicas', 'needs a cluster client that can name the connection of a slot (node-redis 5 or later, ioredis)')
  return { replicas, timeout }
}

/** Epoch ms as Redis takes it (an integer). */
function ms(at: number): string {
  return String(Math.floor(at))
}

/** A flat script reply as strings (a client may be set to answer Buffers or RESP3 numbers). */
function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map((item) => (item == null ? '' : String(item))) : [String(reply ?? '')]
}

function parseField(field: string, json: string): unknown {
  try {
    return parseJson(json)
  } catch (err) {
    throw new SessionDataError(`redis: session field ${JSON.stringify(field)} is not valid JSON`, { cause: err })
  }
}

/** A session read field by field from a hash reply (see `decode`). */
class Fields {
  readonly data: SessionValues = Object.create(null)
  meta: SessionMeta | null = null
  userId: string | null = null
  version = Number.NaN
  expiresAt = Number.NaN
  empty = true
  /** A tombstone: the key of a destroyed session. */
  destroyed = false

  add(field: string, value: string): void {
    this.empty = false
    if (field.startsWith('d:')) this.data[field.slice(2)] = parseField(field, value)
    else if (field === '_v') this.version = Number(value)
    else if (field === '_e') this.expiresAt = Number(value)
    else if (field === '_m') this.meta = parseMeta('redis', value)
    else if (field === '_u') this.userId = value
    else if (field === '_d') this.destroyed = true
  }
}

/**
 * A session hash as its reply comes (node-redis: an object or a Map; ioredis and RESP2 raw
 * replies: a flat field/value array), read in one pass; null for an empty reply (no such key) and a tombstone.
 */
function decode(reply: unknown): StoredSession | null {
  const fields = new Fields()
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.add(String(reply[i]), String(reply[i + 1]))
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) fields.add(String(field), String(value))
  } else if (typeof reply === 'object' && reply !== null) {
    const object = reply as Record<string, unknown>
    for (const field of Object.keys(object)) fields.add(field, String(object[field]))
  }
  if (fields.empty || fields.destroyed) return null
  return toRecord('redis', fields)
}

/** Appends `d:<key>` / JSON pairs to `pairs`, or the field to `deleted` when JSON has no value for it. */
function encodeData(values: SessionValues, pairs: string[], deleted: string[]): void {
  for (const key of Object.keys(values)) {
    // a lone surrogate has no UTF-8 form (the client would store U+FFFD, another key); U+0000 is refused as by every store
    if (!isStorableText(key)) throw new SessionDataError('redis: a session key must not contain U+0000 or a lone surrogate')
    const json = stringifyJson(values[key], key, 'redis: ')
    // compat: JSON drops undefined and functions, so such a key is not stored at all
    if (json === undefined) deleted.push(`d:${key}`)
    else pairs.push(`d:${key}`, json)
  }
}

/** Appends the `_m`/`_a` pairs of `meta`, or `_a` to `deleted` when there is no finite absolute deadline. */
function encodeMeta(meta: SessionMeta, pairs: string[], deleted: string[]): void {
  pairs.push('_m', JSON.stringify(meta))
  if (Number.isFinite(meta.absoluteExpiresAt)) pairs.push('_a', ms(meta.absoluteExpiresAt))
  else deleted.push('_a')
}

/** The store key of an index member `{<tag>}<rest>` (the tag is the key's first TAG_LENGTH characters, or all of a shorter key). */
function idOf(member: string): string {
  const inner = member.slice(1)
  if (inner.length <= TAG_LENGTH + 1) return inner.slice(0, -1)
  return inner.slice(0, TAG_LENGTH) + inner.slice(TAG_LENGTH + 1)
}
