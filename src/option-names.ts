import { closestName } from './closest-name.ts'
import { InvalidOptionError } from './errors.ts'

/**
 * The option names each entry knows, each list in one place: `session()` rejects any other name,
 * and the compiler holds every list to its options type where the check is called (a name the type
 * has and the list lacks, or the reverse, fails `tsc`). Adding an option is one line here.
 */
export const SESSION_OPTION_NAMES = [
  'secret',
  'name',
  'key',
  'store',
  'cookie',
  'genid',
  'resave',
  'saveUninitialized',
  'rolling',
  'proxy',
  'unset',
  'idleTimeout',
  'absoluteTimeout',
  'touchAfter',
  'storeTimeout',
  'maxSessionBytes',
  'readOnly',
  'renewAfter',
  'renewalGrace',
  'binding',
  'clearSiteData',
  'onStoreError',
  'circuitBreaker',
  'maxStoreCalls',
  'revokedBefore',
  'describeClient',
  'header',
] as const

/** The attributes of the `cookie` option (both entries). */
export const COOKIE_OPTION_NAMES = [
  'maxAge',
  'expires',
  'httpOnly',
  'secure',
  'sameSite',
  'domain',
  'path',
  'partitioned',
  'priority',
  'signed',
  'encode',
] as const

/** express-session 1.19's options, which the compat entry takes. */
export const COMPAT_OPTION_NAMES = [
  'secret',
  'name',
  'key',
  'store',
  'cookie',
  'genid',
  'resave',
  'saveUninitialized',
  'rolling',
  'proxy',
  'unset',
] as const

/**
 * `unknown` when `Names` lists exactly the keys of the options type; otherwise an object type naming
 * the difference, which the list cannot satisfy, so the call does not compile.
 */
export type ListsExactly<Keys, Names> = [Exclude<Keys, Names>] extends [never]
  ? [Exclude<Names, Keys>] extends [never]
    ? unknown
    : { namesTheTypeLacks: Exclude<Names, Keys> }
  : { namesMissingFromTheList: Exclude<Keys, Names> }

/** Names other session libraries use for what an option here does under another name: edit distance would mislead (`keys` → `key`). */
const RENAMED: ReadonlyMap<string, string> = new Map([['keys', 'secret']])

/** An option no list knows, with the known name it most likely meant. */
export interface UnknownOption {
  /** Dotted: `saveUnitialized`, `cookie.secrue`. */
  option: string
  /** Dotted too: a top-level typo may mean a cookie attribute (`maxAge` → `cookie.maxAge`) and the reverse. */
  suggestion: string | undefined
}

type Scope = { cookie: false } | { cookie: true; topLevel: readonly string[] }

/**
 * The own enumerable string keys of `options` that `names` does not list, in order. `scope` says
 * where the object sits: top level (its neighbours are the cookie attributes) or `cookie` (its
 * neighbours are `topLevel`).
 */
export function findUnknownOptions<T extends object, Names extends readonly string[]>(
  options: T,
  names: Names & ListsExactly<keyof T, Names[number]>,
  scope: Scope = { cookie: false },
): UnknownOption[] {
  return unknownIn(options, names, scope)
}

/** Throws `InvalidOptionError` for the first unknown name (its `suggestion` the closest known one), naming the others too. */
export function rejectUnknownOptions<T extends object, Names extends readonly string[]>(
  options: T,
  names: Names & ListsExactly<keyof T, Names[number]>,
  scope: Scope = { cookie: false },
): void {
  const unknown = unknownIn(options, names, scope)
  const first = unknown[0]
  if (first === undefined) return
  const others = unknown.slice(1).map((u) => `\`${u.option}\``)
  const elsewhere = first.suggestion !== undefined && first.option.startsWith('cookie.') && !first.suggestion.startsWith('cookie.')
  const hint = first.suggestion === undefined ? '' : `; did you mean \`${first.suggestion}\`${elsewhere ? ' (a top-level option, beside `cookie`)' : ''}?`
  const also = others.length === 0 ? '' : ` (also unknown: ${others.join(', ')})`
  throw new InvalidOptionError(first.option, `is not an option of tessera-session${hint}${also}`, { suggestion: first.suggestion })
}

function unknownIn(options: object, known: readonly string[], scope: Scope): UnknownOption[] {
  const neighbours: readonly string[] = scope.cookie ? scope.topLevel : COOKIE_OPTION_NAMES
  const prefix = scope.cookie ? 'cookie.' : ''
  const unknown: UnknownOption[] = []
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    // the same level first: a tie goes to it
    const closest = (scope.cookie ? undefined : RENAMED.get(key)) ?? closestName(key, [...known, ...neighbours])
    let suggestion: string | undefined
    if (closest !== undefined) suggestion = known.includes(closest) ? prefix + closest : scope.cookie ? closest : `cookie.${closest}`
    unknown.push({ option: prefix + key, suggestion })
  }
  return unknown
}
