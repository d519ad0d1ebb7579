/**
 * Property-based fuzzing of cookie parsing and verification (R6, R8, R9): arbitrary Cookie headers
 * (random names, values, separators, Unicode, and mutations of valid signed cookies) give either no
 * session or exactly the right one, never an exception. The expected outcome comes from a small
 * independent model of RFC 6265bis cookie-pair splitting. Seeded, so runs are reproducible
 * (FC_SEED=<n> to explore another seed).
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { readSessionId } from '../../src/engine/read.ts'
import { signLegacy, signV1 } from '../../src/signing.ts'
import { HOSTS, OTHER_SECRET, SECRET, cleanup, cookiePair } from '../http/helpers.ts'
import { target, userOf } from './helpers.ts'

afterEach(cleanup)

const SEED = Number(process.env.FC_SEED ?? 20_261_123)
const SECRETS = [SECRET, OTHER_SECRET]
const ID = 'q8Kd1-Zx3fVbN0aLmP7_tRy2uWc4eHgJ5kS6oQ9iXyA'
const ID2 = 'Z'.repeat(22) + '_fuzz-second-secret_'
const LEGACY_ID = 'eXpReSsSeSsIoN-iD_0123456789abcd'
/** Signed by the first secret, by the second (re-issued), and an express-session cookie. */
const VALID = signV1(ID, 'sid', SECRET)
const VALID2 = signV1(ID2, 'sid', OTHER_SECRET)
const LEGACY = encodeURIComponent('s:' + signLegacy(LEGACY_ID, SECRET))

type Outcome = { accept: { id: string; reissue: boolean; format: 'v1' | 'legacy' } } | { reject: readonly string[] } | 'none'

function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '')
}

function decodeIfPossible(text: string): string {
  try {
    return text.includes('%') ? decodeURIComponent(text) : text
  } catch {
    return text
  }
}

/**
 * The model: pairs are split on ";", a pair without "=" is skipped, names and values are trimmed of
 * SP and HTAB only, names match byte for byte. Exactly one `sid` pair whose value is one of the known
 * signed values is accepted; every other presence of `sid` is a rejection.
 */
function model(header: string, known: ReadonlyMap<string, { id: string; reissue: boolean; format: 'v1' | 'legacy' }>): Outcome {
  const values: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && trimBlanks(part.slice(0, eq)) === 'sid') values.push(trimBlanks(part.slice(eq + 1)))
  }
  if (values.length === 0) return 'none'
  if (values.length > 1) return { reject: ['duplicate'] }
  const raw = values[0] as string
  if (raw === '') return { reject: ['malformed'] }
  if (raw.length > 512) return { reject: ['oversize'] }
  if (raw.startsWith('v1.')) {
    const hit = known.get(raw)
    return hit?.format === 'v1' ? { accept: hit } : { reject: ['malformed', 'bad_mac'] }
  }
  // express-session's reading: one pair of double quotes stripped, then percent-decoded when valid
  const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
  const hit = known.get(decodeIfPossible(unquoted))
  return hit?.format === 'legacy' ? { accept: hit } : { reject: ['malformed', 'bad_mac'] }
}

const KNOWN = new Map([
  [VALID, { id: ID, reissue: false, format: 'v1' as const }],
  [VALID2, { id: ID2, reissue: true, format: 'v1' as const }],
  [decodeURIComponent(LEGACY), { id: LEGACY_ID, reissue: true, format: 'legacy' as const }],
])

/** One edit of a string: insert, delete, replace, truncate, wrap, repeat. */
function mutationOf(base: string): fc.Arbitrary<string> {
  const char = fc.oneof(
    fc.constantFrom('.', '=', ';', ',', ' ', '\t', '"', '%', '\\', 'A', '_', '-', '/', '+', '\u00a0', '\u00e9', '\u2028', '\u0000', '\r', '\n'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  )
  return fc.oneof(
    fc.tuple(fc.nat(base.length), char).map(([at, c]) => base.slice(0, at) + c + base.slice(at)),
    fc.nat(base.length - 1).map((at) => base.slice(0, at) + base.slice(at + 1)),
    fc.tuple(fc.nat(base.length - 1), char).map(([at, c]) => base.slice(0, at) + c + base.slice(at + 1)),
    fc.nat(base.length).map((at) => base.slice(0, at)),
    fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })).map(([before, after]) => before + base + after),
    fc.integer({ min: 2, max: 40 }).map((times) => base.repeat(times)),
    fc.constant(base.toUpperCase()),
    fc.constant(encodeURIComponent(base).replace(/\./g, '%2E')),
    fc.constant(`"${base}"`),
  )
}

