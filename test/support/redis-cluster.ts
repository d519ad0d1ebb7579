/**
 * A throwaway 3-master Redis Cluster on loopback for the store tests: three `redis-server` child
 * processes (they die with `stop()`, and with the test process), joined by `redis-cli --cluster create`.
 * Without `redis-server` the suites that need it skip with one line; under CI=true that fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const HOST = '127.0.0.1'
const MASTERS = 3
/** Every wait here is bounded by this (ms). */
const STARTUP_LIMIT = 20_000

export interface RedisCluster {
  /** `host:port` of each master, as clients are given them. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>
  /** Kills the servers and removes their directory; safe to call twice. */
  stop(): Promise<void>
}

function hasBinary(name: string): boolean {
  const result = spawnSync(name, ['--version'], { stdio: 'ignore' })
  return result.error === undefined && result.status === 0
}

/** `false` when a cluster can be started here, else the skip reason. Under CI=true a missing binary throws. */
export function redisClusterSkip(): string | false {
  if (hasBinary('redis-server') && hasBinary('redis-cli')) return false
  const message = 'redis-server/redis-cli not installed: install Redis (apt-get install redis-server) to run the cluster suites'
  if (process.env.CI === 'true') throw new Error(`${message} (required because CI=true)`)
  return `skipped: ${message}`
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

/** A port P with P and its cluster bus port P + 10000 both free. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
  throw new Error('no free port pair for a cluster node')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs redis-cli to completion, bounded; resolves its stdout. */
function cli(args: string[], timeout = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out)
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code ?? signal}: ${out.trim()}`))
    })
  })
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`redis cluster: timed out waiting for ${what}`)
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Starts the cluster and resolves once every node reports `cluster_state:ok` and agrees on 3 masters. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-cluster-'))
  const children: ChildProcess[] = []
  const ports: number[] = []
  let stopped = false

  // the servers must not outlive the test process, even when it exits without calling stop()
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', killAll)
  // a runner that cancels the file sends SIGTERM, which skips 'exit': kill the servers, then die as asked
  const onSignal = (signal: NodeJS.Signals) => {
    killAll()
    process.kill(process.pid, signal)
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)

  const stop = async () => {
    if (stopped) return
    stopped = true
    killAll()
    await Promise.all(children.map(exited))
    process.removeListener('exit', killAll)
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
    rmSync(dir, { recursive: true, force: true })
  }

  const logTail = (port: number) => {
    try {
      return readFileSync(join(dir, `redis-${port}.log`), 'utf8').trim().split('\n').slice(-5).join('\n')
    } catch {
      return '(no log)'
    }
  }

  try {
    const deadline = Date.now() + STARTUP_LIMIT
    const taken = new Set<number>()
    for (let i = 0; i < MASTERS; i++) {
      const port = await freePort(taken)
      ports.push(port)
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', HOST,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '2000',
          '--dir', dir,
          '--logfile', join(dir, `redis-${port}.log`),
          '--save', '',
          '--appendonly', 'no',
          '--daemonize', 'no',
        ],
        { stdio: 'ignore' },
      )
      child.once('error', () => {})
      children.push(child)
    }
    for (const [i, port] of ports.entries()) {
      await waitFor(`redis-server on port ${port} (log: ${logTail(port)})`, deadline, async () => {
        if (children[i].exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${logTail(port)}`)
        return (await cli(['-h', HOST, '-p', String(port), 'ping'])).trim() === 'PONG'
      })
    }
    await cli(['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-yes'], Math.max(1_000, deadline - Date.now()))
    for (const port of ports) {
      await waitFor(`cluster_state:ok on port ${port}`, deadline, async () => {
        const info = await cli(['-h', HOST, '-p', String(port), 'cluster', 'info'])
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${MASTERS}`) && info.includes('cluster_slots_ok:16384')
      })
    }
  } catch (err) {
    await stop()
    throw err
  }

  return { nodes: ports.map((port) => ({ host: HOST, port })), stop }
}
