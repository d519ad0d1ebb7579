import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { closestName, editDistance } from '../../src/closest-name.ts'

const OPTIONS = ['secret', 'name', 'key', 'store', 'cookie', 'saveUninitialized', 'resave', 'rolling', 'idleTimeout', 'absoluteTimeout']

describe('editDistance', () => {
  const rows: Array<[string, string, number]> = [
    ['', '', 0],
    ['secure', 'secure', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['secrue', 'secure', 1], // two adjacent letters swapped: one edit
    ['saveUnitialized', 'saveUninitialized', 2],
    ['SaveUninitialized', 'saveUninitialized', 0], // case is ignored
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // optimal string alignment: a swapped pair is not edited again
  ]
  for (const [a, b, expected] of rows) {
    it(`${JSON.stringify(a)} → ${JSON.stringify(b)} is ${expected}`, () => {
      assert.equal(editDistance(a, b), expected)
      assert.equal(editDistance(b, a), expected)
    })
  }
})

describe('closestName', () => {
  const rows: Array<[string, string | undefined]> = [
    ['saveUnitialized', 'saveUninitialized'],
    ['saveuninitialised', 'saveUninitialized'],
    ['secrte', 'secret'],
    ['cokie', 'cookie'],
    ['rollng', 'rolling'],
    ['idleTimout', 'idleTimeout'],
    ['keys', 'key'],
    ['header', undefined], // not in this list: nothing is close
    ['describeClient', undefined],
    ['x', undefined],
    ['ttl', undefined],
  ]
  for (const [name, expected] of rows) {
    it(`${name} → ${expected ?? 'nothing'}`, () => assert.equal(closestName(name, OPTIONS), expected))
  }

  it('prefers the earlier candidate on a tie', () => {
    assert.equal(closestName('cat', ['bat', 'hat']), 'bat')
  })
})
