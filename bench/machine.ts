/** What the report says about the machine and the code it measured. */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os'
import { join } from 'node:path'
import { canPin } from './child.ts'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  date: string
  /** 1, 5 and 15 minute load averages. */
  load: number[]
  pinned: boolean
  commit: string
  /** Whether src/ differed from the commit (someone was editing it). */
  srcDirty: boolean
  packages: Record<string, string>
}

function git(root: string, args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : ''
}

function versionOf(root: string, name: string): string {
  try {
    // read from disk: some packages' exports maps do not expose package.json
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'))
    if (line !== undefined) return line.split(':')[1]?.trim() ?? '?'
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? '?'
}

export function machineInfo(root: string): Machine {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: loadavg().map((l) => Math.round(l * 100) / 100),
    pinned: canPin(),
    commit: git(root, ['rev-parse', '--short', 'HEAD']) || '?',
    srcDirty: git(root, ['status', '--porcelain', '--', 'src']) !== '',
    packages: Object.fromEntries(['express', 'express-session', 'connect-redis', 'connect-pg-simple', 'redis', 'pg', 'autocannon'].map((n) => [n, versionOf(root, n)])),
  }
}
