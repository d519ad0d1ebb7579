/**
 * Finding our cookie in a `Cookie` request header without parsing the others.
 * Pairs are separated by `;`; a pair without `=` is skipped; names and values are trimmed of SP
 * and HTAB only (RFC 6265bis §5.6). Names are compared byte for byte, never percent-decoded.
 */

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09
}

interface Pair {
  valueStart: number
  valueEnd: number
}

/** Calls `onMatch` for each pair named `name`, in header order; stops when it returns false. */
function scanPairs(header: string, name: string, onMatch: (pair: Pair) => boolean): void {
  const len = header.length
  let index = 0
  // the next '=' at or after `index` (len when none is left), searched again only once the scan has
  // passed it: searching per pair made a header of 120,000 bare ';' cost 120,000 scans of its rest
  let eq = -1
  while (index < len) {
    let end = header.indexOf(';', index)
    if (end === -1) end = len
    if (eq < index) {
      eq = header.indexOf('=', index)
      if (eq === -1) eq = len
    }
    if (eq < end) {
      let keyStart = index
      while (keyStart < eq && isBlank(header.charCodeAt(keyStart))) keyStart++
      let keyEnd = eq
      while (keyEnd > keyStart && isBlank(header.charCodeAt(keyEnd - 1))) keyEnd--
      if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
        let valueStart = eq + 1
        while (valueStart < end && isBlank(header.charCodeAt(valueStart))) valueStart++
        let valueEnd = end
        while (valueEnd > valueStart && isBlank(header.charCodeAt(valueEnd - 1))) valueEnd--
        if (!onMatch({ valueStart, valueEnd })) return
      }
    }
    index = end + 1
  }
}

/** Percent-decodes when there is a `%`; returns the input unchanged when it is not valid UTF-8 escapes. */
export function tryDecode(value: string): string {
  if (value.indexOf('%') === -1) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * compat: the value `cookie.parse(header)[name]` gives in the cookie 0.7 package that express-session
 * uses: the first occurrence wins, one pair of surrounding double quotes is stripped, then it is
 * percent-decoded when possible.
 */
export function firstCookieValue(header: string, name: string): string | undefined {
  if (header.length < 2) return undefined
  let found: string | undefined
  scanPairs(header, name, ({ valueStart, valueEnd }) => {
    if (header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
      valueStart++
      valueEnd--
    }
    found = tryDecode(header.slice(valueStart, valueEnd))
    return false
  })
  return found
}

/** Every raw (undecoded) value of `name`, and how many there were; stops collecting after `limit`. */
export function allCookieValues(header: string, name: string, limit = 4): string[] {
  const values: string[] = []
  scanPairs(header, name, ({ valueStart, valueEnd }) => {
    values.push(header.slice(valueStart, valueEnd))
    return values.length < limit
  })
  return values
}

/** Whether a pair's name equals `name` ignoring case (the caller found no exact match): the same scan, on lowered text. */
export function hasCaseVariant(header: string, name: string): boolean {
  let found = false
  scanPairs(header.toLowerCase(), name.toLowerCase(), () => {
    found = true
    return false
  })
  return found
}
