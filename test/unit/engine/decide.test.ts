import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  decideWrite,
  endWrite,
  shouldCreate,
  shouldDestroy,
  shouldRefreshCookie,
  shouldSetCookie,
  shouldTouch,
  shouldUpdate,
  type CookieFacts,
  type Deferred,
  type EndFacts,
  type RefreshFacts,
  type WriteFacts,
} from '../../../src/engine/decide.ts'

type Answers = { [K in keyof Deferred<unknown>]?: boolean }

/** Deferred facts with fixed answers, recording which were asked, in order; one not given must not be asked. */
function deferred(answers: Answers): { facts: Deferred<null>; asked: string[] } {
  const asked: string[] = []
  const ask = (name: keyof Deferred<unknown>) => (): boolean => {
    asked.push(name)
    const answer = answers[name]
    assert.ok(answer !== undefined, `${name} was asked, but the row does not expect it`)
    return answer
  }
  return {
    facts: { persistent: ask('persistent'), refreshes: ask('refreshes'), kindChanged: ask('kindChanged'), willCreate: ask('willCreate'), willWrite: ask('willWrite') },
    asked,
  }
}

/** A stored session the handler read and left as it was. */
const WRITE: WriteFacts = {
  phase: 'stored',
  session: 'present',
  changed: false,
  metaDirty: false,
  ownerChanged: false,
  signedIn: false,
  saveUninitialized: false,
  headersSentWithoutCookie: false,
  touchRequested: false,
  slideDue: false,
  expiryMoved: false,
  confirm: false,
}

describe('decideWrite (and shouldCreate, shouldUpdate, shouldTouch)', () => {
  const rows: Array<[string, Partial<WriteFacts>, Answers, string]> = [
    ['a session another request ended: nothing, ever', { phase: 'gone', changed: true }, {}, 'none'],
    ['a session the handler removed: nothing (the end decides on unset)', { session: 'removed', changed: true }, {}, 'none'],
    ['never read, nothing loaded: nothing', { session: 'unused', phase: 'fresh' }, {}, 'none'],
    ['never read, loaded, nothing due: nothing', { session: 'unused' }, {}, 'none'],
    ['never read, its metadata to store (a migration, a clock correction): update', { session: 'unused', metaDirty: true }, {}, 'update'],
    ['never read, its slide due: touch', { session: 'unused', slideDue: true }, {}, 'touch'],
    ['never read, a slide due but the read slid it already: nothing', { session: 'unused', slideDue: true, expiryMoved: true }, {}, 'none'],
    ['touch() asked for a slide: touch', { session: 'unused', touchRequested: true }, {}, 'touch'],
    ['touch() asked, but the expiry moved in this request: nothing', { touchRequested: true, expiryMoved: true }, {}, 'none'],
    ['a re-sent cookie waits for a touch confirming its session', { confirm: true }, { refreshes: true }, 'touch'],
    ['nothing to confirm when the cookie is not re-sent', { confirm: true }, { refreshes: false }, 'none'],
    ['a new session without data: nothing (lazy creation)', { phase: 'fresh' }, {}, 'none'],
    ['a new session with data: create', { phase: 'fresh', changed: true }, {}, 'create'],
    ['a new session of a signed-in user: create', { phase: 'fresh', signedIn: true }, {}, 'create'],
    ['a new empty session with saveUninitialized: create', { phase: 'fresh', saveUninitialized: true }, {}, 'create'],
    ['a new session whose cookie can no longer be sent: nothing (no orphan)', { phase: 'fresh', changed: true, headersSentWithoutCookie: true }, {}, 'none'],
    ['a new session is never touched', { phase: 'fresh', slideDue: true, confirm: true }, {}, 'none'],
    ['a stored session with changed data: update', { changed: true }, {}, 'update'],
    ['a stored session whose owner changed: update', { ownerChanged: true }, {}, 'update'],
    ['a stored session whose metadata changed: update', { metaDirty: true }, {}, 'update'],
    ['an update moves the expiry too: no touch besides', { changed: true, slideDue: true }, {}, 'update'],
    ['a stored session unchanged, its slide due: touch', { slideDue: true }, {}, 'touch'],
    ['a stored session unchanged, nothing due: nothing', {}, {}, 'none'],
  ]
  for (const [name, facts, answers, expected] of rows) {
    it(name, () => {
      const f = { ...WRITE, ...facts }
      const { facts: lazy } = deferred(answers)
      assert.equal(decideWrite(f, lazy, null), expected)
      assert.equal(shouldCreate(f), expected === 'create')
      assert.equal(shouldUpdate(f), expected === 'update')
    })
  }

  it('the should* questions, each on its own', () => {
    const { facts: none } = deferred({})
    assert.equal(shouldCreate({ ...WRITE, phase: 'gone', changed: true }), false)
    assert.equal(shouldCreate({ ...WRITE, phase: 'destroyed', changed: true }), true)
    assert.equal(shouldUpdate({ ...WRITE, phase: 'fresh', changed: true }), false)
    assert.equal(shouldUpdate({ ...WRITE, session: 'unused', changed: true, ownerChanged: true }), false)
    assert.equal(shouldTouch({ ...WRITE, phase: 'fresh', touchRequested: true }, none, null), false)
  })
})

