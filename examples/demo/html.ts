/**
 * HTML from template literals, escaped by default: every value put into an `html` template is
 * escaped unless it is itself an `html` template, so a user name cannot become markup or script.
 */

const kMarkup = Symbol('markup')

/** Markup built by `html`, safe to insert as is. */
export interface Markup {
  readonly [kMarkup]: string
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string)
}

function isMarkup(value: unknown): value is Markup {
  return typeof value === 'object' && value !== null && kMarkup in value
}

/** A value as HTML: markup as is, arrays joined, `undefined`, `null` and `false` as nothing, anything else escaped. */
function toHtml(value: unknown): string {
  if (isMarkup(value)) return value[kMarkup]
  if (Array.isArray(value)) return value.map(toHtml).join('')
  if (value === undefined || value === null || value === false) return ''
  return escapeHtml(String(value))
}

/** The tag: `html`<p>${name}</p>`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) out += toHtml(values[i]) + (strings[i + 1] as string)
  return { [kMarkup]: out }
}

/**
 * A constant of this program (the inline style and script) as markup, unescaped: inside `<style>` and
 * `<script>` entities are not decoded, and their CSP hash is of the exact text. Never for a value
 * that comes from a request or a store.
 */
export function constantMarkup(text: string): Markup {
  return { [kMarkup]: text }
}

/** The string to send. */
export function render(markup: Markup): string {
  return markup[kMarkup]
}
