import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_COOKIE_LIFETIME } from '../../../src/cookie-options.ts'
import {
  correctFuture,
  expiryAfterRead,
  freshMeta,
  isRenewalDue,
  isSameLifetime,
  isSlideDue,
  judge,
  lastSeenAt,
  maxAgeSeconds,
  needsOwnSlide,
  nextExpiry,
  ownLifetime,
  retiredExpiry,
  slideOnRead,
  type Timeouts,
} from '../../../src/engine/expiry.ts'
import type { SessionMeta, StoredSession } from '../../../src/stores/contract.ts'

const MIN = 60_000
const NOW = 1_800_000_000_000
const POLICY: Timeouts = { idleTimeout: 30 * MIN, absoluteTimeout: 12 * 60 * MIN, touchAfter: 3 * MIN, renewalGrace: 10_000, renewAfter: undefined, revokedBefore: undefined }

/** A session created `age` ago with the policy's deadlines, unless `extra` says otherwise. */
function meta(age: number, extra: Partial<SessionMeta> = {}): SessionMeta {
  const createdAt = NOW - age
  return { createdAt, absoluteExpiresAt: createdAt + POLICY.absoluteTimeout, idleTimeout: POLICY.idleTimeout, ...extra }
}

function record(expiresAt: number, m: SessionMeta | null): StoredSession {
  return { data: {}, meta: m, userId: null, expiresAt, version: 1 }
}

describe('freshMeta', () => {
  it('starts the absolute deadline now and records the idle window it was given', () => {
    assert.deepEqual(freshMeta(NOW, POLICY), { createdAt: NOW, absoluteExpiresAt: NOW + 12 * 60 * MIN, idleTimeout: 30 * MIN })
  })
})

describe('nextExpiry', () => {
  const rows: Array<[string, SessionMeta, number]> = [
    ['the idle window from now', meta(MIN), NOW + 30 * MIN],
    ["the session's own cookie lifetime instead, when it has one", meta(MIN, { cookieMaxAge: 5 * MIN }), NOW + 5 * MIN],
    ['a browser-session cookie (own lifetime null) uses the idle window', meta(MIN, { cookieMaxAge: null }), NOW + 30 * MIN],
    ['never past the absolute deadline', meta(MIN, { absoluteExpiresAt: NOW + 10 * MIN }), NOW + 10 * MIN],
  ]
  for (const [name, m, expected] of rows) it(name, () => assert.equal(nextExpiry(m, POLICY.idleTimeout, NOW), expected))
})

describe('isSlideDue', () => {
  const rows: Array<[string, number, boolean]> = [
    ['a move by less than touchAfter is not worth a write', NOW + 28 * MIN, false],
    ['a move by exactly touchAfter is not either', NOW + 27 * MIN, false],
    ['a move by more than touchAfter is', NOW + 27 * MIN - 1, true],
  ]
  for (const [name, current, due] of rows) it(name, () => assert.equal(isSlideDue(current, NOW + 30 * MIN, POLICY.touchAfter), due))
})

describe('slideOnRead', () => {
  const window = { slideTo: NOW + 30 * MIN, slideIfBefore: NOW + 27 * MIN }
  const rows: Array<[string, number | undefined, typeof window | undefined]> = [
    ['asks for a slide when the expiry is not known', undefined, window],
    ['asks for one when the known expiry is before the threshold', NOW + 27 * MIN - 1, window],
    ['leaves it out when the known expiry is at the threshold', NOW + 27 * MIN, undefined],
    ['leaves it out when the known expiry is past it', NOW + 29 * MIN, undefined],
  ]
  for (const [name, known, expected] of rows) it(name, () => assert.deepEqual(slideOnRead(NOW, known, POLICY), expected))
})

describe('expiryAfterRead and needsOwnSlide', () => {
  const slide = { slideTo: NOW + 30 * MIN, slideIfBefore: NOW + 27 * MIN }
  const rows: Array<[string, StoredSession, typeof slide | undefined, number | undefined, boolean]> = [
    ['no slide asked: nothing moved', record(NOW + MIN, meta(MIN)), undefined, undefined, false],
    ['an expiry at the threshold was not slid', record(NOW + 27 * MIN, meta(MIN)), slide, undefined, false],
    ['an expiry before it was slid to slideTo', record(NOW + MIN, meta(MIN)), slide, NOW + 30 * MIN, false],
    ['never past the absolute deadline', record(NOW + MIN, meta(MIN, { absoluteExpiresAt: NOW + 20 * MIN })), slide, NOW + 20 * MIN, false],
    ["an express-session record (no metadata) to slideTo", record(NOW + MIN, null), slide, NOW + 30 * MIN, false],
    ['a session with a lifetime of its own was slid by the wrong window: not counted, and it needs its own slide', record(NOW + MIN, meta(MIN, { cookieMaxAge: 5 * MIN })), slide, undefined, true],
    ['a browser-session cookie (own lifetime null) slides normally', record(NOW + MIN, meta(MIN, { cookieMaxAge: null })), slide, NOW + 30 * MIN, false],
  ]
  for (const [name, r, s, slidTo, own] of rows) {
    it(name, () => {
      assert.equal(expiryAfterRead(r, s), slidTo)
      assert.equal(needsOwnSlide(r, s), own)
    })
  }
})

