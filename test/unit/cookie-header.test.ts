import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { allCookieValues, firstCookieValue, hasCaseVariant, tryDecode } from '../../src/cookie-header.ts'

/**
 * A header that counts the characters the scanner visits through it: each `charCodeAt`, each character
 * `startsWith` compares, and each character an `indexOf` passes over. A String object, so the code under
 * test runs unchanged and carries no counter of its own.
 */
class CountingHeader extends String {
  readonly tally: { visits: number }
  constructor(text: string, tally = { visits: 0 }) {
    super(text)
    this.tally = tally
  }

  override indexOf(search: string, position = 0): number {
    const found = super.indexOf(search, position)
    this.tally.visits += (found === -1 ? this.length : found + 1) - Math.min(position, this.length)
    return found
  }

  override charCodeAt(index: number): number {
    this.tally.visits++
    return super.charCodeAt(index)
  }

  override startsWith(search: string, position?: number): boolean {
    this.tally.visits += search.length
    return super.startsWith(search, position)
  }

  override toLowerCase(): string {
    return new CountingHeader(super.toLowerCase(), this.tally) as unknown as string
  }
}

function visitsOf(scan: (header: string) => unknown, text: string): number {
  const header = new CountingHeader(text)
  scan(header as unknown as string)
  return header.tally.visits
}

/** The scanner as it was before it became linear (searching the rest of the header for '=' once per pair): the reference for its answers. */
function previousValues(header: string, name: string): string[] {
  const blank = (code: number) => code === 0x20 || code === 0x09
  const values: string[] = []
  let index = 0
  while (index < header.length) {
    let end = header.indexOf(';', index)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', index)
    if (eq !== -1 && eq < end) {
      let keyStart = index
      while (keyStart < eq && blank(header.charCodeAt(keyStart))) keyStart++
      let keyEnd = eq
      while (keyEnd > keyStart && blank(header.charCodeAt(keyEnd - 1))) keyEnd--
      if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
        let valueStart = eq + 1
        while (valueStart < end && blank(header.charCodeAt(valueStart))) valueStart++
        let valueEnd = end
        while (valueEnd > valueStart && blank(header.charCodeAt(valueEnd - 1))) valueEnd--
        values.push(header.slice(valueStart, valueEnd))
      }
    }
    index = end + 1
  }
  return values
}

