import { MemoryStore } from '../../src/stores/memory.ts'
import { runConformance } from './conformance.ts'

runConformance('memory', {
  make: () => new MemoryStore(),
  dispose: (store) => store.close?.(),
})
