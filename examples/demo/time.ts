import { html, type Markup } from './html.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const UNITS: ReadonlyArray<readonly [Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * DAY],
  ['month', 30 * DAY],
  ['week', 7 * DAY],
  ['day', DAY],
  ['hour', HOUR],
  ['minute', MINUTE],
]

const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'always' })

/** "just now", "3 minutes ago", "2 hours ago": the same words whatever the viewer's time zone. */
export function timeAgo(at: number, now: number): string {
  const elapsed = now - at
  for (const [unit, length] of UNITS) if (elapsed >= length) return RELATIVE.format(-Math.floor(elapsed / length), unit)
  return 'just now'
}

/**
 * `<time>` with the relative words, the exact instant in `datetime`, and a UTC title the page's
 * script replaces with the viewer's local time (the server does not know the viewer's time zone).
 */
export function timeElement(at: number, now: number): Markup {
  const iso = new Date(at).toISOString()
  return html`<time datetime="${iso}" title="${iso.slice(0, 16).replace('T', ' ')} UTC">${timeAgo(at, now)}</time>`
}
