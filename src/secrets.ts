import { createHash, type KeyObject } from 'node:crypto'
import { InvalidOptionError } from './errors.ts'
import type { Secret } from './signing.ts'

/** Secrets from tutorials and generators' docs; refused in production (R4). */
const KNOWN_EXAMPLES = new Set([
  'keyboard cat',
  'your-secret-key',
  'your secret key',
  'secret',
  'mysecret',
  'my-secret',
  'my secret',
  'changeme',
  'change-me',
  'supersecret',
  'super-secret',
  'shhhh',
  'shhhhh',
  'session-secret',
  'sessionsecret',
  'your_secret_key',
  'yoursecretkey',
  'secret-key',
  'secretkey',
  'keyboard-cat',
  'ssshhhhh',
  'replace-me',
  'replace-with-a-real-secret',
])

const MAX_SECRETS = 5
const MIN_BYTES = 32
/** HMAC-SHA-256's block size: shorter keys are padded with zeros, longer ones hashed (RFC 2104 §2). */
const HMAC_BLOCK = 64
/** Warning codes already emitted in this process: each warns once. */
const warned = new Set<string>()

function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return
  warned.add(code)
  process.emitWarning(message, { code })
}

function byteLength(secret: Secret): number {
  if (typeof secret === 'string') return Buffer.byteLength(secret)
  if (ArrayBuffer.isView(secret)) return secret.byteLength
  if (secret instanceof ArrayBuffer || secret instanceof SharedArrayBuffer) return secret.byteLength
  return (secret as { symmetricKeySize?: number }).symmetricKeySize ?? 0
}

/**
 * The key HMAC-SHA-256 really uses: two secrets with the same one sign alike, whatever their type
 * (a string and a Buffer of its UTF-8 bytes) or their spelling (`k` and `k` followed by NUL bytes).
 */
function hmacKey(secret: Secret): Buffer {
  let bytes: Buffer
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8')
  else if (ArrayBuffer.isView(secret)) bytes = Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
  else bytes = (secret as KeyObject).export()
  const key = Buffer.alloc(HMAC_BLOCK)
  ;(bytes.length > HMAC_BLOCK ? createHash('sha256').update(bytes).digest() : bytes).copy(key)
  return key
}

function weakness(secret: Secret): string | undefined {
  if (typeof secret === 'string' && KNOWN_EXAMPLES.has(secret.trim().toLowerCase())) return 'is a well-known example secret'
  if (byteLength(secret) < MIN_BYTES) return `is shorter than ${MIN_BYTES} bytes`
  return undefined
}

/**
 * Validates the `secret` option (R4): 1 to 5 secrets, the first signs, all verify. A weak first
 * secret (short or a known example) throws in production; elsewhere it warns once, so tutorial code
 * runs. A weak later secret only verifies, so it is accepted in production too, with a warning: an
 * app moving from express-session with a short secret keeps its users signed in while every cookie
 * is re-signed with the first. A secret given twice throws in production and warns elsewhere.
 */
export function resolveSecrets(secret: unknown, production: boolean): Secret[] {
  if (secret === undefined || secret === null || secret === '') {
    throw new InvalidOptionError('secret', 'is required: pass a random string of at least 32 bytes (e.g. from `openssl rand -base64 48`)')
  }
  const secrets = (Array.isArray(secret) ? secret : [secret]) as Secret[]
  if (secrets.length === 0 || secrets.length > MAX_SECRETS) {
    throw new InvalidOptionError('secret', `must hold 1 to ${MAX_SECRETS} secrets, the first of which signs`)
  }
  for (const [i, item] of secrets.entries()) {
    const valid = typeof item === 'string' || ArrayBuffer.isView(item) || (typeof item === 'object' && item !== null && 'symmetricKeySize' in item)
    if (!valid || byteLength(item) === 0) throw new InvalidOptionError(`secret[${i}]`, 'must be a non-empty string, Buffer or KeyObject')
    const problem = weakness(item)
    if (problem === undefined) continue
    if (production && i === 0) throw new InvalidOptionError('secret[0]', `${problem}; refused when NODE_ENV=production (the first secret signs every cookie)`)
    if (production) {
      warnOnce(
        'TESSERA_WEAK_OLD_SECRET',
        `tessera-session: secret[${i}] ${problem}; accepted only to verify cookies signed before, which are re-signed with secret[0]: remove it once those sessions have ended (idleTimeout)`,
      )
    } else {
      warnOnce('TESSERA_WEAK_SECRET', `tessera-session: the session secret ${problem}; it would be refused when NODE_ENV=production`)
    }
  }
  checkDuplicates(secrets, production)
  return secrets
}

/** The same key twice is a mistake (a rotation that did not happen, a copied variable): refused in production. */
function checkDuplicates(secrets: readonly Secret[], production: boolean): void {
  const keys = secrets.map(hmacKey)
  for (let j = 1; j < keys.length; j++) {
    const i = keys.findIndex((key, k) => k < j && key.equals(keys[j] as Buffer))
    if (i === -1) continue
    if (production) throw new InvalidOptionError(`secret[${j}]`, `is the same key as secret[${i}]; refused when NODE_ENV=production`)
    warnOnce('TESSERA_DUPLICATE_SECRET', `tessera-session: secret[${j}] is the same key as secret[${i}]; it would be refused when NODE_ENV=production`)
  }
}