function valueOf(bases: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...bases) },
    { weight: 6, arbitrary: fc.constantFrom(...bases).chain(mutationOf) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 500, maxLength: 700 }) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: 'binary-ascii', minLength: 22, maxLength: 43 }), fc.constantFrom(...SECRETS, 'not the secret, but long enough to be one')).map(([id, secret]) => signV1(id, 'sid', secret)) },
  )
}

const NAME = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('sid') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(' sid', 'sid ', '\tsid', 'SID', 'Sid', '%73id', '\u00a0sid', 'sid\u00a0', 'sidx', 'xsid', 's id', '__Host-sid', '__proto__', 'hasOwnProperty', 'constructor', ''),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
)
const SEPARATOR = fc.constantFrom('; ', ';', ';;', ' ; ', ';\t', ', ', ',', ' ', '')

function headerOf(bases: readonly string[]): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(NAME, fc.constantFrom('=', '==', ' = ', '', '=\t'), valueOf(bases), SEPARATOR), { minLength: 0, maxLength: 5 })
    .map((pairs) => pairs.map(([name, eq, value, separator]) => name + eq + value + separator).join(''))
}

/** What Node's HTTP client can send in a header and the server decodes back unchanged (latin1, no CR/LF/NUL). */
function sendable(header: string): string {
  return trimBlanks(header.replace(/[^\t\x20-\x7e\x80-\xff]/g, 'x'))
}

describe('fuzzing cookie parsing and verification', () => {
  it('R9: readSessionId gives no session, a rejection, or exactly the right id, never an exception (2000 runs)', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(headerOf([VALID, VALID2, LEGACY]), (header) => {
        const result = readSessionId(header, 'sid', SECRETS)
        const expected = model(header, KNOWN)
        if (expected === 'none') assert.equal(result, undefined)
        else if ('accept' in expected) assert.deepEqual(result, expected.accept)
        else {
          assert.ok(result !== undefined && 'rejected' in result, `expected a rejection, got ${JSON.stringify(result)}`)
          assert.ok(expected.reject.includes(result.rejected), `reason ${result.rejected} not in ${expected.reject.join('|')}`)
        }
      }),
      { numRuns: 2000, seed: SEED },
    )
  })

  it('R9: readSessionId never accepts an edited signed value, only the value itself (1000 mutations of a valid cookie alone)', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(mutationOf(VALID), (value) => {
        const header = `sid=${value}`
        const result = readSessionId(header, 'sid', SECRETS)
        const expected = model(header, KNOWN)
        // only an edit that leaves the pair's value intact (a blank or a `;` after it) may still verify
        if (typeof expected === 'object' && 'accept' in expected) assert.deepEqual(result, expected.accept)
        else assert.ok(result === undefined || 'rejected' in result, `accepted ${JSON.stringify(value)}`)
      }),
      { numRuns: 1000, seed: SEED },
    )
  })

  for (const host of HOSTS) {
    it(`R9: through a real middleware (${host.name}): 200 arbitrary Cookie headers give no session or exactly the right one, never an error`, { timeout: 30_000 }, async () => {
      const app = await target(host)
      const login = await app.server.request('/login')
      const valid = cookiePair(login).slice(4)
      const known = new Map([[valid, { id: '', reissue: false, format: 'v1' as const }]])
      await fc.assert(
        fc.asyncProperty(headerOf([valid, LEGACY]).map(sendable), async (header) => {
          const reply = await app.server.request('/me', { cookie: header })
          assert.equal(reply.status, 200, `status ${reply.status} for ${JSON.stringify(header)}`)
          const expected = model(header, known)
          assert.equal(userOf(reply), typeof expected === 'object' && 'accept' in expected ? 'ann' : null, JSON.stringify(header))
          assert.deepEqual(app.server.errors, [])
        }),
        { numRuns: 200, seed: SEED, timeout: 5_000 },
      )
    })
  }
})
