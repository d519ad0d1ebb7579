import { InvalidOptionError } from '../errors.ts'

/**
 * What the built-in stores share of their options: the checks of their numbers, each failure an
 * `InvalidOptionError` naming the option, and the background prune timer of the SQL stores.
 */

/** The longest delay a Node timer keeps: past it, Node fires at once (an interval then runs every millisecond). */
export const MAX_TIMER_DELAY = 2_147_483_647

/** `value`, an integer from `min` to `max`, or `fallback` when not given. */
export function integerOption(option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be an integer from ${min} to ${max}`)
  }
  return value
}

/** `value`, a positive integer, or `fallback` when not given. */
export function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError(option, 'must be a positive integer')
  return value
}

/** A positive whole number of ms a timer can wait, or `fallback` when not given. */
export function timerDelay(option: string, value: unknown, fallback: number): number {
  const delay = positiveInteger(option, value, fallback)
  if (delay > MAX_TIMER_DELAY) throw new InvalidOptionError(option, `must be at most ${MAX_TIMER_DELAY} ms (a timer delay)`)
  return delay
}

/**
 * Runs `prune` in the background, about every `interval` ms (jittered 50–150 %, so that processes
 * sharing a database do not prune in step), on an unref'd timer, until stopped. A failed prune is
 * retried at the next tick: reads never return expired rows anyway.
 */
export class PruneTimer {
  readonly #interval: number | false
  readonly #prune: () => Promise<unknown>
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(interval: number | false, prune: () => Promise<unknown>) {
    this.#interval = interval
    this.#prune = prune
    this.#schedule()
  }

  /** Stops the timer for good. Safe to call twice. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    if (this.#interval === false || this.#stopped) return
    // never past what a timer keeps: a longer delay would fire at once, and again, every millisecond
    const delay = Math.min(Math.round(this.#interval * (0.5 + Math.random())), MAX_TIMER_DELAY)
    this.#timer = setTimeout(() => {
      this.#prune()
        .catch(() => {})
        .finally(() => this.#schedule())
    }, delay)
    this.#timer.unref()
  }
}

/** The `pruneInterval` option: `false`, or a timer delay. */
export function pruneInterval(value: unknown, fallback: number): number | false {
  return value === false ? false : timerDelay('pruneInterval', value, fallback)
}
