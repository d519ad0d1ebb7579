import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { allCookieValues, firstCookieValue, tryDecode } from '../../src/cookie-header.ts'

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
