import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DATA_FORMAT, decodeData, encodeData, encodeValues } from '../../../src/stores/json-fields.ts'
import { SessionDataError } from '../../../src/errors.ts'

describe('json-fields', () => {
  it('encodes each value as its JSON text under the format marker, and decodes it back exactly', () => {
    const data = { s: 'a\u0000\ud800', o: { z: 1, a: [2] }, n: 1e21 }
    const text = encodeData('test', data)
    assert.equal(text, JSON.stringify([DATA_FORMAT, { s: JSON.stringify(data.s), o: '{"z":1,"a":[2]}', n: '1e+21' }]))
    assert.equal(JSON.stringify({ ...decodeData('test', text) }), JSON.stringify(data))
  })

  it('leaves out the values JSON drops, naming their keys', () => {
    const { texts, dropped } = encodeValues('test', { a: 1, u: undefined, f: () => 1 })
    assert.deepEqual({ ...texts }, { a: '1' })
    assert.deepEqual(dropped, ['u', 'f'])
  })

  it('refuses keys with U+0000 or a lone surrogate, and values JSON cannot hold, with SessionDataError', () => {
    for (const values of [{ 'a\u0000': 1 }, { '\udc00': 1 }, { big: 10n }]) assert.throws(() => encodeValues('test', values), SessionDataError)
  })

  it('decodes format 1, the data object itself', () => {
    assert.deepEqual({ ...decodeData('test', '{"user":"ann","o":{"b":1}}') }, { user: 'ann', o: { b: 1 } })
  })

  it('drops polluting keys at the top level of format 2 as parseJson does below it', () => {
    const fields = '"constructor":"{\\"prototype\\":{\\"x\\":1}}","prototype":"{}","__proto__":"{\\"x\\":1}","ok":"1","name":"\\"constructor\\""'
    const text = `[${DATA_FORMAT},{${fields}}]`
    assert.deepEqual(Object.keys(JSON.parse(text)[1]), ['constructor', 'prototype', '__proto__', 'ok', 'name'])
    assert.deepEqual({ ...decodeData('test', text) }, { ok: 1, name: 'constructor' })
  })

  const unreadable: Array<[string, unknown]> = [
    ['not a string', 1],
    ['not JSON', '{"a":'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['another format', '[3,{}]'],
    ['an array of the wrong length', '[2,{},1]'],
    ['format 2 whose fields are not an object', '[2,[]]'],
    ['format 2 with a value that is not JSON text', '[2,{"a":1}]'],
    ['format 2 with a value that is not valid JSON', '[2,{"a":"{"}]'],
  ]
  for (const [what, text] of unreadable) {
    it(`rejects stored data that is ${what} with SessionDataError`, () => {
      assert.throws(() => decodeData('test', text), SessionDataError)
    })
  }
})
