import { createHash } from 'node:crypto'
import { InvalidOptionError, SessionDataError, StoreUnavailableError } from '../errors.ts'
import { USER_TAG_LENGTH, userTag } from '../id.ts'
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

/** A node-redis (`redis` 5/6) client from `createClient()`. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>
}

/** A node-redis cluster from `createCluster()`. */
export interface NodeRedisClusterLike {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>
  readonly masters: readonly unknown[]
}

/** An ioredis/iovalkey `Redis` or `Cluster`. */
export interface IoRedisLike {
  call(command: string, ...args: string[]): Promise<unknown>
  readonly isCluster: boolean
}

export interface RedisStoreOptions {
  /** A connected client the application owns; the store never connects, quits or reconfigures it. */
  client: NodeRedisClientLike | NodeRedisClusterLike | IoRedisLike
  /** Prepended to every key. Must not contain `{` or `}` (it would take over the cluster hash tag). Default `'tsess:'`. */
  prefix?: string
  /** How long (ms) a destroyed id stays unusable, so late writers cannot bring it back. Default 60 000. */
  tombstoneTtl?: number
}

const DEFAULTS = { prefix: 'tsess:', tombstoneTtl: 60_000 }

/*
 * Key layout, with `tag` = the id's first USER_TAG_LENGTH characters and `rest` = the others:
 *   <prefix>{<tag>}<rest>          HASH  one session; native TTL (PEXPIREAT) at its expiresAt
 *   <prefix>t:{<tag>}<rest>        STRING tombstone of a destroyed id, PX tombstoneTtl
 *   <prefix>u:{<userTag>}<userId>  ZSET  a user's index: member `{<tag>}<rest>`, score expiresAt;
 *                                        TTL = its highest score, dead entries dropped on every write
 * Ids issued by `login(userId)` start with `userTag(userId)`, so such a session, its tombstone and its
 * user's index share one hash tag, hence one cluster slot, and every script below stays in one slot.
 * The index member is the session key without the prefix, so scripts build keys by concatenation
 * (Lua strings are bytes, JavaScript's are UTF-16: slicing the id in both would disagree on non-ASCII ids).
 *
 * Hash fields: `d:<key>` holds the JSON of data key `<key>`. Metadata fields start with `_`, which no
 * `d:` field does, so no data key can collide with them:
 *   _v version   _e expiresAt (ms)   _m SessionMeta JSON   _a meta.absoluteExpiresAt (ms, read by the slide)
 *   _u userId    _t userTag(userId), stored only when it differs from the id's tag (then the index is elsewhere)
 * JSON is never decoded in Lua: cjson turns [] into {} and rounds big numbers.
 */

