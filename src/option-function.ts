import type { IncomingMessage } from 'node:http'
import { InvalidOptionError, OptionCallbackError } from './errors.ts'

function noop(): void {}

/**
 * Asks a function the app gave as an option about a request, synchronously. A throw becomes
 * `OptionCallbackError` (the app's error as `cause`), so that it reaches the app typed. A promise is
 * refused with `InvalidOptionError`, its rejection handled: left alone, a rejection nobody handles
 * ends the process, and the promise itself would pass for an answer (truthy to `readOnly`, an empty
 * object of attributes to `cookie`).
 */
export function askOption(option: string, expected: string, ask: (req: IncomingMessage) => unknown, req: IncomingMessage): unknown {
  let answer: unknown
  try {
    answer = ask(req)
  } catch (err) {
    throw new OptionCallbackError(option, err)
  }
  if (typeof (answer as PromiseLike<unknown> | null)?.then === 'function') {
    ;(answer as PromiseLike<unknown>).then(undefined, noop)
    throw new InvalidOptionError(option, `returned a promise: it is called synchronously and must return ${expected}`)
  }
  return answer
}
