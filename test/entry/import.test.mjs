// `import session from …` gives the factory for both entries, with named exports alongside.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { MemoryStore, session as named } from 'tessera-session'
import compat, { Store, Cookie, Session, MemoryStore as CompatMemoryStore } from 'tessera-session/compat'

describe('import', () => {
  it('default of tessera-session is the factory', () => {
    assert.equal(typeof session, 'function')
    assert.equal(session, named)
    assert.equal(session.MemoryStore, MemoryStore)
  })

  it('default of tessera-session/compat is the factory with its classes', () => {
    assert.equal(typeof compat, 'function')
    assert.equal(compat.Store, Store)
    assert.equal(compat.Cookie, Cookie)
    assert.equal(compat.Session, Session)
    assert.equal(compat.MemoryStore, CompatMemoryStore)
  })
})
