const UNITS: ReadonlyArray<[ms: number, name: string]> = [
  [86_400_000, 'days'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1_000, 's'],
]

/** Milliseconds as a person reads them, in the largest unit that divides them: `30 min`, `12 h`, `30 days`, `1500 ms`. */
export function formatDuration(ms: number): string {
  for (const [size, name] of UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name === 'days' && ms === size ? 'day' : name}`
  }
  return `${ms} ms`
}