/** The end of a response that may write, for a session the handler read. */
const END: EndFacts = { failed: false, readOnly: false, phase: 'stored', session: 'present', unsetDestroy: false }

describe('endWrite and shouldDestroy', () => {
  const rows: Array<[string, Partial<EndFacts>, string]> = [
    ['a failed request writes nothing', { failed: true }, 'none'],
    ['a read-only request writes nothing', { readOnly: true }, 'none'],
    ['a session the handler has: the write it needs', {}, 'pending'],
    ['a session the handler never read: the write it needs (a slide, metadata)', { session: 'unused' }, 'pending'],
    ["req.session = null with unset: 'destroy': destroy", { session: 'removed', unsetDestroy: true }, 'destroy'],
    ["req.session = null with unset: 'keep': nothing", { session: 'removed' }, 'none'],
    ['a removed session never stored: nothing to destroy', { session: 'removed', unsetDestroy: true, phase: 'fresh' }, 'none'],
    ['a session destroyed in this request already: nothing more', { session: 'removed', unsetDestroy: true, phase: 'destroyed' }, 'none'],
    ['a session another request ended: nothing', { session: 'removed', unsetDestroy: true, phase: 'gone' }, 'none'],
    ['a read-only request does not destroy either', { session: 'removed', unsetDestroy: true, readOnly: true }, 'none'],
  ]
  for (const [name, facts, expected] of rows) {
    it(name, () => {
      const f = { ...END, ...facts }
      assert.equal(endWrite(f), expected)
      if (!f.failed && !f.readOnly) assert.equal(shouldDestroy(f), expected === 'destroy')
    })
  }
})

/** The cookie the client presented, for its own session. */
const REFRESH: RefreshFacts = { readOnly: false, presentedSession: true, reissue: false, rolling: false, expiryMoved: false }

describe('shouldRefreshCookie', () => {
  const rows: Array<[string, Partial<RefreshFacts>, Answers, boolean, string[]]> = [
    ['never from a read-only request', { readOnly: true, reissue: true }, {}, false, []],
    ['never for another id than the presented one', { presentedSession: false, rolling: true }, {}, false, []],
    ['a cookie signed by a retired secret or in the old format is re-signed', { reissue: true }, {}, true, []],
    ['rolling re-sends it on every response', { rolling: true }, {}, true, []],
    ['a persistent cookie whose expiry moved is re-sent with the new expiry', { expiryMoved: true }, { persistent: true }, true, ['persistent']],
    ['a browser-session cookie has no expiry to update', { expiryMoved: true }, { persistent: false }, false, ['persistent']],
    ['nothing moved: not re-sent', {}, {}, false, []],
  ]
  for (const [name, facts, answers, expected, asked] of rows) {
    it(name, () => {
      const lazy = deferred(answers)
      assert.equal(shouldRefreshCookie({ ...REFRESH, ...facts }, lazy.facts, null), expected)
      assert.deepEqual(lazy.asked, asked)
    })
  }
})

/** The response of a request that loaded its session from the cookie it sent. */
const COOKIE: CookieFacts = { ...END, clientCookie: 'sent', replaced: false, isNew: false, ended: false, expiryMoved: false }

