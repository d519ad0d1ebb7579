import { EventEmitter } from 'node:events'
import { createHash, createHmac } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { SessionDataError, StoreUnavailableError } from '../errors.ts'
import type { SessionEventName, SessionEvents } from '../events.ts'
import { emitSafely } from '../emit-safely.ts'
import { isSecureRequest } from '../request-security.ts'
import type { Policy } from '../options.ts'
import { kSync, type CreateResult, type GetOptions, type NewSession, type SessionPatch, type SessionStore, type StoredSession, type SyncAccess, type SyncStore, type UpdateResult } from '../stores/contract.ts'
import { storeKindOf } from '../stores/kind.ts'
import { openTelemetry } from '../telemetry/telemetry.ts'
import type { BreakerState } from '../telemetry/conventions.ts'
import { clientFingerprint } from './binding.ts'
import { Deadlines, StoreCall, storeFailure, type CallAccount } from './store-call.ts'
import { VerifiedCookies, type KnownCookie } from './verified-cookies.ts'

/**
 * What one `session()` call shares across its requests: the frozen policy, the store, the event
 * emitter, the keyed hashes used in events and bindings, and the circuit breaker.
 */
export class Engine {
  readonly policy: Policy
  readonly store: SessionStore
  readonly events = new EventEmitter()
  /** Cookie values verified (or issued) by this middleware, and what they stand for. */
  readonly verified = new VerifiedCookies<KnownCookie>()
  readonly #hashKey: Buffer
  storeReady = true
  /** The store is an express-session store: its `create` overwrites, its writes are whole objects. */
  lastWriterWins = false
  /** Consecutive store failures, and until when the breaker is open (epoch ms). */
  #failures = 0
  #openUntil = 0
  /** Store calls in flight (R22: bounded), and their deadlines. */
  #inFlight = 0
  readonly #calls: CallAccount
  /** Metrics and spans; undefined when `@opentelemetry/api` is not installed. */
  readonly #telemetry: ReturnType<typeof openTelemetry>
  readonly storeKind: ReturnType<typeof storeKindOf>
  /** Until when (epoch ms) a session an earlier version stored under its tagged key may still be alive (see `otherStoreKey`). */
  readonly #taggedKeysUntil: number

  constructor(policy: Policy, store: SessionStore) {
    this.policy = policy
    this.store = store
    this.storeKind = storeKindOf(store)
    this.#telemetry = openTelemetry(this)
    this.#calls = {
      deadlines: new Deadlines(policy.storeTimeout),
      answered: () => {
        this.#inFlight--
        this.#failures = 0
        // a success after the cooldown closes the breaker (a past deadline and none are the same to the gate)
        if (this.#openUntil !== 0 && Date.now() >= this.#openUntil) this.#openUntil = 0
      },
      failed: (operation, err) => {
        this.#inFlight--
        // unreadable data is one record's problem, not the store's: no event, and it does not count towards the breaker
        if (err instanceof SessionDataError) return
        this.#countFailure()
        this.emit('store_error', () => ({ operation, error: err }))
      },
    }
    // a session lives at most absoluteTimeout from its creation, and earlier versions stop creating sessions
    // when the upgrade is done: twice the timeout covers an upgrade that takes up to one timeout to roll out
    this.#taggedKeysUntil = Date.now() + 2 * policy.absoluteTimeout
    // a key for event hashes and bindings, derived from the signing secret and never used to sign anything
    this.#hashKey = createHmac('sha256', policy.secrets[0] as string).update('tessera-session event id hash').digest()
  }

