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
let warnedWeak = false

function byteLength(secret: Secret): number {
  if (typeof secret === 'string') return Buffer.byteLength(secret)
  if (ArrayBuffer.isView(secret)) return secret.byteLength
  if (secret instanceof ArrayBuffer || secret instanceof SharedArrayBuffer) return secret.byteLength
  return (secret as { symmetricKeySize?: number }).symmetricKeySize ?? 0
}

function weakness(secret: Secret): string | undefined {
  if (typeof secret === 'string' && KNOWN_EXAMPLES.has(secret.trim().toLowerCase())) return 'is a well-known example secret'
  if (byteLength(secret) < MIN_BYTES) return `is shorter than ${MIN_BYTES} bytes`
  return undefined
}

/**
 * Validates the `secret` option (R4): 1 to 5 secrets, the first signs, all verify. In production a
 * weak secret (short or a known example) throws; elsewhere it warns once, so tutorial code runs.
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
    if (production) throw new InvalidOptionError(`secret[${i}]`, `${problem}; refused when NODE_ENV=production`)
    if (!warnedWeak) {
      warnedWeak = true
      process.emitWarning(`tessera-session: the session secret ${problem}; it would be refused when NODE_ENV=production`, {
        code: 'TESSERA_WEAK_SECRET',
      })
    }
  }
  return secrets
}