describe('shouldSetCookie', () => {
  const rows: Array<[string, Partial<CookieFacts>, Answers, string, string[]]> = [
    ['a failed request sets nothing', { failed: true, isNew: true }, {}, 'none', []],
    ['a session another request ended gets no cookie', { phase: 'gone', isNew: true }, {}, 'none', []],
    ['after destroy(), the cookie the client sent is cleared', { session: 'removed', phase: 'destroyed' }, {}, 'clear', []],
    ['after destroy() on a client without our cookie, nothing', { session: 'removed', phase: 'destroyed', clientCookie: 'none' }, {}, 'none', []],
    ["req.session = null with unset: 'destroy' clears it", { session: 'removed', unsetDestroy: true }, {}, 'clear', []],
    ["…not from a read-only request, which destroys nothing", { session: 'removed', unsetDestroy: true, readOnly: true }, {}, 'none', []],
    ["req.session = null, kept, moved to a new id in this request: the new id's cookie", { session: 'removed', replaced: true }, {}, 'set', []],
    ['req.session = null, kept: the cookie as it is', { session: 'removed' }, {}, 'none', []],
    ['a session never read nor loaded: nothing', { session: 'unused', phase: 'fresh', isNew: true }, {}, 'none', []],
    ['a new session already stored: its cookie', { isNew: true }, {}, 'set', []],
    ['a new session the end will create: its cookie', { isNew: true, phase: 'fresh' }, { willCreate: true }, 'set', ['willCreate']],
    ['a new session that will not be stored: no cookie', { isNew: true, phase: 'fresh' }, { willCreate: false }, 'none', ['willCreate']],
    ['…and the old one cleared when this request replaced the session it named', { isNew: true, phase: 'fresh', clientCookie: 'stale' }, { willCreate: false }, 'clear', ['willCreate']],
    ['the presented cookie, refreshed once the end confirmed its session', { ended: true }, { refreshes: true }, 'set', ['refreshes']],
    ['switched between persistent and browser-session: re-sent', {}, { kindChanged: true }, 'set', ['kindChanged']],
    ['persistent, its expiry moved: re-sent', { expiryMoved: true }, { kindChanged: false, persistent: true }, 'set', ['kindChanged', 'persistent']],
    ['persistent, the end will move its expiry: re-sent', {}, { kindChanged: false, persistent: true, willWrite: true }, 'set', ['kindChanged', 'persistent', 'willWrite']],
    ['persistent, nothing will move its expiry: as it is', {}, { kindChanged: false, persistent: true, willWrite: false }, 'none', ['kindChanged', 'persistent', 'willWrite']],
    ['persistent, after the end wrote nothing: as it is', { ended: true }, { refreshes: false, kindChanged: false, persistent: true }, 'none', ['refreshes', 'kindChanged', 'persistent']],
    ['a browser-session cookie has no expiry to update', {}, { kindChanged: false, persistent: false }, 'none', ['kindChanged', 'persistent']],
    ['header mode, a dead id and no session read: the empty header', { session: 'unused', phase: 'fresh', isNew: true, clientCookie: 'dead' }, {}, 'clear', []],
    ['header mode, a dead id and a new session that will not be stored: the empty header', { isNew: true, phase: 'fresh', clientCookie: 'dead' }, { willCreate: false }, 'clear', ['willCreate']],
    ['header mode, a dead id and a new session the end will create: its id', { isNew: true, phase: 'fresh', clientCookie: 'dead' }, { willCreate: true }, 'set', ['willCreate']],
    ['header mode, a dead id and destroy(): the empty header', { session: 'removed', phase: 'destroyed', clientCookie: 'dead' }, {}, 'clear', []],
    ['header mode, a dead id on a failed request: nothing', { failed: true, phase: 'fresh', clientCookie: 'dead' }, {}, 'none', []],
  ]
  for (const [name, facts, answers, expected, asked] of rows) {
    it(name, () => {
      const lazy = deferred(answers)
      assert.equal(shouldSetCookie({ ...COOKIE, ...facts }, lazy.facts, null), expected)
      assert.deepEqual(lazy.asked, asked, 'the deferred facts asked, in order')
    })
  }
})
