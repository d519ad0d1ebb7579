/**
 * Heap per MemoryStore entry, in a process of its own started with --expose-gc:
 * `node --expose-gc bench/scale/heap.ts <main|compat|express-session> <count>` prints
 * `{ bytesPerEntry, entries }`: heapUsed after a full GC with the store filled, minus before, divided
 * by the entries (their ids included, as an app holds them).
 */
import { createRequire } from 'node:module'
import { MemoryStore } from '../../src/stores/memory.ts'
import { MemoryStore as CompatMemoryStore } from '../../src/compat/memory-store.ts'
import { loginStoreKey, legacyId, typicalLegacySession, typicalNewSession } from './typical.ts'

const require = createRequire(import.meta.url)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')

interface CallbackStore {
  set(id: string, session: object, callback: (err?: unknown) => void): void
  length(callback: (err: unknown, n: number) => void): void
}

function settle(): number {
  for (let i = 0; i < 4; i++) gc?.()
  return process.memoryUsage().heapUsed
}

async function fill(kind: string, count: number): Promise<{ keep: unknown; entries: number }> {
  if (kind === 'main') {
    const store = new MemoryStore({ max: count + 1 })
    const now = Date.now()
    for (let i = 0; i < count; i++) await store.create(loginStoreKey(), typicalNewSession(i, now))
    return { keep: store, entries: await store.length() }
  }
  const Store = kind === 'compat' ? CompatMemoryStore : (require('express-session') as { MemoryStore: new (options?: object) => CallbackStore }).MemoryStore
  const store = new (Store as unknown as new (options?: object) => CallbackStore)(kind === 'compat' ? { max: count + 1 } : {})
  for (let i = 0; i < count; i++) await new Promise<void>((resolve, reject) => store.set(legacyId(), typicalLegacySession(i), (err) => (err ? reject(err) : resolve())))
  const entries = await new Promise<number>((resolve, reject) => store.length((err, n) => (err ? reject(err) : resolve(n))))
  return { keep: store, entries }
}

const [kind = 'main', countText = '100000'] = process.argv.slice(2)
const before = settle()
const { keep, entries } = await fill(kind, Number(countText))
const after = settle()
process.stdout.write(`${JSON.stringify({ bytesPerEntry: (after - before) / entries, entries, kept: keep !== undefined })}\n`)
