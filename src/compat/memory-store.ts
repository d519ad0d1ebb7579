import { inherits } from 'node:util'
import { MemoryStore as ContractMemoryStore, type MemoryStoreOptions } from '../stores/memory.ts'
import { installCallbackFace, type CallbackStore } from '../stores/legacy.ts'
import { Store } from './store.ts'

export interface CompatMemoryStore extends CallbackStore {}

export interface CompatMemoryStoreConstructor {
  new (options?: MemoryStoreOptions): CompatMemoryStore
  prototype: CompatMemoryStore
}

/**
 * `session.MemoryStore` of the compat entry: express-session's callback interface over the bounded,
 * swept memory store, so it does not grow without limit as express-session's does.
 */
export const MemoryStore = function MemoryStore(this: CompatMemoryStore, options?: MemoryStoreOptions) {
  Store.call(this)
  installCallbackFace(this, new ContractMemoryStore(options))
} as unknown as CompatMemoryStoreConstructor

inherits(MemoryStore, Store)
