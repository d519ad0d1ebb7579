/** One Set-Cookie header line, parsed for assertions. */
export interface ParsedSetCookie {
  name: string
  value: string
  /** Attribute names lowercased; flags are `true`. */
  attributes: Record<string, string | true>
  raw: string
}

export function parseSetCookie(raw: string): ParsedSetCookie {
  const [pair = '', ...rest] = raw.split(';')
  const eq = pair.indexOf('=')
  const attributes: Record<string, string | true> = {}
  for (const part of rest) {
    const trimmed = part.trim()
    const i = trimmed.indexOf('=')
    if (i === -1) attributes[trimmed.toLowerCase()] = true
    else attributes[trimmed.slice(0, i).toLowerCase()] = trimmed.slice(i + 1)
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes, raw }
}
