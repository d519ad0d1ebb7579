import { StoreTimeoutError, StoreUnavailableError, TesseraError } from '../errors.ts'

/** A store call whose deadline has not passed yet. */
export interface Deadline {
  readonly at: number
  /** Runs once if the call is still pending at `at`. */
  expire(): void
}

/**
 * The deadlines of store calls in flight (R22), kept by one timer rather than one per call. Every
 * call of an engine has the same timeout, so deadlines fall in the order calls start: the oldest
 * pending call is always the next to expire, and the timer only ever waits for it. A call costs an
 * insertion into and a deletion from an ordered set. The timer stays armed between calls (a fast
 * store finishes each call before the next starts, and arming a timer per call cost more than the
 * rest of the bookkeeping) but holds the event loop only while a call is in flight, so it never keeps
 * an idle process alive. It fires at most once per timeout, and re-arms for the oldest pending call.
 */
export class Deadlines {
  readonly #timeout: number
  /** Insertion-ordered, hence ordered by deadline. */
  readonly #pending = new Set<Deadline>()
  #timer: NodeJS.Timeout | undefined

  constructor(timeout: number) {
    this.#timeout = timeout
  }

  get timeout(): number {
    return this.#timeout
  }

  /** The deadline of a call that starts now. */
  fromNow(): number {
    return Date.now() + this.#timeout
  }

  /** Starts the clock of a call (its `at` from `fromNow`); its `expire` runs once if it is still pending then. */
  start(deadline: Deadline): void {
    this.#pending.add(deadline)
    // a timer armed for an earlier call's deadline fires before this one's, and re-arms then
    if (this.#timer === undefined) this.#arm(deadline.at)
    else if (this.#pending.size === 1) this.#timer.ref()
  }

  /** Stops the clock of a call: true, or false when it had expired already (its outcome is moot). */
  finish(deadline: Deadline): boolean {
    if (!this.#pending.delete(deadline)) return false
    if (this.#pending.size === 0) this.#timer?.unref()
    return true
  }

  #arm(at: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, at - Date.now()))
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = Date.now()
    const expired: Deadline[] = []
    for (const deadline of this.#pending) {
      if (deadline.at > now) break
      expired.push(deadline)
    }
    for (const deadline of expired) this.#pending.delete(deadline)
    // re-armed before the callbacks run, so that a call they start finds the timer set
    const next = this.#pending.values().next()
    if (!next.done) this.#arm(next.value.at)
    for (const deadline of expired) deadline.expire()
  }
}

/** What a store call reports to its engine: the count of calls in flight, and the circuit breaker's. */
export interface CallAccount {
  readonly deadlines: Deadlines
  /** The call answered in time. */
  answered(): void
  /** The call failed, or did not answer in time. */
  failed(operation: string, err: TesseraError): void
}

/**
 * One store call in flight: its deadline, and how its promise settles. An object with methods, not
 * closures made per call and kept in the set of pending deadlines: V8 kept such closures, and the
 * requests they reached, alive through young-generation collections (see the README's design notes).
 */
export class StoreCall<T> implements Deadline {
  readonly at: number
  readonly #account: CallAccount
  readonly #operation: string
  readonly #resolve: (value: T) => void
  readonly #reject: (err: TesseraError) => void

  constructor(account: CallAccount, operation: string, settle: { resolve: (value: T) => void; reject: (err: TesseraError) => void }) {
    this.at = account.deadlines.fromNow()
    this.#account = account
    this.#operation = operation
    this.#resolve = settle.resolve
    this.#reject = settle.reject
  }

  expire(): void {
    this.#failed(new StoreTimeoutError(`store ${this.#operation} did not answer within ${this.#account.deadlines.timeout} ms`))
  }

  /** The store answered: the answer counts unless the deadline passed first. */
  succeed(value: T): void {
    if (!this.#account.deadlines.finish(this)) return
    this.#account.answered()
    this.#resolve(value)
  }

  /** The store failed (or threw): the failure counts unless the deadline passed first. */
  fail(err: unknown): void {
    if (this.#account.deadlines.finish(this)) this.#failed(storeFailure(this.#operation, err))
  }

  #failed(err: TesseraError): void {
    this.#account.failed(this.#operation, err)
    this.#reject(err)
  }
}

/** A store's error as the engine reports it: our own errors as they are, anything else as `StoreUnavailableError` with it as `cause`. */
export function storeFailure(operation: string, err: unknown): TesseraError {
  if (err instanceof TesseraError) return err
  const detail = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`store ${operation} failed: ${detail}`, { cause: err })
}