  /** A keyed hash of an id, stable while the first secret is, safe to log (R25). */
  idHash(id: string): string {
    return createHmac('sha256', this.#hashKey).update(id).digest('base64url').slice(0, 22)
  }

  /** The key a session is stored under (R5); see `storeKeyOf`. */
  storeKey(id: string): string {
    return storeKeyOf(id)
  }

  /**
   * The other key a v1 id's session may be stored under, given the one just tried: `taggedStoreKeyOf`
   * after `storeKeyOf`, and back; undefined once no session stored by an earlier version can be alive.
   * Sessions stored before ids were fully random are found this way.
   */
  otherStoreKey(id: string, tried: string): string | undefined {
    if (Date.now() >= this.#taggedKeysUntil) return undefined
    const key = storeKeyOf(id)
    return tried === key ? taggedStoreKeyOf(id) : key
  }

  /**
   * The key that holds the live session of `id`: `storeKeyOf(id)`, or `taggedStoreKeyOf(id)` when the
   * session is not there (stored before ids were fully random). One store read, while such sessions may live.
   */
  async heldKey(id: string): Promise<string> {
    const key = storeKeyOf(id)
    if (Date.now() >= this.#taggedKeysUntil) return key
    const record = await this.call('get', (store) => store.get(key))
    return record !== null ? key : taggedStoreKeyOf(id)
  }

  /** The client-binding fingerprint of a request (R26), or undefined when binding is off. */
  bindingOf(req: IncomingMessage): string | undefined {
    return clientFingerprint(this.#hashKey, this.policy.binding, req)
  }

  /**
   * Emits (a listener's failure never reaches the request: see `emitSafely`), and feeds the event's
   * counter, building the payload only when someone listens or a meter provider is registered.
   */
  emit<E extends SessionEventName>(name: E, payload: () => SessionEvents[E]): void {
    const count = this.#telemetry?.eventCounter(name)
    const listening = this.events.listenerCount(name) > 0
    if (count === undefined && !listening) return
    const value = payload()
    count?.(value)
    if (listening) emitSafely(this.events, name, value)
  }

  isSecure(req: IncomingMessage): boolean {
    return isSecureRequest(req, this.policy.proxy)
  }

  /**
   * A store call with the policy's timeout (R22). Fails at once while the store reported
   * `disconnect`, while the circuit breaker is open after repeated failures, and when
   * `maxStoreCalls` calls are in flight already. Any failure but unreadable data raises `store_error`
   * (R25); one promise per call, whatever the policy.
   */
  call<T>(operation: string, run: (store: SessionStore) => Promise<T>): Promise<T> {
    const observed = this.#telemetry?.storeCall(operation)
    return observed === undefined ? this.#call(operation, run) : observed.settle(this.#call(operation, observed.wrap(run)))
  }

  #call<T>(operation: string, run: (store: SessionStore) => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.policy.maxStoreCalls) {
      // shed load rather than queue behind a slow store: these requests fail fast with 503
      return this.#refuse(operation, `store ${operation} refused: ${this.policy.maxStoreCalls} store calls already in flight`)
    }
    if (!this.storeReady) return this.#refuse(operation, `store ${operation} failed: store is disconnected`)
    const breaker = this.policy.circuitBreaker
    if (breaker !== undefined && Date.now() < this.#openUntil) {
      return this.#refuse(operation, `store ${operation} skipped: the circuit breaker is open after ${breaker.failures} failures`)
    }
    this.#inFlight++
    return new Promise<T>((resolve, reject) => {
      const call = new StoreCall<T>(this.#calls, operation, { resolve, reject })
      this.#calls.deadlines.start(call)
      let pending: Promise<T>
      try {
        pending = run(this.store)
      } catch (err) {
        call.fail(err)
        return
      }
      pending.then(
        (value) => call.succeed(value),
        (err: unknown) => call.fail(err),
      )
    })
  }

  /**
   * The store's read without a promise, for a store that can (see `kSync`), behind the same gates
   * as `call` and with the same failure accounting; undefined when it cannot: read through `call`.
   */
  readNow(key: string, options: GetOptions | undefined): StoredSession | null | undefined {
    const sync = this.#sync('get')
    return sync === undefined ? undefined : this.#now('get', () => sync.read(key, options))
  }

  /** The store's create without a promise, as `readNow` reads; undefined when it cannot: create through `call`. */
  createNow(key: string, session: NewSession): CreateResult | undefined {
    const sync = this.#sync('create')
    return sync === undefined ? undefined : this.#now('create', () => sync.insert(key, session))
  }

  /** The store's update without a promise, as `readNow` reads; undefined when it cannot: update through `call`. */
  updateNow(key: string, patch: SessionPatch, expiresAt: number): UpdateResult | undefined {
    const sync = this.#sync('update')
    return sync === undefined ? undefined : this.#now('update', () => sync.write(key, patch, expiresAt))
  }

  /**
   * The store's synchronous calls, when `operation` may use them now: the store's method is the one
   * they stand for, and the gates are open. A store call that telemetry watches (a meter or tracer
   * provider is registered) is timed and traced as a promise: it goes through `call`.
   */
  #sync(operation: 'get' | 'create' | 'update'): SyncAccess | undefined {
    const store = this.store as SessionStore & Partial<SyncStore>
    const sync = store[kSync]
    if (sync === undefined || store[operation] !== sync[operation] || !this.storeReady || this.#openUntil !== 0) return undefined
    return this.#telemetry?.watchesStoreCalls() === true ? undefined : sync
  }

  #now<T>(operation: string, run: () => T): T {
    let result: T
    try {
      result = run()
    } catch (err) {
      const failure = storeFailure(operation, err)
      if (!(failure instanceof SessionDataError)) {
        this.#countFailure()
        this.emit('store_error', () => ({ operation, error: failure }))
      }
      throw failure
    }
    this.#failures = 0
    return result
  }

  /** Store calls in flight, for telemetry. */
  get storeCallsInFlight(): number {
    return this.#inFlight
  }

  /** The breaker's state, for telemetry: `half_open` once the cooldown has passed, until a call succeeds. */
  circuitBreakerState(): BreakerState | undefined {
    if (this.policy.circuitBreaker === undefined) return undefined
    if (this.#openUntil === 0) return 'closed'
    return Date.now() < this.#openUntil ? 'open' : 'half_open'
  }

  #refuse(operation: string, message: string): Promise<never> {
    const err = new StoreUnavailableError(message)
    this.emit('store_error', () => ({ operation, error: err }))
    return Promise.reject(err)
  }

  #countFailure(): void {
    const breaker = this.policy.circuitBreaker
    if (breaker === undefined || ++this.#failures < breaker.failures) return
    // open; after the cooldown calls go through again (half-open), and the first failure reopens it
    this.#openUntil = Date.now() + breaker.cooldown
    this.#failures = breaker.failures - 1
  }
}

/**
 * The key a session id is stored under (R5): the SHA-256 of the whole id, base64url, and nothing else,
 * so that whoever reads the store learns nothing of the id (not even a part of it) nor whose session
 * it is. Not keyed: a secret rotation must not move sessions.
 */
export function storeKeyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url')
}

/**
 * The key earlier versions stored a session under: the id's first 8 characters (for a signed-in
 * session, a hash of its user id) in front of `storeKeyOf(id)`. Such sessions are still found there,
 * and stay there until they expire or their id is renewed; new sessions never use it.
 */
export function taggedStoreKeyOf(id: string): string {
  return id.slice(0, 8) + storeKeyOf(id)
}
