import type { IncomingMessage, ServerResponse } from 'node:http'
import { finished } from 'node:stream'

/**
 * Main entry: a response the app starts with `write`, `writeHead` or `flushHeaders` can still fail
 * before its first byte (one started with `end` is `holdEnd`'s, in response-hooks.ts, whose work runs
 * before anything is written). With response-hooks.ts and commit.ts, the only code that touches `res`.
 */

/** What `guardFirstWrite` asks before a response's first byte, and whom it tells when that fails. */
export interface FirstWriteGuard<C> {
  /** An error when the response must not start, else undefined. */
  check(context: C): unknown
  fail(err: unknown, context: C): void
}

type Method = (...args: unknown[]) => unknown

/**
 * `guard.check(context)` runs once, before the first byte of a response the app starts with `write`,
 * `writeHead` or `flushHeaders`. When it returns an error, nothing of the app's response is written:
 * that call and the app's later ones do nothing (a write reports backpressure, so a piped stream
 * pauses), until the event loop has turned and the request has been read. Then `guard.fail(err, context)`
 * hands the error to Express: an error handler of the app answers within that call; Express's own
 * answers on the next turn, after the app's calls are let through again (the request read, it answers
 * at once). Once the answer is complete, the app's writes are dropped: Node emits a write after the
 * end as an 'error' event, an uncaught exception where nobody listens.
 */
export function guardFirstWrite<C>(res: ServerResponse, guard: FirstWriteGuard<C>, context: C): void {
  const guarded = new GuardedResponse(res, guard, context)
  // bound methods, not closures made per response: see HeaderHook in response-hooks.ts
  res.writeHead = guarded.writeHead.bind(guarded) as ServerResponse['writeHead']
  res.write = guarded.write.bind(guarded) as ServerResponse['write']
  res.flushHeaders = guarded.flushHeaders.bind(guarded)
  res.end = guarded.end.bind(guarded) as ServerResponse['end']
}

/** One guarded response: the methods it replaced, and where it stands. */
class GuardedResponse<C> {
  readonly #res: ServerResponse
  readonly #guard: FirstWriteGuard<C>
  readonly #context: C
  readonly #writeHead: Method
  readonly #write: Method
  readonly #end: Method
  readonly #flushHeaders: Method
  /** `checked`: the guard let the response start; `diverted`: it refused; `failed`: the error went to Express. */
  #phase: 'open' | 'checked' | 'diverted' | 'failed' = 'open'

  constructor(res: ServerResponse, guard: FirstWriteGuard<C>, context: C) {
    this.#res = res
    this.#guard = guard
    this.#context = context
    this.#writeHead = res.writeHead as unknown as Method
    this.#write = res.write as unknown as Method
    this.#end = res.end as unknown as Method
    this.#flushHeaders = res.flushHeaders as unknown as Method
  }

  /* eslint-disable prefer-rest-params -- the app's arguments go on as they came: the same count, no array per call */
  writeHead(): ServerResponse {
    const res = this.#res
    if (this.#dropped() || (this.#phase === 'failed' && res.headersSent)) return res
    return this.#writeHead.apply(res, arguments as unknown as unknown[]) as ServerResponse
  }

  write(): boolean {
    return this.#dropped() ? false : (this.#write.apply(this.#res, arguments as unknown as unknown[]) as boolean)
  }

  flushHeaders(): void {
    if (!this.#dropped()) this.#flushHeaders.call(this.#res)
  }

  end(): unknown {
    const res = this.#res
    if (this.#phase === 'diverted' || (this.#phase === 'failed' && res.writableEnded)) return res
    // the headers `end` sends are decided by holdEnd's work
    if (this.#phase === 'open') this.#phase = 'checked'
    return this.#end.apply(res, arguments as unknown as unknown[])
  }
  /* eslint-enable prefer-rest-params */

  /** The call must write nothing: the response is diverted, or the error's answer is complete. */
  #dropped(): boolean {
    const res = this.#res
    if (this.#phase === 'failed') return res.writableEnded
    if (this.#phase !== 'open' || res.headersSent) return this.#phase === 'diverted'
    this.#phase = 'checked'
    const err = this.#guard.check(this.#context)
    if (err === undefined) return false
    this.#phase = 'diverted'
    setImmediate(afterRequest, res.req, () => this.#fail(err))
    return true
  }

  #fail(err: unknown): void {
    // queued before Express queues its own error handler, so it runs just before that one answers
    setImmediate(() => (this.#phase = 'failed'))
    this.#phase = 'failed'
    this.#guard.fail(err, this.#context)
    if (!this.#res.headersSent) this.#phase = 'diverted'
  }
}

/** Calls `done` once the request is read to its end (or gone), reading what is left, as Express's error handler does before it answers. */
function afterRequest(req: IncomingMessage | undefined, done: () => void): void {
  if (req === undefined || req.readableEnded || req.destroyed) {
    done()
    return
  }
  finished(req, () => done())
  req.resume()
}
