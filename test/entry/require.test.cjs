'use strict'
// `require()` of either entry gives the session factory itself, as require('express-session') does.
// Resolved through the package's own exports map, so it runs against the built dist/.
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')

describe('require()', () => {
  it('of tessera-session returns the factory with named exports as properties', () => {
    const session = require('tessera-session')
    assert.equal(typeof session, 'function')
    assert.equal(session.name, 'session')
    assert.equal(typeof session.MemoryStore, 'function')
    assert.equal(typeof session.Store, 'function')
    assert.equal(typeof session.StoreUnavailableError, 'function')
    assert.equal(typeof session({ secret: 'a development secret of sufficient length!!' }), 'function')
  })

  it('of tessera-session/compat returns the factory with Store, Cookie, Session and MemoryStore', () => {
    const session = require('tessera-session/compat')
    assert.equal(typeof session, 'function')
    assert.deepEqual(Object.keys(session), ['Store', 'Cookie', 'Session', 'MemoryStore'])
    const store = new session.MemoryStore()
    assert.ok(store instanceof session.Store)
    assert.equal(typeof session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }), 'function')
  })

  it('lets a store inherit from Store with util.inherits and Store.call(this)', () => {
    const { Store } = require('tessera-session/compat')
    const util = require('node:util')
    function LegacyStore() {
      Store.call(this)
    }
    util.inherits(LegacyStore, Store)
    const store = new LegacyStore()
    assert.equal(typeof store.on, 'function')
    assert.equal(typeof store.createSession, 'function')
  })

  it('of tessera-session/stores/memory gives the MemoryStore class', () => {
    const { MemoryStore } = require('tessera-session/stores/memory')
    assert.equal(MemoryStore, require('tessera-session').MemoryStore)
  })
})
