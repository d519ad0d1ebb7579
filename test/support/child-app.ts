/**
 * An app in a process of its own, for tests about what a process prints (warnings are once per
 * process) and about the commands a person runs: started with `node`, ready once it prints its
 * URL, stopped with SIGTERM to its process group. Everything it printed is kept.
 */
import { spawn } from 'node:child_process'

export interface ChildApp {
  /** `http://127.0.0.1:<port>` from the ready line. */
  url: string
  stdout(): string
  stderr(): string
  /** SIGTERM to the process group, then the exit code (null when the signal ended it). */
  stop(): Promise<number | null>
}

export interface ChildOptions {
  /** Added to (or, when undefined, removed from) the test's environment. */
  env?: Record<string, string | undefined>
  /** The line that says it is ready; its first group is the URL, or a port on 127.0.0.1. */
  ready?: RegExp
  /** Milliseconds to wait for the ready line. Default 20 000. */
  timeout?: number
  /** The program, when not this Node (`npm`). */
  command?: string
}

/** Runs `node <args>` (or `command <args>`) and resolves once the ready line is printed; rejects if the process exits first. */
export async function startChild(args: string[], options: ChildOptions = {}): Promise<ChildApp> {
  const env: Record<string, string | undefined> = { ...process.env }
  // the test runner marks its own children; a child of a test is an ordinary process
  delete env.NODE_TEST_CONTEXT
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  // a process group of its own: stopping it stops what it started too (npm does not pass SIGTERM on to its script)
  const child = spawn(options.command ?? process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = options.ready ?? /listening (?:on )?(\S+)/
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-(child.pid as number), 'SIGTERM')
      reject(new Error(`no ready line within ${options.timeout ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeout ?? 20_000)
    const check = () => {
      const match = ready.exec(stdout)
      if (!match) return
      clearTimeout(timer)
      const found = match[1] as string
      resolve(/^\d+$/.test(found) ? `http://127.0.0.1:${found}` : found)
    }
    child.stdout.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code}) before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`))
    })
  })
  return {
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: () => {
      try {
        process.kill(-(child.pid as number), 'SIGTERM')
      } catch {
        // the whole group has exited already
      }
      return exited
    },
  }
}
