// Each entry's export list, so that growing the public API is always deliberate.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as main from '../../src/index.ts'
import * as compat from '../../src/compat.ts'
import * as memory from '../../src/stores/memory.ts'
import { readFileSync } from 'node:fs'
import { TesseraErrorCodes } from '../../src/errors.ts'

describe('public exports', () => {
  it('of the main entry', () => {
    assert.deepEqual(Object.keys(main).sort(), [
          'InvalidOptionError',
      'InvalidSessionStateError',
      'MemoryStore',
      'OptionCallbackError',
      'RevocationCheckError',
      'SessionDataError',
      'SessionGoneError',
      'SessionTooLargeError',
      'Store',
      'StoreReplicationError',
      'StoreTimeoutError',
      'StoreUnavailableError',
      'TesseraError',
      'TesseraErrorCodes',
      'default',
      'fromCallbackStore',
      'migrateStore',
      'readOnly',
      'session',
      'toCallbackStore',
    ])
  })

  it('of the compat entry', () => {
    assert.deepEqual(Object.keys(compat).sort(), ['Cookie', 'MemoryStore', 'Session', 'Store', 'default', 'session'])
  })

  it('of each store entry', async () => {
    assert.deepEqual(Object.keys(memory), ['MemoryStore'])
    assert.deepEqual(Object.keys(await import('../../src/stores/sqlite.ts')), ['SqliteStore'])
    assert.deepEqual(Object.keys(await import('../../src/stores/redis.ts')), ['RedisStore'])
    assert.deepEqual(Object.keys(await import('../../src/stores/postgres.ts')).sort(), ['PostgresStore', 'createTableSql'])
  })

  it('every store entry is in the package exports map, and the main entry loads no driver', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> }
    assert.deepEqual(Object.keys(pkg.exports), ['.', './compat', './stores/memory', './stores/sqlite', './stores/redis', './stores/postgres', './package.json'])
    const sources = ['index.ts', 'compat.ts', 'middleware.ts'].map((file) => readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8'))
    for (const source of sources) assert.doesNotMatch(source, /from '(?:redis|ioredis|pg|node:sqlite)'|stores\/(?:sqlite|redis|postgres)/)
  })

  it('error classes and the TesseraErrorCode union agree', () => {
    const errors = [
      new main.InvalidOptionError('secret', 'is required'),
      new main.StoreUnavailableError('down'),
      new main.StoreTimeoutError('slow'),
      new main.SessionTooLargeError(2, 1),
      new main.SessionGoneError('gone'),
      new main.InvalidSessionStateError('state'),
      new main.SessionDataError('bad'),
      new main.StoreReplicationError('lagging', 0, 1),
      new main.RevocationCheckError('unknown'),
      new main.OptionCallbackError('genid', new Error('down')),
    ]
    for (const error of errors) assert.ok(error instanceof main.TesseraError)
    assert.deepEqual(errors.map((error) => error.code).sort(), [...TesseraErrorCodes].sort())
  })

  it('the README lists every error code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const listed = [...readme.matchAll(/^\| `(ERR_TESSERA_[A-Z_]+)` \|/gm)].map((m) => m[1])
    assert.deepEqual(listed.sort(), [...TesseraErrorCodes].sort())
  })
})