// Helpers every script starts with. Times are the server's (TIME), the clock PEXPIREAT expires keys by.
// settle sets an index's TTL to its highest score: exact even when a score goes down, one command more
// than PEXPIREAT NX + GT would cost, and it runs on Redis 6.2, which has no EXPIRE NX/GT.
// owner_index answers the index key of a session's owner, as (local, remote): remote only on a cluster when
// the owner's tag differs from the id's (an id not issued by login), so the script must not touch it. Keys a
// script builds itself (an owner's index, a listed session) are never in KEYS, but always share the hash
// tag of KEYS[1]: Redis Cluster checks the slot, not the declaration.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
local function settle(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', index, top[2]) end
end
local function owner_index(prefix, tag, cluster, user, user_tag)
  if not user then return nil, nil end
  if not user_tag then return prefix .. 'u:{' .. tag .. '}' .. user, nil end
  local key = prefix .. 'u:{' .. user_tag .. '}' .. user
  if cluster == '1' then return nil, key end
  return key, nil
end
local function chunked(command, key, list, from, to)
  for i = from, to, 200 do redis.call(command, key, unpack(list, i, math.min(i + 199, to))) end
end
`

// KEYS session, tombstone[, local index]; ARGV expiresAt, member, field/value pairs…
// Refuses a live or tombstoned id: a create must never overwrite a session nor bring a destroyed one back.
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
chunked('HSET', KEYS[1], ARGV, 3, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if KEYS[3] then
  redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
  settle(KEYS[3], now_ms())
end
return 1
`

// KEYS session[, new owner's local index]; ARGV expectVersion|'', expiresAt, replace, owner ('' keep, '-' clear,
// '=' set), new owner, member, prefix, tag, cluster, #deleted fields, deleted fields…, field/value pairs…
// The EXISTS guard is what keeps a late write from resurrecting a destroyed session (a bare HSET would).
const UPDATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local old = redis.call('HMGET', KEYS[1], '_v', '_u', '_t')
if ARGV[1] ~= '' and old[1] ~= ARGV[1] then return {'conflict'} end
if ARGV[3] == '1' then
  local doomed = {}
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 2) == 'd:' then doomed[#doomed + 1] = field end
  end
  chunked('HDEL', KEYS[1], doomed, 1, #doomed)
end
local deleted = tonumber(ARGV[10])
chunked('HDEL', KEYS[1], ARGV, 11, 10 + deleted)
chunked('HSET', KEYS[1], ARGV, 11 + deleted, #ARGV)
redis.call('HINCRBY', KEYS[1], '_v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
local reply = {'ok'}
local now = now_ms()
local old_local, old_remote = owner_index(ARGV[7], ARGV[8], ARGV[9], old[2], old[3])
if ARGV[4] == '' then
  if old_local then
    redis.call('ZADD', old_local, ARGV[2], ARGV[6])
    settle(old_local, now)
  end
  if old_remote then reply[2] = old_remote end
elseif old[2] ~= ARGV[5] then
  if old_local then
    redis.call('ZREM', old_local, ARGV[6])
    settle(old_local, now)
  end
  if old_remote then reply[2] = old_remote end
end
if KEYS[2] then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])
  settle(KEYS[2], now)
end
return reply
`

// KEYS session; ARGV slideTo, slideIfBefore|'', member, prefix, tag, cluster.
// Answers the fields as they were before the slide, the owner's remote index ('' if none) and the new expiry.
const GET_SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {} end
local e, a, user, user_tag
for i = 1, #fields, 2 do
  local f = fields[i]
  if f == '_e' then e = fields[i + 1] elseif f == '_a' then a = fields[i + 1]
  elseif f == '_u' then user = fields[i + 1] elseif f == '_t' then user_tag = fields[i + 1] end
end
local expires = tonumber(e or '')
if not expires or (ARGV[2] ~= '' and expires >= tonumber(ARGV[2])) then return {fields, '', ''} end
local to = ARGV[1]
if a and tonumber(a) and tonumber(a) < tonumber(to) then to = a end
if tonumber(to) <= expires then return {fields, '', ''} end
redis.call('HSET', KEYS[1], '_e', to)
redis.call('PEXPIREAT', KEYS[1], to)
local index, remote = owner_index(ARGV[4], ARGV[5], ARGV[6], user, user_tag)
if index then
  redis.call('ZADD', index, 'XX', 'GT', to, ARGV[3])
  settle(index, now_ms())
end
return {fields, remote or '', to}
`

// KEYS session; ARGV expiresAt, member, prefix, tag, cluster. A missing session stays missing.
const TOUCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
redis.call('HSET', KEYS[1], '_e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
local owner = redis.call('HMGET', KEYS[1], '_u', '_t')
local index, remote = owner_index(ARGV[3], ARGV[4], ARGV[5], owner[1], owner[2])
if index then
  redis.call('ZADD', index, ARGV[1], ARGV[2])
  settle(index, now_ms())
end
return {1, remote or ''}
`

// KEYS session, tombstone; ARGV tombstoneTtl, member, prefix, tag, cluster, owner|'' (destroy only if it is the owner).
// The tombstone is what makes a racing create of the same id answer 'collision'.
const DESTROY_SCRIPT = `
local owner = redis.call('HMGET', KEYS[1], '_u', '_t')
if ARGV[6] ~= '' and owner[1] ~= ARGV[6] then return {0, ''} end
local deleted = redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
local index, remote = owner_index(ARGV[3], ARGV[4], ARGV[5], owner[1], owner[2])
if index then
  redis.call('ZREM', index, ARGV[2])
  settle(index, now_ms())
end
return {deleted, remote or ''}
`

// KEYS index; ARGV prefix, userId, local member prefix ('' = every member is local). Verifies each entry
// against its hash (the owner may have changed) and drops stale ones; remote members come back unread
// (member, '', ''), the others as (member, expiresAt, meta JSON or '').
const LIST_SCRIPT = `
local now = now_ms()
settle(KEYS[1], now)
local out, stale = {}, {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if ARGV[3] == '' or string.sub(m, 1, #ARGV[3]) == ARGV[3] then
    local h = redis.call('HMGET', ARGV[1] .. m, '_u', '_e', '_m')
    if h[1] ~= ARGV[2] then
      stale[#stale + 1] = m
    elseif h[2] then
      out[#out + 1] = m; out[#out + 1] = h[2]; out[#out + 1] = h[3] or ''
    end
  else
    out[#out + 1] = m; out[#out + 1] = ''; out[#out + 1] = ''
  end
end
if #stale > 0 then
  chunked('ZREM', KEYS[1], stale, 1, #stale)
  settle(KEYS[1], now)
end
return out
`

// KEYS index; ARGV prefix, userId, local member prefix, except member|'', tombstoneTtl.
// Answers the count destroyed here, then the remote members the caller must destroy itself.
const DESTROY_USER_SCRIPT = `
local now = now_ms()
settle(KEYS[1], now)
local out, done, count = {0}, {}, 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[4] then
    if ARGV[3] == '' or string.sub(m, 1, #ARGV[3]) == ARGV[3] then
      if redis.call('HGET', ARGV[1] .. m, '_u') == ARGV[2] then
        count = count + redis.call('DEL', ARGV[1] .. m)
        redis.call('SET', ARGV[1] .. 't:' .. m, '1', 'PX', ARGV[5])
      end
      done[#done + 1] = m
    else
      out[#out + 1] = m
    end
  end
end
if #done > 0 then
  chunked('ZREM', KEYS[1], done, 1, #done)
  settle(KEYS[1], now)
end
out[1] = count
return out
`

// KEYS index; ARGV op ('add' | 'bump' | 'rem'), score, members…: the follow-up for an index in another
// cluster slot than its session (only sessions whose id was not issued by login(userId) have one).
const INDEX_SCRIPT = `
if ARGV[1] == 'rem' then chunked('ZREM', KEYS[1], ARGV, 3, #ARGV)
elseif ARGV[1] == 'bump' then redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[2], ARGV[3])
else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3]) end
settle(KEYS[1], now_ms())
return 1
`

interface Script {
  readonly source: string
  readonly sha: string
}

function script(body: string): Script {
  const source = PRELUDE + body
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const SCRIPTS = {
  create: script(CREATE_SCRIPT),
  update: script(UPDATE_SCRIPT),
  get: script(GET_SCRIPT),
  touch: script(TOUCH_SCRIPT),
  destroy: script(DESTROY_SCRIPT),
  list: script(LIST_SCRIPT),
  destroyUser: script(DESTROY_USER_SCRIPT),
  index: script(INDEX_SCRIPT),
}

/** The one thing the store needs from a client: send a command, routed by `key` on a cluster. */
interface Commands {
  readonly cluster: boolean
  send(key: string, args: string[]): Promise<unknown>
}

function commandsOf(client: unknown): Commands {
  const c = client as Partial<NodeRedisClientLike & NodeRedisClusterLike & IoRedisLike> | null
  if (c != null && typeof c.call === 'function' && typeof c.isCluster === 'boolean') {
    // ioredis would prefix KEYS but not the keys the scripts build from ARGV
    const options = (c as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options
    if (options?.keyPrefix || options?.redisOptions?.keyPrefix) throw new InvalidOptionError('client', "ioredis keyPrefix is not supported: use the store's prefix option")
    const call = c.call.bind(c)
    return { cluster: c.isCluster, send: (_key, [command, ...args]) => call(command, ...args) }
  }
  if (c != null && typeof c.sendCommand === 'function') {
    if (Array.isArray(c.masters)) {
      const cluster = c as NodeRedisClusterLike
      // isReadonly false: replicas may lag, and a session read must see the last write
      return { cluster: true, send: (key, args) => cluster.sendCommand(key, false, args) }
    }
    const single = c as NodeRedisClientLike
    return { cluster: false, send: (_key, args) => single.sendCommand(args) }
  }
  throw new InvalidOptionError('client', 'must be a node-redis client or cluster (createClient/createCluster) or an ioredis Redis or Cluster')
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError(name, 'must be a positive integer')
  return value
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

function parseMeta(json: string): SessionMeta | null {
  const meta = parseField('_m', json)
  if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) throw new SessionDataError('redis: session metadata is not an object')
  return meta as SessionMeta | null
}

/** A session read field by field from a hash reply (see `decode`). */
class Fields {
  readonly data: SessionValues = Object.create(null)
  meta: SessionMeta | null = null
  userId: string | null = null
  version = Number.NaN
  expiresAt = Number.NaN
  empty = true

  add(field: string, value: string): void {
    this.empty = false
    if (field.startsWith('d:')) this.data[field.slice(2)] = parseField(field, value)
    else if (field === '_v') this.version = Number(value)
    else if (field === '_e') this.expiresAt = Number(value)
    else if (field === '_m') this.meta = parseMeta(value)
    else if (field === '_u') this.userId = value
  }
}

/**
 * A session hash as its reply comes (node-redis: an object or a Map; ioredis and RESP2 raw
 * replies: a flat field/value array), read in one pass; null for an empty reply (no such key).
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
  if (fields.empty) return null
  const { data, meta, userId, version, expiresAt } = fields
  if (!Number.isSafeInteger(version) || version < 1 || !Number.isSafeInteger(expiresAt)) {
    throw new SessionDataError('redis: session record has no valid version or expiry')
  }
  return { data, meta, userId, expiresAt, version }
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

/**
 * A Redis / Valkey store: one hash per session with a field per top-level key, so overlapping requests
 * that change different keys both survive; native key expiry (no sweeper, no keyspace notifications);
 * a per-user index for `listByUser`/`destroyByUser`. Works on standalone servers and on Redis Cluster
 * (ids issued by `login(userId)` keep a user's sessions in one slot). Needs Redis ≥ 6.2 or Valkey.
 * Every method is one round trip, one EVALSHA or one HGETALL; on a cluster, a session whose id was not
 * issued by `login` for its owner needs a second one for the owner's index, which lives in another slot.
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
  /** Scripts this store has sent in full once; after that EVALSHA, with EVAL again on NOSCRIPT. */
  readonly #sent = new Set<Script>()

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('client', 'is required')
    this.#commands = commandsOf(options.client)
    const prefix = options.prefix ?? DEFAULTS.prefix
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new InvalidOptionError('prefix', 'must be a string without { or }')
    this.#prefix = prefix
    this.#tombstoneTtl = String(positiveInteger('tombstoneTtl', options.tombstoneTtl, DEFAULTS.tombstoneTtl))
  }

  /** The hash tag and the key of session `id`, and its member in a user index. */
  #keys(id: string): { tag: string; member: string; session: string; tombstone: string } {
    const tag = id.slice(0, USER_TAG_LENGTH)
    const member = `{${tag}}${id.slice(USER_TAG_LENGTH)}`
    return { tag, member, session: this.#prefix + member, tombstone: `${this.#prefix}t:${member}` }
  }

  #indexKey(userId: string): string {
    return `${this.#prefix}u:{${userTag(userId)}}${userId}`
  }

  /**
   * Adds the owner fields of `userId` to a write, and answers its index key, with whether a script on
   * this session may touch it: always, but on a cluster only when it is in the same slot.
   */
  #owner(tag: string, userId: string, pairs: string[], deleted: string[]): { index: string; local: boolean } {
    const owner = userTag(userId)
    pairs.push('_u', userId)
    if (owner === tag) deleted.push('_t')
    else pairs.push('_t', owner)
    return { index: `${this.#prefix}u:{${owner}}${userId}`, local: !this.#commands.cluster || owner === tag }
  }

  /** The member prefix of `userId`'s sessions that share its index's slot, or '' when every member does. */
  #localMembers(userId: string): string {
    return this.#commands.cluster ? `{${userTag(userId)}}` : ''
  }

  /** Sends one command with the store's error policy: driver errors become `StoreUnavailableError`, once. */
  async #send(operation: string, key: string, args: string[]): Promise<unknown> {
    try {
      return await this.#commands.send(key, args)
    } catch (err) {
      throw new StoreUnavailableError(`redis: ${operation} (${args[0]}) failed: ${(err as Error)?.message}`, { cause: err })
    }
  }

  /** One EVALSHA (EVAL the first time, and again on NOSCRIPT: scripts vanish on restart and failover). */
  async #eval(operation: string, s: Script, keys: string[], args: string[]): Promise<unknown> {
    const command = [this.#sent.has(s) ? 'EVALSHA' : 'EVAL', this.#sent.has(s) ? s.sha : s.source, String(keys.length), ...keys, ...args]
    try {
      const reply = await this.#commands.send(keys[0], command)
      this.#sent.add(s)
      return reply
    } catch (err) {
      if (command[0] === 'EVALSHA' && String((err as Error)?.message).startsWith('NOSCRIPT')) {
        command[0] = 'EVAL'
        command[1] = s.source
        return this.#send(operation, keys[0], command)
      }
      throw new StoreUnavailableError(`redis: ${operation} (${command[0]}) failed: ${(err as Error)?.message}`, { cause: err })
    }
  }

  /** Follow-up for a user index in another cluster slot than the session (see INDEX_SCRIPT). */
  #fixIndex(index: string, op: 'add' | 'bump' | 'rem', score: string, members: string[]): Promise<unknown> {
    return this.#eval('index', SCRIPTS.index, [index], [op, score, ...members])
  }

  /**
   * Without a slide: one HGETALL. With one: one EVALSHA that reads and slides (GET_SCRIPT), plus an
   * INDEX_SCRIPT when it slid a session whose owner's index is in another cluster slot.
   */
  async get(id: string, options?: GetOptions): Promise<StoredSession | null> {
    const k = this.#keys(id)
    if (options?.slideTo === undefined) {
      return decode(await this.#send('get', k.session, ['HGETALL', k.session]))
    }
    const slideIfBefore = options.slideIfBefore === undefined ? '' : ms(options.slideIfBefore)
    const args = [ms(options.slideTo), slideIfBefore, k.member, this.#prefix, k.tag, this.#commands.cluster ? '1' : '0']
    const reply = (await this.#eval('get', SCRIPTS.get, [k.session], args)) as unknown[]
    if (reply.length === 0) return null
    const [remote, to] = strings(reply.slice(1))
    const session = decode(reply[0])
    if (session === null) throw new SessionDataError('redis: the read script answered an empty session')
    if (remote !== '') await this.#fixIndex(remote, 'bump', to, [k.member])
    return session
  }

  /** One EVALSHA (CREATE_SCRIPT); a second (INDEX_SCRIPT) only for an owner's index in another cluster slot. */
  async create(id: string, session: NewSession): Promise<CreateResult> {
    const k = this.#keys(id)
    const expiresAt = ms(session.expiresAt)
    const pairs = ['_v', '1', '_e', expiresAt]
    encodeData(session.data, pairs, [])
    if (session.meta !== null) encodeMeta(session.meta, pairs, [])
    const keys = [k.session, k.tombstone]
    let remote: string | undefined
    if (session.userId !== null) {
      const { index, local } = this.#owner(k.tag, session.userId, pairs, [])
      if (local) keys.push(index)
      else remote = index
    }
    const created = Number(await this.#eval('create', SCRIPTS.create, keys, [expiresAt, k.member, ...pairs])) === 1
    if (created && remote !== undefined) await this.#fixIndex(remote, 'add', expiresAt, [k.member])
    return created ? 'ok' : 'collision'
  }

  /** One EVALSHA (UPDATE_SCRIPT); a second (INDEX_SCRIPT) only for an owner's index in another cluster slot. */
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
    let remote: string | undefined
    if (patch.userId === null) {
      owner = '-'
      deleted.push('_u', '_t')
    } else if (patch.userId !== undefined) {
      owner = '='
      const { index, local } = this.#owner(k.tag, patch.userId, pairs, deleted)
      if (local) keys.push(index)
      else remote = index
    }
    const expect = options?.expectVersion === undefined ? '' : String(options.expectVersion)
    const args = [expect, at, patch.replace === true ? '1' : '0', owner, patch.userId ?? '', k.member, this.#prefix, k.tag]
    args.push(this.#commands.cluster ? '1' : '0', String(deleted.length), ...deleted, ...pairs)
    const reply = strings(await this.#eval('update', SCRIPTS.update, keys, args))
    if (reply[0] !== 'ok') return reply[0] === 'conflict' ? 'conflict' : 'gone'
    const followUps: Array<Promise<unknown>> = []
    // reply[1] is the previous owner's index: in another slot, and not the one the session now belongs to
    if (reply[1] !== undefined) followUps.push(this.#fixIndex(reply[1], owner === '' ? 'add' : 'rem', at, [k.member]))
    if (remote !== undefined) followUps.push(this.#fixIndex(remote, 'add', at, [k.member]))
    await Promise.all(followUps)
    return 'ok'
  }

  /** One EVALSHA (TOUCH_SCRIPT); a second (INDEX_SCRIPT) only for an owner's index in another cluster slot. */
  async touch(id: string, expiresAt: number): Promise<TouchResult> {
    const k = this.#keys(id)
    const at = ms(expiresAt)
    const args = [at, k.member, this.#prefix, k.tag, this.#commands.cluster ? '1' : '0']
    const [live, remote] = strings(await this.#eval('touch', SCRIPTS.touch, [k.session], args))
    if (remote !== '' && remote !== undefined) await this.#fixIndex(remote, 'add', at, [k.member])
    return live === '1' ? 'ok' : 'gone'
  }

  /** One EVALSHA (DESTROY_SCRIPT); a second (INDEX_SCRIPT) only for an owner's index in another cluster slot. */
  async destroy(id: string): Promise<void> {
    await this.#destroy(id, '')
  }

  /** Destroys `id` (only if `owner` owns it, when given); resolves whether a session was deleted. */
  async #destroy(id: string, owner: string): Promise<boolean> {
    const k = this.#keys(id)
    const args = [this.#tombstoneTtl, k.member, this.#prefix, k.tag, this.#commands.cluster ? '1' : '0', owner]
    const [deleted, remote] = strings(await this.#eval('destroy', SCRIPTS.destroy, [k.session, k.tombstone], args))
    // destroyByUser removes the remote entries itself, all at once
    if (remote !== '' && owner === '') await this.#fixIndex(remote, 'rem', '0', [k.member])
    return deleted === '1'
  }

  /** One EVALSHA (LIST_SCRIPT); then one HMGET per session in another cluster slot than the index, all at once. */
  async listByUser(userId: string): Promise<UserSessionInfo[]> {
    const index = this.#indexKey(userId)
    const reply = strings(await this.#eval('listByUser', SCRIPTS.list, [index], [this.#prefix, userId, this.#localMembers(userId)]))
    const entries: Array<Promise<UserSessionInfo | null>> = []
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const [member, expiresAt, meta] = [reply[i], reply[i + 1], reply[i + 2]]
      entries.push(expiresAt === '' ? this.#readRemote(member, userId) : Promise.resolve(this.#info(member, expiresAt, meta)))
    }
    return (await Promise.all(entries)).filter((entry) => entry !== null)
  }

  /** A listed session that lives in another slot than its owner's index: read and verified on its own. */
  async #readRemote(member: string, userId: string): Promise<UserSessionInfo | null> {
    const key = this.#prefix + member
    const [owner, expiresAt, meta] = strings(await this.#send('listByUser', key, ['HMGET', key, '_u', '_e', '_m']))
    if (owner !== userId || expiresAt === '' || Number(expiresAt) <= Date.now()) return null
    return this.#info(member, expiresAt, meta)
  }

  #info(member: string, expiresAt: string, meta: string): UserSessionInfo {
    let parsed: SessionMeta | null = null
    try {
      if (meta !== '') parsed = parseMeta(meta)
    } catch {
      // unreadable metadata does not hide the session from its owner's list
    }
    return { id: idOf(member), expiresAt: Number(expiresAt), meta: parsed }
  }

  /**
   * One EVALSHA (DESTROY_USER_SCRIPT); sessions in another cluster slot than the index then take one
   * DESTROY_SCRIPT each, all at once, and one INDEX_SCRIPT to drop them from the index.
   */
  async destroyByUser(userId: string, exceptId?: string): Promise<number> {
    const index = this.#indexKey(userId)
    const except = exceptId === undefined ? '' : this.#keys(exceptId).member
    const args = [this.#prefix, userId, this.#localMembers(userId), except, this.#tombstoneTtl]
    const [count, ...remote] = strings(await this.#eval('destroyByUser', SCRIPTS.destroyUser, [index], args))
    if (remote.length === 0) return Number(count)
    const destroyed = await Promise.all(remote.map((member) => this.#destroy(idOf(member), userId)))
    await this.#fixIndex(index, 'rem', '0', remote)
    return Number(count) + destroyed.filter(Boolean).length
  }

  /** Nothing to release: the application owns the client. Safe to call more than once. */
  async close(): Promise<void> {}
}

/** The id of an index member `{<tag>}<rest>` (the tag is the id's first USER_TAG_LENGTH characters, or all of a shorter id). */
function idOf(member: string): string {
  const inner = member.slice(1)
  if (inner.length <= USER_TAG_LENGTH + 1) return inner.slice(0, -1)
  return inner.slice(0, USER_TAG_LENGTH) + inner.slice(USER_TAG_LENGTH + 1)
}
