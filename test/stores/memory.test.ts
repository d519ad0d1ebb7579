import { MemoryStore } from '../../src/stores/memory.ts'
import { runConformance } from './conformance.ts'

runConformance('memory', {
  keepsExpiry: true,
  make: () => new MemoryStore(),
  dispose: (store) => store.close?.(),
  // the store's backend is its own map, written only through the contract: metadata as any caller could hand it over
  writeMeta: async (store, id, json) => {
    await store.update(id, { set: {}, unset: [], meta: JSON.parse(json), whole: {} }, Date.now() + 3_600_000)
  },
})