describe('judge', () => {
  const rows: Array<[string, StoredSession, Partial<Timeouts>, string]> = [
    ['a session used a minute ago is live', record(NOW + 29 * MIN, meta(10 * MIN)), {}, 'live'],
    ['past its absolute deadline', record(NOW + 29 * MIN, meta(10 * MIN, { absoluteExpiresAt: NOW })), {}, 'absolute'],
    ['older than a shortened absolute timeout', record(NOW + 29 * MIN, meta(2 * 60 * MIN)), { absoluteTimeout: 60 * MIN }, 'absolute'],
    ['created before the revocation epoch', record(NOW + 29 * MIN, meta(10 * MIN)), { revokedBefore: () => NOW - MIN }, 'revoked'],
    ['created at or after the revocation epoch', record(NOW + 29 * MIN, meta(10 * MIN)), { revokedBefore: () => NOW - 10 * MIN }, 'live'],
    ['past its expiry', record(NOW, meta(10 * MIN)), {}, 'idle'],
    ['retired by a renewal and past the grace', record(NOW + 29 * MIN, meta(10 * MIN, { retiredAt: NOW - 10_000 })), {}, 'idle'],
    ['retired by a renewal, within the grace', record(NOW + 29 * MIN, meta(10 * MIN, { retiredAt: NOW - 9_999 })), {}, 'live'],
    ['idle for longer than a shortened idle window', record(NOW + 25 * MIN, meta(60 * MIN, { idleTimeout: 60 * MIN })), {}, 'idle'],
    ['within a shortened idle window', record(NOW + 35 * MIN, meta(60 * MIN, { idleTimeout: 60 * MIN })), {}, 'live'],
    ['a session with a lifetime of its own, used within it', record(NOW + 2 * MIN, meta(10 * MIN, { cookieMaxAge: 5 * MIN })), {}, 'live'],
    ["a shorter idle window does not shorten a session's own lifetime", record(NOW + MIN, meta(10 * MIN, { cookieMaxAge: 5 * MIN })), { idleTimeout: 3 * MIN }, 'live'],
    ['at the absolute cap the window is not checked', record(NOW + 5 * MIN, meta(10 * MIN, { absoluteExpiresAt: NOW + 5 * MIN, idleTimeout: 60 * MIN })), {}, 'live'],
    ["an express-session record (no metadata): its expiry alone", record(NOW + MIN, null), { revokedBefore: () => NOW }, 'live'],
    ["an express-session record past its expiry", record(NOW - 1, null), {}, 'idle'],
  ]
  for (const [name, r, policy, verdict] of rows) it(name, () => assert.equal(judge(r, NOW, { ...POLICY, ...policy }), verdict))

  it('asks revokedBefore only of a record it could end: not past the absolute deadline, and with metadata', () => {
    let asked = 0
    const revokedBefore = () => {
      asked++
      return 0
    }
    judge(record(NOW + MIN, meta(10 * MIN, { absoluteExpiresAt: NOW })), NOW, { ...POLICY, revokedBefore })
    judge(record(NOW + MIN, null), NOW, { ...POLICY, revokedBefore })
    assert.equal(asked, 0)
    judge(record(NOW + MIN, meta(10 * MIN)), NOW, { ...POLICY, revokedBefore })
    assert.equal(asked, 1)
  })
})

describe('correctFuture', () => {
  const SKEW = 60 * MIN
  const rows: Array<[string, SessionMeta, number, ReturnType<typeof correctFuture>]> = [
    ['nothing in the future: nothing to correct', meta(10 * MIN), NOW + 20 * MIN, undefined],
    ['a skew within touchAfter is left alone', meta(-2 * MIN), NOW + 32 * MIN, undefined],
    [
      'a creation time in the future counts as now, and the absolute deadline follows it',
      meta(-SKEW),
      NOW + SKEW + 30 * MIN,
      { meta: { ...meta(0), absoluteExpiresAt: NOW + POLICY.absoluteTimeout }, expiresAt: NOW + 30 * MIN },
    ],
    [
      'an absolute deadline already earlier is kept',
      meta(-SKEW, { absoluteExpiresAt: NOW + 10 * MIN }),
      NOW + 10 * MIN,
      { meta: { ...meta(0), absoluteExpiresAt: NOW + 10 * MIN }, expiresAt: NOW + 10 * MIN },
    ],
    ['a renewal in the future', meta(MIN, { renewedAt: NOW + SKEW }), NOW + 20 * MIN, { meta: meta(MIN, { renewedAt: NOW }), expiresAt: NOW + 20 * MIN }],
    ['a sign-in in the future', meta(MIN, { authTime: NOW + SKEW }), NOW + 20 * MIN, { meta: meta(MIN, { authTime: NOW }), expiresAt: NOW + 20 * MIN }],
    ['a retirement in the future', meta(MIN, { retiredAt: NOW + SKEW }), NOW + 20 * MIN, { meta: meta(MIN, { retiredAt: NOW }), expiresAt: NOW + 20 * MIN }],
    ['a last use in the future: the expiry comes back to a window from now', meta(MIN), NOW + SKEW + 30 * MIN, { meta: meta(MIN), expiresAt: NOW + 30 * MIN }],
    [
      "the last use is read with the session's own window",
      meta(MIN, { cookieMaxAge: 5 * MIN }),
      NOW + SKEW + 5 * MIN,
      { meta: meta(MIN, { cookieMaxAge: 5 * MIN }), expiresAt: NOW + 5 * MIN },
    ],
  ]
  for (const [name, m, expiresAt, expected] of rows) it(name, () => assert.deepEqual(correctFuture({ meta: m, expiresAt }, NOW, POLICY), expected))
})

