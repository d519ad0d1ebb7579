import { EventEmitter } from 'node:events'
import { createHmac } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { SessionEventName, SessionEvents } from '../events.ts'
import { isSecureRequest } from '../compat/middleware.ts'
import type { Policy } from '../options.ts'
import type { SessionStore } from '../stores/contract.ts'
import { callStore } from './store-call.ts'

/**
 * What one `session()` call shares across its requests: the frozen policy, the store, the event
 * emitter, and the keyed hash used in events.
 */
export class Engine {
  readonly policy: Policy
  readonly store: SessionStore
  readonly events = new EventEmitter()
  readonly #hashKey: Buffer
  storeReady = true

  constructor(policy: Policy, store: SessionStore) {
    this.policy = policy
    this.store = store
    // a key for event hashes, derived from the signing secret and never used to sign anything
    this.#hashKey = createHmac('sha256', policy.secrets[0] as string).update('tessera-session event id hash').digest()
  }

  /** A keyed hash of an id, stable while the first secret is, safe to log (R25). */
  idHash(id: string): string {
    return createHmac('sha256', this.#hashKey).update(id).digest('base64url').slice(0, 22)
  }

  /** Emits only when someone listens, building the payload only then. */
  emit<E extends SessionEventName>(name: E, payload: () => SessionEvents[E]): void {
    if (this.events.listenerCount(name) > 0) this.events.emit(name, payload())
  }

  isSecure(req: IncomingMessage): boolean {
    return isSecureRequest(req, this.policy.proxy)
  }

  /** A store call with the policy's timeout; rejects at once while the store reported `disconnect`. */
  call<T>(operation: string, run: (store: SessionStore) => Promise<T>): Promise<T> {
    if (!this.storeReady) return callStore(operation, this.policy.storeTimeout, () => Promise.reject(new Error('store is disconnected')))
    return callStore(operation, this.policy.storeTimeout, () => run(this.store))
  }
}
