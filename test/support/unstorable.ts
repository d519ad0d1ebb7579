/**
 * Session data no store can hold, and the ways an Express handler sends a response: shared by the
 * in-process HTTP tests and the app the crash test runs in a child process.
 */
import { Readable } from 'node:stream'

/** An array nested `depth` levels deep (`[[[…]]]`), built without recursion. */
export function nestedArray(depth: number): unknown[] {
  let value: unknown[] = []
  for (let i = 1; i < depth; i++) value = [value]
  return value
}

/** An object nested `depth` levels deep (`{"a":{"a":…}}`), built without recursion. */
export function nestedObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

/**
 * The smallest of a few depths at which this runtime's JSON.stringify throws (a RangeError), or
 * undefined when it throws at none of them: V8 versions differ (Node 26 stringifies 6,000 levels).
 */
export const STRINGIFY_THROWS_AT: number | undefined = [6000, 100_000, 1_000_000].find((depth) => {
  try {
    JSON.stringify(nestedArray(depth))
    return false
  } catch {
    return true
  }
})

export interface Unstorable {
  key: string
  value: () => unknown
  /** JSON.stringify throws on it (a store could not even be handed it); otherwise only the engine's limits refuse it. */
  throws: boolean
}

/** Each kind of data a handler can put in a session that no store must see. */
export const UNSTORABLE: Record<string, Unstorable> = {
  'a cycle': {
    key: 'node',
    value: () => {
      const node: Record<string, unknown> = { name: 'a' }
      node.self = node
      return node
    },
    throws: true,
  },
  'a BigInt': { key: 'big', value: () => ({ n: 10n }), throws: true },
  ...(STRINGIFY_THROWS_AT === undefined
    ? {}
    : { [`an array too deep for JSON.stringify (${STRINGIFY_THROWS_AT.toLocaleString('en')} levels)`]: { key: 'deep', value: () => nestedArray(STRINGIFY_THROWS_AT), throws: true } }),
  'a getter that throws': {
    key: 'getter',
    value: () => ({
      get broken() {
        throw new Error('getter failed')
      },
    }),
    throws: true,
  },
  'a toJSON that throws': {
    key: 'custom',
    value: () => ({
      toJSON() {
        throw new Error('toJSON failed')
      },
    }),
    throws: true,
  },
  'an array nested 1,001 levels deep': { key: 'deep', value: () => nestedArray(1001), throws: false },
  'an object nested 1,001 levels deep': { key: 'deep', value: () => nestedObject(1001), throws: false },
  'a key with U+0000': { key: 'a\u0000b', value: () => 1, throws: false },
  'a key with a lone surrogate': { key: 'a\ud800b', value: () => 1, throws: false },
}

type Res = any

/**
 * Each way of sending a response; `spoil` puts the unstorable value in the session. All but `late`
 * spoil before the first byte; `late` spoils after the headers and a first chunk went out.
 */
export const RESPONSE_STYLES: Record<string, (res: Res, spoil: () => void, file: string) => void> = {
  send: (res, spoil) => {
    spoil()
    res.send('ok')
  },
  json: (res, spoil) => {
    spoil()
    res.json({ ok: true })
  },
  'write and end on a later tick': (res, spoil) => {
    spoil()
    setImmediate(() => {
      res.write('a')
      res.end()
    })
  },
  'writeHead, then end': (res, spoil) => {
    spoil()
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('ok')
  },
  'flushHeaders, then end': (res, spoil) => {
    spoil()
    res.flushHeaders()
    res.end('ok')
  },
  'pipe of a stream': (res, spoil) => {
    spoil()
    Readable.from(['a', 'b', 'c']).pipe(res)
  },
  sendFile: (res, spoil, file) => {
    spoil()
    res.sendFile(file)
  },
  'streamed chunks': (res, spoil) => {
    spoil()
    let sent = 0
    const timer = setInterval(() => {
      if (sent++ < 3) res.write(`chunk ${sent}\n`)
      else {
        clearInterval(timer)
        res.end()
      }
    }, 5)
  },
}

/** The headers and a first chunk are out when the data goes bad; the end of the response finds it. */
export const LATE_STYLE = (res: Res, spoil: () => void): void => {
  res.write('a')
  setImmediate(() => {
    spoil()
    res.end('b')
  })
}
