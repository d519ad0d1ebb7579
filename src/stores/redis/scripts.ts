/**
 * The Lua scripts of the Redis store (store.ts; they follow the key layout in keys.ts). Every
 * key a script touches is in its KEYS, so that Redis Cluster can route it and answer ASK or TRYAGAIN
 * while its slot migrates; what spans two slots is two commands, ordered by the store.
 */
import { createHash } from 'node:crypto'

// Helpers every script starts with. Times are the server's (TIME), the clock PEXPIREAT expires keys by.
// settle sets an index's TTL to its highest score: exact even when a score goes down, one command more
// than PEXPIREAT NX + GT would cost, and it runs on Redis 6.2, which has no EXPIRE NX/GT.
// later compares epoch ms as numbers but keeps the string (Lua would print 1.7e+12). tombstone turns a
// session's key into its tombstone in place: a key deleted and written again in one script is, while its
// slot migrates, a "non local key" to Redis Cluster, which fails the script halfway.
// covered answers up to when the owner's index entry is known to cover the session (nil without an
// owner): `_x`, or for a record written before `_x` existed its expiry, which those versions kept the
// entry at; raised to what the caller says it just raised the entry to, for that same owner.
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
local function later(a, b)
  if b and tonumber(b) and tonumber(b) > tonumber(a) then return b end
  return a
end
local function covered(key, user, x, e, raised_for, raised_to)
  if not user then return nil end
  local until_ms = tonumber(x or e or '0') or 0
  if raised_for ~= '' and raised_for == user and tonumber(raised_to) > until_ms then
    redis.call('HSET', key, '_x', raised_to)
    until_ms = tonumber(raised_to)
  end
  return until_ms
end
local function tombstone(key, ttl)
  local fields = redis.call('HKEYS', key)
  redis.call('HSET', key, '_d', '1')
  for i = 1, #fields, 200 do redis.call('HDEL', key, unpack(fields, i, math.min(i + 199, #fields))) end
  redis.call('PEXPIRE', key, ttl)
end
local function chunked(command, key, list, from, to)
  for i = from, to, 200 do redis.call(command, key, unpack(list, i, math.min(i + 199, to))) end
end
`

// A destroyed session's key becomes its tombstone: a hash holding only `_d`, PX tombstoneTtl. One key for
// both keeps every session script on one key, which Redis Cluster serves even while the slot migrates
// (a script on two keys gets TRYAGAIN for as long as the migration has moved one and not the other).

// KEYS session[, owner's index when in the same slot]; ARGV expiresAt, member, index score, field/value pairs…
// Refuses a live or tombstoned id: a create must never overwrite a session nor bring a destroyed one back.
// The tombstone is also what stops a login that a revocation of its user overtook (cross-slot.ts): such a
// tombstone names the revoked user (`_r`), and a create for that user answers 2 ('revoked'), not 0 ('collision').
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local revoked = redis.call('HGET', KEYS[1], '_r')
  if revoked then
    for i = 4, #ARGV - 1, 2 do
      if ARGV[i] == '_u' and ARGV[i + 1] == revoked then return 2 end
    end
  end
  return 0
end
chunked('HSET', KEYS[1], ARGV, 4, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if KEYS[2] then
  redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[2])
  settle(KEYS[2], now_ms())
end
return 1
`

// KEYS session[, new owner's index when in the same slot]; ARGV expectVersion|'', expiresAt, replace, owner
// ('' keep, '-' clear, '=' set), new owner, member, index score (for '='), raised for, raised to,
// tombstoneTtl, #deleted fields, deleted fields…, field/value pairs…
// Answers {'ok'|'gone'|'conflict', previous owner whose index must drop the member}, or {'raise', owner,
// score} when the new expiry is past what the owner's index entry covers: the caller raises it and retries.
// Refusing a missing or tombstoned session is what keeps a late write from resurrecting a destroyed one.
// A session handed to an owner whose revocation marked it meanwhile (`_k:<owner>`: it was registered in
// their index first, so the revocation saw it, while it was still another's) ends here.
const UPDATE_SCRIPT = `
local old = redis.call('HMGET', KEYS[1], '_v', '_u', '_x', '_e', '_a', '_d')
if redis.call('EXISTS', KEYS[1]) == 0 or old[6] then return {'gone'} end
if ARGV[1] ~= '' and old[1] ~= ARGV[1] then return {'conflict'} end
local handover = ARGV[4] == '=' and old[2] ~= ARGV[5]
if handover then
  local mark = redis.call('HGET', KEYS[1], '_k:' .. ARGV[5])
  if mark and tonumber(mark) > tonumber(now_ms()) then
    tombstone(KEYS[1], ARGV[10])
    return {'gone', old[2] or ''}
  end
end
if ARGV[4] == '' then
  local limit = covered(KEYS[1], old[2], old[3], old[4], ARGV[8], ARGV[9])
  if limit and tonumber(ARGV[2]) > limit then return {'raise', old[2], later(ARGV[2], old[5])} end
end
if ARGV[3] == '1' then
  local doomed = {}
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 2) == 'd:' then doomed[#doomed + 1] = field end
  end
  chunked('HDEL', KEYS[1], doomed, 1, #doomed)
end
local deleted = tonumber(ARGV[11])
chunked('HDEL', KEYS[1], ARGV, 12, 11 + deleted)
chunked('HSET', KEYS[1], ARGV, 12 + deleted, #ARGV)
redis.call('HINCRBY', KEYS[1], '_v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if ARGV[4] == '=' then
  local score = ARGV[7]
  if not handover then score = later(score, old[3] or old[4]) end
  redis.call('HSET', KEYS[1], '_x', score)
  if KEYS[2] then
    redis.call('ZADD', KEYS[2], 'GT', score, ARGV[6])
    settle(KEYS[2], now_ms())
  end
end
if ARGV[4] ~= '' and old[2] and old[2] ~= ARGV[5] then return {'ok', old[2]} end
return {'ok'}
`

