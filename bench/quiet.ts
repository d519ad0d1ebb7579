/**
 * Waiting out other people's load. Before a measurement the harness waits (in 250 ms looks) until
 * processes outside the benchmark use less than `BUSY_CORES`, and a measurement taken on a busy
 * machine anyway is taken once more; both draw on one budget of seconds per run, so a machine that
 * never quiets down costs a bounded amount of time, and its measurements are marked in the report.
 */
import { cpuSnapshot, otherCpu } from './cpu-usage.ts'

/** Cores of other processes' work above which a measurement counts as taken on a busy machine. */
export const BUSY_CORES = 0.15

const LOOK_MS = 250

export class Patience {
  /** Seconds left to spend on waiting and on repeated measurements. */
  #left: number
  waited = 0
  retries = 0

  constructor(seconds: number) {
    this.#left = seconds
  }

  get exhausted(): boolean {
    return this.#left <= 0
  }

  spend(seconds: number): void {
    this.#left -= seconds
  }

  /** Waits until the machine is quiet or the budget is spent; resolves the last look's busy cores. */
  async waitForQuiet(pids: readonly number[]): Promise<number | undefined> {
    for (;;) {
      const before = cpuSnapshot(pids)
      await new Promise((resolve) => setTimeout(resolve, LOOK_MS))
      const busy = otherCpu(before, cpuSnapshot(pids))
      if (busy === undefined || busy <= BUSY_CORES || this.exhausted) return busy
      this.spend(LOOK_MS / 1000)
      this.waited += LOOK_MS / 1000
    }
  }
}
