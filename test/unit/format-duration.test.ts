import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatDuration } from '../../src/format-duration.ts'

describe('formatDuration', () => {
  const rows: Array<[number, string]> = [
    [30 * 60_000, '30 min'],
    [12 * 3_600_000, '12 h'],
    [86_400_000, '1 day'],
    [30 * 86_400_000, '30 days'],
    [90_000, '90 s'],
    [1_500, '1500 ms'],
    [0, '0 ms'],
  ]
  for (const [ms, text] of rows) it(`${ms} → ${text}`, () => assert.equal(formatDuration(ms), text))
})
