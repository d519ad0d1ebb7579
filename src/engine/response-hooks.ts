import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http'

/**
 * How the session layers hook a response, through public APIs only. Together with engine/commit.ts
 * (which decides what the hooks do for the main entry) this is the only code that touches `res`.
 * - `onHeaders`: runs a listener once, just before the status line and headers are written, so the
 *   Set-Cookie decision sees the final state of the session (as the on-headers package does for
 *   express-session, including the CVE-2025-7339 fix for array headers).
 * - `holdEnd`: when the listener says a store write is due, `res.end` writes all but the last byte,
 *   waits for the store, then finishes; the client never sees a complete response before the session is stored.
 * - `guardFirstWrite` (main entry, in first-write-guard.ts): a response the app starts with `write`
 *   or `writeHead` can still fail before its first byte.
 * Each takes a `context` (the request's state) that it hands to the listeners, so they are defined
 * once rather than per request. Nothing these hooks run may throw out of `writeHead`, `write` or
 * `end`: the caller is often a timer or a stream, where a throw is an uncaught exception that ends the process.
 */

type WriteHead = ServerResponse['writeHead']
/** `writeHead` as the hook calls the one it replaced: the status code, and the reason phrase when the app gave one. */
type PlainWriteHead = (this: ServerResponse, statusCode: number, reason?: string) => ServerResponse
type HeaderArgument = OutgoingHttpHeaders | OutgoingHttpHeader[] | OutgoingHttpHeader[][] | undefined

function applyHeaders(res: ServerResponse, headers: HeaderArgument): void {
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [string, OutgoingHttpHeader][]) if (pair[0]) res.setHeader(pair[0], pair[1])
      return
    }
    const flat = headers as unknown as string[]
    if (flat.length % 2 !== 0) throw new TypeError('headers array is malformed')
    // a flat array may repeat a name (several Set-Cookie lines): replace, then append each
    for (let i = 0; i < flat.length; i += 2) res.removeHeader(flat[i] as string)
    for (let i = 0; i < flat.length; i += 2) if (flat[i]) res.appendHeader(flat[i] as string, flat[i + 1] as string)
  } else if (headers) {
    // an undefined value throws in setHeader, as it does in plain Node: the app's mistake stays visible
    for (const key of Object.keys(headers)) if (key) res.setHeader(key, headers[key] as OutgoingHttpHeader)
  }
}

/**
 * One response's header hook: the `writeHead` it replaced, and the listener to run once. The hooked
 * methods of this file are methods of such a record, bound to it, never closures made per response:
 * V8 kept closures made per request and stored on an object alive through young-generation
 * collections, and with them the whole request they reached (see the README's design notes).
 */
class HeaderHook<C> {
  readonly #res: ServerResponse
  readonly #previous: PlainWriteHead
  readonly #listener: (context: C) => void
  readonly #context: C
  #fired = false

  constructor(res: ServerResponse, listener: (context: C) => void, context: C) {
    this.#res = res
    this.#previous = res.writeHead as PlainWriteHead
    this.#listener = listener
    this.#context = context
  }

  writeHead(statusCode: number, reasonOrHeaders?: unknown, maybeHeaders?: unknown): ServerResponse {
    const res = this.#res
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined
    // headers given to writeHead are set first, so the listener appends to them rather than being overwritten
    // (compat: as the on-headers package, headers count in the second place, or the third after a reason phrase)
    res.statusCode = statusCode
    applyHeaders(res, (reason === undefined ? reasonOrHeaders : maybeHeaders) as HeaderArgument)
    if (!this.#fired) {
      this.#fired = true
      this.#listener(this.#context)
      // the listener may have changed the status code, which the given reason phrase would not match
      if (res.statusCode !== statusCode) return this.#previous.call(res, res.statusCode)
    }
    return reason === undefined ? this.#previous.call(res, statusCode) : this.#previous.call(res, statusCode, reason)
  }
}

/** Runs `listener(context)` once, before the headers are written, whatever `writeHead` signature the app uses. */
export function onHeaders<C>(res: ServerResponse, listener: (context: C) => void, context: C): void {
  const hook = new HeaderHook(res, listener, context)
  res.writeHead = hook.writeHead.bind(hook) as WriteHead
}

/** Appends one Set-Cookie value, keeping every value already set by `setHeader` or `writeHead`. */
export function appendSetCookie(res: ServerResponse, value: string): void {
  // compat: an empty previous value ('' or 0) is dropped, as express-session's `getHeader(…) || []` does
  const previous = res.getHeader('Set-Cookie') || []
  res.setHeader('Set-Cookie', Array.isArray(previous) ? [...previous, value] : [String(previous), value])
}

/** Marks a response whose `end` was called (a held `end` may still wait): a property, as a WeakSet per response cost more than the rest of `end`. */
const kEnding = Symbol('tessera-session.ending')

type MarkedResponse = ServerResponse & { [kEnding]?: true }

/** The app has sent the response: its headers are out, or it called `res.end` (which may still wait for the store). */
export function isResponseSent(res: ServerResponse): boolean {
  return res.headersSent || res.writableEnded || (res as MarkedResponse)[kEnding] === true
}

/** The response lets a credentialed cross-origin request read it (Fetch: the value must be exactly `true`). */
export function allowsCredentials(res: ServerResponse): boolean {
  return res.getHeader('Access-Control-Allow-Credentials') === 'true'
}

