/**
 * CPU used during a measurement by processes that are not part of it (Linux /proc; elsewhere
 * nothing is measured). Everything the machine did, from /proc/stat, minus the harness, its server
 * and generator, and the Redis and PostgreSQL servers: what is left is someone else's load (a test
 * suite, a build), which makes the numbers of that measurement doubtful.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'

const SERVICES = new Set(['redis-server', 'postgres'])

export interface CpuSnapshot {
  at: number
  /** Busy jiffies of all CPUs. */
  busy: number
  /** Jiffies of the processes that belong to the measurement, by pid. */
  ours: Map<number, number>
}

function readStat(pid: number | string): { comm: string; jiffies: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = text.lastIndexOf(')')
    const comm = text.slice(text.indexOf('(') + 1, close)
    const fields = text.slice(close + 2).split(' ')
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) "
    return { comm, jiffies: Number(fields[11]) + Number(fields[12]) }
  } catch {
    return undefined
  }
}

/** A snapshot, or undefined when /proc is not there. */
export function cpuSnapshot(pids: readonly number[]): CpuSnapshot | undefined {
  let line: string
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string
  } catch {
    return undefined
  }
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number)
  const ours = new Map<number, number>()
  const wanted = new Set(pids)
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    const stat = readStat(pid)
    if (stat !== undefined && (wanted.has(pid) || SERVICES.has(stat.comm))) ours.set(pid, stat.jiffies)
  }
  return { at: performance.now(), busy: user + nice + system + irq + softirq + steal, ours }
}

/** Share of one core (0–cores) that other processes used between two snapshots. */
export function otherCpu(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined): number | undefined {
  if (before === undefined || after === undefined) return undefined
  let ours = 0
  for (const [pid, jiffies] of after.ours) ours += jiffies - (before.ours.get(pid) ?? jiffies)
  // USER_HZ is 100 on every Linux build Node supports
  const seconds = (after.at - before.at) / 1000
  const other = (after.busy - before.busy - ours) / 100 / seconds
  return Math.max(0, Math.min(cpus().length, other))
}

/**
 * CPU seconds (user + system) process `pid` used between two snapshots, or undefined when either
 * lacks it. Steal time (another guest on the host) is not in it, so it is steadier than throughput.
 */
export function processCpuSeconds(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined, pid: number): number | undefined {
  const from = before?.ours.get(pid)
  const to = after?.ours.get(pid)
  return from === undefined || to === undefined ? undefined : (to - from) / 100
}
