/**
 * A child process of the harness (a contender's server or the load generator) with an IPC channel,
 * pinned to one CPU with `taskset` when it exists. Every wait has a deadline, and `stop` ends the
 * child by its own pid if it does not exit by itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'

let tasksetChecked: boolean | undefined

/** Whether server and generator can be pinned to different cores. */
export function canPin(): boolean {
  tasksetChecked ??= availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
  return tasksetChecked
}

export interface ChildOptions {
  /** The CPU to pin to (ignored when `canPin()` is false). */
  cpu: number | undefined
  env: Record<string, string>
  /** Node flags, e.g. `--cpu-prof`. */
  execArgv?: string[]
  /** How long to wait for its `ready` message. */
  startTimeout?: number
}

interface Message {
  type: string
  [key: string]: unknown
}

export class Child {
  readonly process: ChildProcess
  readonly #exited: Promise<number | null>
  #exitCode: number | null | undefined

  private constructor(child: ChildProcess) {
    this.process = child
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.#exitCode = code
        resolve(code)
      })
    })
  }

  /** Starts `node <execArgv> <script>` and resolves with the child and its `ready` message. */
  static async start(script: string, options: ChildOptions): Promise<{ child: Child; ready: Message }> {
    const node = [...(options.execArgv ?? []), script]
    const [command, args] = options.cpu !== undefined && canPin() ? ['taskset', ['-c', String(options.cpu), process.execPath, ...node]] : [process.execPath, node]
    const spawned = spawn(command as string, args as string[], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...options.env } })
    const child = new Child(spawned)
    try {
      const ready = await child.next('ready', options.startTimeout ?? 30_000)
      return { child, ready }
    } catch (err) {
      await child.stop()
      throw err
    }
  }

  /** The next message of `type`; rejects when the child exits first or after `timeout` ms. */
  next(type: string, timeout: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: Message) => {
        if (message?.type !== type) return
        cleanup()
        resolve(message)
      }
      const onExit = (code: number | null) => {
        cleanup()
        reject(new Error(`child exited (code ${code}) while waiting for "${type}"`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no "${type}" from the child within ${timeout} ms`))
      }, timeout)
      const cleanup = () => {
        clearTimeout(timer)
        this.process.off('message', onMessage)
        this.process.off('exit', onExit)
      }
      if (this.#exitCode !== undefined) return onExit(this.#exitCode)
      this.process.on('message', onMessage)
      this.process.once('exit', onExit)
    })
  }

  /** Sends `message` and waits for the answer of type `answer`. */
  async ask(message: Message, answer: string, timeout: number): Promise<Message> {
    const reply = this.next(answer, timeout)
    this.process.send(message)
    return reply
  }

  /** Asks the child to stop; ends it by pid after `grace` ms. */
  async stop(grace = 5_000): Promise<void> {
    if (this.#exitCode !== undefined) return
    if (this.process.connected) this.process.send({ type: 'stop' })
    const timer = setTimeout(() => this.process.kill('SIGKILL'), grace)
    await this.#exited
    clearTimeout(timer)
  }
}
