/** The scale section: bytes per session, read latency as the store grows, pruning under reads. */
import { mkdirSync } from 'node:fs'
import type { RunOptions } from '../options.ts'
import type { Environment } from '../throughput.ts'
import { measureGrowth, type GrowthRow } from './growth.ts'
import { measurePrune, type PruneRow } from './prune.ts'
import { measureSizes, type SizeRow } from './sizes.ts'

export interface ScaleResult {
  sizes: SizeRow[]
  growth: GrowthRow[]
  prune: PruneRow[]
  /** Seconds each part took. */
  seconds: { sizes: number; growth: number; prune: number }
  /** A remark printed under the bytes table, when some of its rows were measured apart from this run (which, and how). */
  note?: string
}

async function timed<T>(task: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const value = await task()
  return [value, (performance.now() - started) / 1000]
}

export async function runScale(env: Environment, options: RunOptions): Promise<ScaleResult> {
  mkdirSync(env.tmpDir, { recursive: true })
  const [sizes, sizeSeconds] = await timed(() => measureSizes(env))
  const [growth, growthSeconds] = await timed(() => measureGrowth(env, options.growthLarge))
  const [prune, pruneSeconds] = await timed(() => measurePrune(env))
  return { sizes, growth, prune, seconds: { sizes: sizeSeconds, growth: growthSeconds, prune: pruneSeconds } }
}
