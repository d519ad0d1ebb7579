import { SessionDataError } from '../../errors.ts'
import { parseJson } from '../../safe-json.ts'
import type { SessionMeta } from '../contract.ts'
import { checkMeta } from '../record.ts'

/*
 * The `_m` field: session metadata as short JSON, so that a typical session's longest field stays
 * under Redis's hash-max-listpack-value (64 bytes by default) and its hash stays a listpack, several
 * times smaller than the hashtable one longer field turns it into. The deadlines are stored as
 * offsets from `c` (createdAt), the other fields under one-letter names; unknown fields keep theirs.
 * Records of earlier versions hold the full names (`createdAt`, …) and are read as they are.
 */

/** SessionMeta's fields and their short names; the times marked `true` are stored relative to createdAt. */
const SHORT: ReadonlyArray<readonly [keyof SessionMeta, string, boolean]> = [
  ['createdAt', 'c', false],
  ['absoluteExpiresAt', 'a', true],
  ['idleTimeout', 'i', false],
  ['authTime', 't', true],
  ['client', 'l', false],
  ['cookieMaxAge', 'k', false],
  ['binding', 'b', false],
  ['renewedAt', 'r', true],
  ['retiredAt', 'x', true],
]
const LONG_NAMES = new Set<string>(SHORT.map(([long]) => long))

/** The `_m` text of `meta`. */
export function metaText(meta: SessionMeta): string {
  const source = meta as unknown as Record<string, unknown>
  const short: Record<string, unknown> = {}
  for (const [long, name, relative] of SHORT) {
    const value = source[long]
    if (value === undefined) continue
    short[name] = relative && typeof value === 'number' ? value - meta.createdAt : value
  }
  // fields a later version added: kept, under their own (longer than one letter) names
  for (const key of Object.keys(source)) if (!LONG_NAMES.has(key) && key.length > 1) short[key] = source[key]
  return JSON.stringify(short)
}

/** Session metadata from its `_m` text, short (this version) or long (earlier ones), checked as every store checks it. */
export function parseMetaText(text: string): SessionMeta | null {
  let value: unknown
  try {
    value = parseJson(text)
  } catch (err) {
    throw new SessionDataError('redis: stored session metadata is not valid JSON', { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('c' in value)) return checkMeta('redis', value)
  const short = value as Record<string, unknown>
  const meta: Record<string, unknown> = {}
  const created = short.c
  for (const [long, name, relative] of SHORT) {
    const stored = short[name]
    if (stored === undefined) continue
    meta[long] = relative && typeof stored === 'number' && typeof created === 'number' ? created + stored : stored
  }
  for (const key of Object.keys(short)) if (key.length > 1) meta[key] = short[key]
  return checkMeta('redis', meta)
}