describe('cookie header', () => {
  describe('allCookieValues', () => {
    it('finds the value among other cookies, raw (not decoded)', () => {
      assert.deepEqual(allCookieValues('a=1; sid=v%201; b=2', 'sid'), ['v%201'])
    })

    it('gives every copy, in header order, up to the limit', () => {
      assert.deepEqual(allCookieValues('sid=1; sid=2; sid=3', 'sid'), ['1', '2', '3'])
      assert.deepEqual(allCookieValues('sid=1; sid=2; sid=3', 'sid', 2), ['1', '2'])
    })

    it('trims spaces and tabs around names and values, nothing else', () => {
      assert.deepEqual(allCookieValues(' \tsid \t= \tvalue\t ;x=1', 'sid'), ['value'])
      assert.deepEqual(allCookieValues('sid=\u00a0v', 'sid'), ['\u00a0v'])
    })

    it('compares names byte for byte: no case folding, no decoding, no prefix match', () => {
      assert.deepEqual(allCookieValues('SID=1; sid2=2; xsid=3; s%69d=4; sid =5', 'sid'), ['5'])
    })

    it('skips pairs without "=" and empty pairs', () => {
      assert.deepEqual(allCookieValues('sid; ;;=x; sid=1;', 'sid'), ['1'])
    })

    it('keeps "=" inside the value and gives an empty value as ""', () => {
      assert.deepEqual(allCookieValues('sid=a=b', 'sid'), ['a=b'])
      assert.deepEqual(allCookieValues('sid=', 'sid'), [''])
    })

    it('finds nothing in an empty or unrelated header', () => {
      assert.deepEqual(allCookieValues('', 'sid'), [])
      assert.deepEqual(allCookieValues('a=1; b=2', 'sid'), [])
    })
  })

  describe('work per header', () => {
    /** Headers of n characters built to make a per-pair search costly, and a normal header for comparison. */
    const shapes: Record<string, (n: number) => string> = {
      'only ";"': (n) => ';'.repeat(n),
      '";" then one "=" at the end': (n) => ';'.repeat(n - 1) + '=',
      'pairs without "=" before our cookie': (n) => 'a;'.repeat(n / 2 - 4) + 'sid=v1',
      'only blanks and ";"': (n) => ' \t;'.repeat(n / 4),
      'names that almost match': (n) => 'sid_=1;'.repeat(n / 8) + 'si',
      '"=" without ";"': (n) => 'sid=' + '='.repeat(n - 4),
      'blank names and values': (n) => ' = ;'.repeat(n / 4),
      'a normal header': (n) => 'cookie_name=some-cookie-value-0123456789; '.repeat(n / 42),
    }
    const scans: Record<string, (header: string) => unknown> = {
      allCookieValues: (header) => allCookieValues(header, 'sid', 64),
      firstCookieValue: (header) => firstCookieValue(header, 'sid'),
      'hasCaseVariant (lowered, then scanned)': (header) => hasCaseVariant(header, '__Host-sid'),
    }

    for (const [scanName, scan] of Object.entries(scans)) {
      for (const [shape, make] of Object.entries(shapes)) {
        it(`${scanName}: ${shape} costs a bounded number of visits per character, at 16 Ki and at 32 Ki`, () => {
          for (const n of [16_384, 32_768]) {
            const text = make(n)
            const visits = visitsOf(scan, text)
            // each character is passed by each search once and trimmed from each side at most once
            assert.ok(visits <= 6 * text.length + 64, `${visits} visits for ${text.length} characters`)
          }
        })
      }
    }

    it('120,000 ";" (a 128 KiB header) cost no more visits than a normal header of the same size, within a factor of 2', () => {
      const pathological = visitsOf((header) => allCookieValues(header, 'sid', 2), ';'.repeat(120_000))
      const normal = visitsOf((header) => allCookieValues(header, 'sid', 2), shapes['a normal header']!(120_000))
      assert.ok(pathological <= 2 * normal, `${pathological} visits against ${normal}`)
    })
  })

  describe('answers', () => {
    const piece = fc.constantFrom(';', '=', ' ', '\t', 'sid', 'SID', 'a', '"', '%41', ';;', '==', 's', 'id', '\u00a0')
    const header = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''))

    it('gives the same values as the previous scanner for arbitrary headers (3000 runs)', () => {
      fc.assert(
        fc.property(header, fc.constantFrom('sid', 'a', 's', 'id'), (text, name) => {
          assert.deepEqual(allCookieValues(text, name, Infinity), previousValues(text, name))
          const first = previousValues(text, name)[0]
          const unquoted = first !== undefined && first.startsWith('"') && first.endsWith('"') ? first.slice(1, -1) : first
          assert.equal(firstCookieValue(text, name), text.length < 2 || unquoted === undefined ? undefined : tryDecode(unquoted))
          assert.equal(hasCaseVariant(text, name), previousValues(text.toLowerCase(), name.toLowerCase()).length > 0)
        }),
        { numRuns: 3000, seed: 20_261_124 },
      )
    })
  })

  describe('firstCookieValue (compat)', () => {
    it('gives the first copy, without one pair of surrounding quotes, percent-decoded', () => {
      assert.equal(firstCookieValue('sid=first; sid=second', 'sid'), 'first')
      assert.equal(firstCookieValue('sid="s%3Aabc"', 'sid'), 's:abc')
    })

    it('keeps a value whose escapes are not valid UTF-8 as it is', () => {
      assert.equal(firstCookieValue('sid=%E0%A4%A', 'sid'), '%E0%A4%A')
    })

    it('gives undefined when the cookie is absent', () => {
      assert.equal(firstCookieValue('a=1', 'sid'), undefined)
      assert.equal(firstCookieValue('', 'sid'), undefined)
    })
  })

  describe('tryDecode', () => {
    it('decodes percent escapes and leaves invalid ones', () => {
      assert.equal(tryDecode('a%20b'), 'a b')
      assert.equal(tryDecode('100%'), '100%')
      assert.equal(tryDecode('plain'), 'plain')
    })
  })
})