// KEYS session; ARGV slideTo, slideIfBefore|'', raised for, raised to.
// Answers {fields as they were before the slide}, {} for no session (or a tombstone), or {fields, owner,
// score} when the slide is past what the owner's index entry covers: the caller raises it and retries.
const GET_SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {} end
local e, a, user, x
for i = 1, #fields, 2 do
  local f = fields[i]
  if f == '_e' then e = fields[i + 1] elseif f == '_a' then a = fields[i + 1]
  elseif f == '_u' then user = fields[i + 1] elseif f == '_x' then x = fields[i + 1]
  elseif f == '_d' then return {} end
end
local expires = tonumber(e or '')
if not expires or (ARGV[2] ~= '' and expires >= tonumber(ARGV[2])) then return {fields} end
local to = ARGV[1]
if a and tonumber(a) and tonumber(a) < tonumber(to) then to = a end
if tonumber(to) <= expires then return {fields} end
local limit = covered(KEYS[1], user, x, e, ARGV[3], ARGV[4])
if limit and tonumber(to) > limit then return {fields, user, later(to, a)} end
redis.call('HSET', KEYS[1], '_e', to)
redis.call('PEXPIREAT', KEYS[1], to)
return {fields}
`

// KEYS session; ARGV expiresAt, raised for, raised to. A missing (or tombstoned) session stays so.
// Answers {}, or {owner, score} when the new expiry is past what the owner's index entry covers.
const TOUCH_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], '_u', '_x', '_e', '_a', '_d')
if redis.call('EXISTS', KEYS[1]) == 0 or h[5] then return {'gone'} end
local limit = covered(KEYS[1], h[1], h[2], h[3], ARGV[2], ARGV[3])
if limit and tonumber(ARGV[1]) > limit then return {h[1], later(ARGV[1], h[4])} end
redis.call('HSET', KEYS[1], '_e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return {'ok'}
`

// KEYS session; ARGV tombstoneTtl, owner|''. Leaves a tombstone, which makes a racing create of the id answer
// 'collision': in place of the session, or of no session yet (a create a revocation overtook). With an owner
// (a revocation), a live session that is not that owner's is kept, marked so that it cannot be handed to them
// while the revocation's tombstones last; the tombstone of an id not created yet names the owner (`_r`), so
// that the overtaken create can say 'revoked'. Answers {deleted (0|1), the session's owner|''}.
const DESTROY_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], '_u', '_d')
if h[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {0, ''}
end
local exists = redis.call('EXISTS', KEYS[1])
if ARGV[2] ~= '' and exists == 1 and h[1] ~= ARGV[2] then
  redis.call('HSET', KEYS[1], '_k:' .. ARGV[2], string.format('%.0f', tonumber(now_ms()) + tonumber(ARGV[1])))
  return {0, h[1] or ''}
end
tombstone(KEYS[1], ARGV[1])
if ARGV[2] ~= '' and exists == 0 then redis.call('HSET', KEYS[1], '_r', ARGV[2]) end
return {exists, h[1] or ''}
`

// KEYS index; ARGV op ('add' | 'rem' | 'read'), score, members…. 'add' never lowers a score (GT); 'read'
// answers the members, by score. Each drops the entries whose score has passed.
const INDEX_SCRIPT = `
local now = now_ms()
if ARGV[1] == 'add' then redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[3])
elseif ARGV[1] == 'rem' then chunked('ZREM', KEYS[1], ARGV, 3, #ARGV) end
settle(KEYS[1], now)
if ARGV[1] == 'read' then return redis.call('ZRANGE', KEYS[1], 0, -1) end
return 1
`

export interface Script {
  readonly source: string
  readonly sha: string
}

function script(body: string): Script {
  const source = PRELUDE + body
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

export const SCRIPTS = {
  create: script(CREATE_SCRIPT),
  update: script(UPDATE_SCRIPT),
  get: script(GET_SCRIPT),
  touch: script(TOUCH_SCRIPT),
  destroy: script(DESTROY_SCRIPT),
  index: script(INDEX_SCRIPT),
}