describe('isRenewalDue', () => {
  const HOUR = 60 * MIN
  const rows: Array<[string, SessionMeta | null, number | undefined, boolean]> = [
    ['never without renewAfter', meta(10 * HOUR), undefined, false],
    ['never for a record without metadata', null, HOUR, false],
    ['an id younger than renewAfter stays', meta(HOUR - 1), HOUR, false],
    ['an id exactly renewAfter old is renewed', meta(HOUR), HOUR, true],
    ['the last renewal counts, not the creation', meta(2 * HOUR, { renewedAt: NOW - 10 * MIN }), HOUR, false],
  ]
  for (const [name, m, renewAfter, due] of rows) it(name, () => assert.equal(isRenewalDue(m, NOW, renewAfter), due))
})

describe('retiredExpiry', () => {
  it('keeps a replaced record for the grace, never past its absolute deadline', () => {
    assert.equal(retiredExpiry(meta(MIN), NOW, 10_000), NOW + 10_000)
    assert.equal(retiredExpiry(meta(MIN, { absoluteExpiresAt: NOW + 5_000 }), NOW, 10_000), NOW + 5_000)
  })
})

describe('maxAgeSeconds', () => {
  const rows: Array<[string, number, number]> = [
    ['whole seconds', NOW + 30_000, 30],
    ['a part of a second rounds up', NOW + 30_001, 31],
    ['an expiry passed gives 0, never a negative Max-Age', NOW - 5_000, 0],
  ]
  for (const [name, expiresAt, seconds] of rows) it(name, () => assert.equal(maxAgeSeconds(expiresAt, NOW), seconds))
})

describe('isSameLifetime', () => {
  const rows: Array<[string, number | null, number | null | undefined, boolean]> = [
    ['the same value', 60_000, 60_000, true],
    ['both browser-session', null, null, true],
    ['a few ms under the value set (maxAge is the time left)', 59_001, 60_000, true],
    ['a second apart', 59_000, 60_000, false],
    ['a lifetime where there was none', 60_000, null, false],
    ['none where there was one', null, 60_000, false],
    ['before the session was built', null, undefined, false],
  ]
  for (const [name, maxAge, before, same] of rows) it(name, () => assert.equal(isSameLifetime(maxAge, before), same))
})

describe('ownLifetime', () => {
  const rows: Array<[string, number | null, number | null | undefined]> = [
    ['null: a browser-session cookie', null, null],
    ['whole milliseconds', 1_500.7, 1_500],
    ["at most browsers' 400 days", MAX_COOKIE_LIFETIME * 2, MAX_COOKIE_LIFETIME],
    ['0: the configured cookie', 0, undefined],
    ['a negative value: the configured cookie', -5, undefined],
    ['not finite: the configured cookie', Number.POSITIVE_INFINITY, undefined],
    ['NaN: the configured cookie', Number.NaN, undefined],
  ]
  for (const [name, maxAge, own] of rows) it(name, () => assert.equal(ownLifetime(maxAge), own))
})

describe('lastSeenAt', () => {
  const rows: Array<[string, number, SessionMeta | null, number | undefined]> = [
    ['the expiry less the idle window', NOW + 20 * MIN, meta(60 * MIN), NOW - 10 * MIN],
    ["the expiry less the session's own window", NOW + 2 * MIN, meta(60 * MIN, { cookieMaxAge: 5 * MIN }), NOW - 3 * MIN],
    ['never before the creation', NOW + MIN, meta(2 * MIN), NOW - 2 * MIN],
    ['never after now', NOW + 40 * MIN, meta(60 * MIN), NOW],
    ['unknown without metadata', NOW + MIN, null, undefined],
  ]
  for (const [name, expiresAt, m, seen] of rows) it(name, () => assert.equal(lastSeenAt(expiresAt, m, POLICY.idleTimeout, NOW), seen))
})