/** What the end of a response does for one session layer; the methods get the hook's context. */
export interface EndHook<C, W> {
  /**
   * Main entry: when the headers are not sent yet, run the store work before anything is written,
   * so a failure can still become an error response (fail closed) and Set-Cookie is decided after
   * the store answered. `res.end` then returns `res`, as Node's does.
   */
  readonly writeFirst: boolean
  /** On the first `res.end`: the store work due, or undefined to end the response at once. */
  decide(context: C): W | undefined
  /** Carries `work` out and calls `done` once, with the error if it failed. */
  run(work: W, context: C, done: (err?: unknown) => void): void
  /** Called (after `res.end` is restored) when the work failed, or `decide` or `run` threw. */
  onError(err: unknown, context: C): void
}

type End = (...args: unknown[]) => unknown
type Write = (...args: unknown[]) => boolean

/**
 * Replaces `res.end`: on the first call the hook's `decide` says what store work is due; without
 * work the response ends at once. A second call does nothing. When the headers must go out first,
 * all but the last byte is written, and the last byte waits for the store, so the client cannot see
 * a complete response before the session is stored. compat: without `writeFirst`, `end` returns the
 * boolean of the inner write and `false` on a second call, as in express-session.
 */
export function holdEnd<C, W>(res: ServerResponse, hook: EndHook<C, W>, context: C): void {
  const held = new HeldEnd(res, hook, context)
  // bound, not a closure: see HeaderHook
  res.end = held.end.bind(held) as unknown as ServerResponse['end']
}

/** One response's held `end`: the original methods, and the arguments of the `end` call while the store works. */
class HeldEnd<C, W> {
  readonly #res: ServerResponse
  readonly #hook: EndHook<C, W>
  readonly #context: C
  readonly #end: End
  readonly #write: Write
  #ended = false
  /** The chunk, or its held-back last byte, has not been written yet. */
  #pending = true
  #result: unknown
  #chunk: unknown
  #encoding: unknown
  #callback: unknown

  constructor(res: ServerResponse, hook: EndHook<C, W>, context: C) {
    this.#res = res
    this.#hook = hook
    this.#context = context
    this.#end = res.end as unknown as End
    this.#write = res.write as unknown as Write
  }

  end(chunk?: unknown, encoding?: unknown, callback?: unknown): unknown {
    const res = this.#res
    const writeFirst = this.#hook.writeFirst
    if (this.#ended) return writeFirst ? res : false
    this.#ended = true
    ;(res as MarkedResponse)[kEnding] = true
    let work: W | undefined
    try {
      work = this.#hook.decide(this.#context)
    } catch (err) {
      this.#fail(err)
      return writeFirst ? res : false
    }
    if (work === undefined) return this.#end.call(res, chunk, encoding, callback)
    this.#chunk = chunk
    this.#encoding = encoding
    this.#callback = callback
    if (writeFirst && !res.headersSent) {
      this.#run(work, (err) => (err === undefined ? this.#finish() : this.#fail(err)))
      return res
    }
    this.#run(work, (err) => this.#settled(err))
    // the store answered synchronously: the response is already complete
    if (!this.#pending) return writeFirst ? res : this.#result
    return this.#holdLastByte()
  }

  /** Writes all of the chunk but its last byte (when its length is declared), which waits for the store. */
  #holdLastByte(): unknown {
    const res = this.#res
    const writeFirst = this.#hook.writeFirst
    if (!res.headersSent) res.writeHead(res.statusCode)
    const chunk = this.#chunk
    if (chunk == null) return writeFirst ? res : true
    const contentLength = Number(res.getHeader('Content-Length'))
    if (!isNaN(contentLength) && contentLength > 0) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, this.#encoding as BufferEncoding)
      this.#encoding = undefined
      if (buffer.length !== 0) {
        // hold back the last byte until the store answered
        this.#chunk = buffer.subarray(buffer.length - 1)
        const wrote = this.#write.call(res, buffer.subarray(0, buffer.length - 1))
        return writeFirst ? res : wrote
      }
    }
    this.#pending = false
    const wrote = this.#write.call(res, chunk, this.#encoding)
    return writeFirst ? res : wrote
  }

  /** The store answered after the headers went out: finish what is pending, or fail. */
  #settled(err: unknown): void {
    if (err !== undefined) {
      // the headers are out: the response cannot become an error any more; the error goes to
      // Express, which ends the connection rather than let a half-committed response look complete
      this.#pending = false
      this.#fail(err)
      return
    }
    if (this.#pending) {
      this.#pending = false
      this.#result = this.#finish()
      return
    }
    this.#end.call(this.#res)
  }

  #finish(): unknown {
    return this.#end.call(this.#res, this.#chunk, this.#encoding, this.#callback)
  }

  #fail(err: unknown): void {
    this.#res.end = this.#end as ServerResponse['end']
    this.#hook.onError(err, this.#context)
  }

  /** Runs the work; a synchronous throw is its failure, unless it had called `done` already. */
  #run(work: W, done: (err?: unknown) => void): void {
    let called = false
    const once = (err?: unknown): void => {
      if (called) return
      called = true
      done(err)
    }
    try {
      this.#hook.run(work, this.#context, once)
    } catch (err) {
      once(err ?? new TypeError('the end-of-response work threw without an error'))
    }
  }
}
