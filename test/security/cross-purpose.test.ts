/**
 * Cross-purpose substitution (R3, V6): a value signed with the same secret for another cookie, by
 * another session middleware or by cookie-parser, must not become a session id. The main entry
 * also reads express-session's `s:<id>.<mac>` cookies, so that a migration keeps users signed in;
 * these tests pin down what that legacy door lets through.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { HOSTS, cleanup, cookiePair, freezeClock, idOf, sessionCookie, type Host } from '../http/helpers.ts'
import { cookieParserValue, randomId, target, userOf } from './helpers.ts'

afterEach(cleanup)

/** Two session middlewares with the same secret and the same store, cookies `a` and `b`. */
async function twoCookies(host: Host) {
  const a = await target(host, { name: 'a' })
  const b = await target(host, { name: 'b', store: a.spy.store })
  return { a, b }
}

describe('cross-purpose cookies', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R3: a v1 value issued for cookie `a` is refused under cookie `b` (same secret, same store): bad_mac, no store read', async () => {
        const { a, b } = await twoCookies(host)
        const login = await a.server.request('/login')
        const value = cookiePair(login, 'a').slice(2)
        a.spy.reset()
        const reply = await b.server.request('/me', { cookie: `b=${value}` })
        assert.equal(userOf(reply), null)
        assert.deepEqual(reply.cookies, [])
        assert.equal(a.spy.count('get'), 0)
        assert.deepEqual(
          b.events.rejected.map((e) => e.reason),
          ['bad_mac'],
        )
        // the control: the value is good where it was issued
        assert.equal(userOf(await a.server.request('/me', { cookie: `a=${value}` })), 'ann')
      })

      it('R3: a v1 value of `sid` is refused under `__Host-sid` (a less protected cookie cannot be promoted)', async () => {
        const plain = await target(host)
        const hosted = await target(host, { name: '__Host-sid', cookie: { secure: true }, store: plain.spy.store })
        const value = cookiePair(await plain.server.request('/login')).slice(4)
        const reply = await hosted.server.request('/me', { cookie: `__Host-sid=${value}` })
        assert.equal(userOf(reply), null)
        assert.deepEqual(
          hosted.events.rejected.map((e) => e.reason),
          ['bad_mac'],
        )
      })

      describe('cookie-parser values (`s:` + cookie-signature, the same secret)', () => {
        it('R3: a value cookie-parser signed for another cookie is not a session: it reaches the store as an unknown id and gives nothing', async () => {
          const app = await target(host)
          await app.server.request('/login')
          app.spy.reset()
          // res.cookie('user', 'admin', { signed: true }) in the same app, replayed under our name
          const reply = await app.server.request('/me', { cookie: `user=${cookieParserValue('admin')}; sid=${cookieParserValue('admin')}` })
          assert.equal(userOf(reply), null)
          assert.deepEqual(reply.cookies, [])
          // documented behaviour of the legacy door: the MAC verifies (cookie-signature binds no name),
          // so the value is looked up, as an express-session id, and found unknown
          assert.deepEqual(
            app.events.rejected.map((e) => e.reason),
            ['unknown'],
          )
          assert.deepEqual(
            app.spy.calls.map((c) => c.method),
            ['get'],
          )
          assert.equal(app.spy.count('create') + app.spy.count('update'), 0)
        })

        it("R3: a cookie-parser signature of a live v1 session's id does not open that session", async () => {
          const app = await target(host)
          const login = await app.server.request('/login')
          const reply = await app.server.request('/me', { cookie: `sid=${cookieParserValue(idOf(login))}` })
          assert.equal(userOf(reply), null)
          assert.deepEqual(
            app.events.rejected.map((e) => e.reason),
            ['unknown'],
          )
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(login) })), 'ann', 'the victim keeps the session')
        })

        it('R3: documented: a cookie-parser value verifies as a session only when the signed value is an express-session id the store holds (migration)', async () => {
          const app = await target(host)
          const legacyId = randomId().slice(0, 32)
          const now = Date.now()
          // an express-session record: stored under the raw id, without the main entry's metadata
          await app.spy.store.create(legacyId, { data: { user: 'legacy-user' }, meta: null, userId: null, expiresAt: now + 60_000 })
          app.spy.reset()
          const reply = await app.server.request('/me', { cookie: `sid=${cookieParserValue(legacyId)}` })
          assert.equal(userOf(reply), 'legacy-user')
          // moved to a new v1 id; the express-session record is retired: it leads to the new id during the grace, never to itself
          const moved = sessionCookie(reply)
          assert.match(moved?.value ?? '', /^v1\./)
          assert.notEqual((await app.spy.store.get(legacyId))?.meta?.retiredAt, undefined)
        })

        it('R3/R5: the store key of a record a renewal retired, signed by cookie-parser, opens neither that record nor its successor', async (t) => {
          const clock = freezeClock(t)
          const app = await target(host, { renewAfter: 60_000 })
          const login = await app.server.request('/signin?user=victim')
          const key = app.spy.of('create')[0]?.args[0] as string
          clock.advance(60_000)
          const renewed = await app.server.request('/me', { cookie: cookiePair(login) })
          assert.equal(userOf(renewed), 'victim')
          assert.notEqual((await app.spy.store.get(key))?.meta?.retiredAt, undefined, 'the old record is retired')
          app.spy.reset()
          const reply = await app.server.request('/me', { cookie: `sid=${cookieParserValue(key)}` })
          assert.equal(userOf(reply), null)
          assert.deepEqual(reply.cookies, [])
          assert.equal(app.spy.count('create') + app.spy.count('update') + app.spy.count('destroy'), 0, 'nothing written or deleted')
          // the victim's cookies are untouched: the old one still leads to the new id during the grace
          assert.equal(idOf(await app.server.request('/me', { cookie: cookiePair(login) })), idOf(renewed))
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(renewed) })), 'victim')
        })

        it(
          'R3/R5: a store key read from the store (a backup, a replica) and signed by cookie-parser does not open the session',
          async () => {
            const app = await target(host)
            const login = await app.server.request('/login?user=victim')
            // what whoever reads the store sees: the key, not the id
            const key = app.spy.of('create')[0]?.args[0] as string
            assert.notEqual(key, idOf(login))
            // e.g. res.cookie('theme', req.query.theme, { signed: true }) with the session secret
            const reply = await app.server.request('/me', { cookie: `sid=${cookieParserValue(key)}` })
            assert.equal(userOf(reply), null, 'a leaked store key must not be a bearer credential')
            assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(login) })), 'victim')
          },
        )

        it('R3: a cookie-parser value signed with another secret is bad_mac, with no store read', async () => {
          const app = await target(host)
          const reply = await app.server.request('/me', { cookie: `sid=${cookieParserValue(randomId().slice(0, 32), 'not the secret of this app, but long enough')}` })
          assert.equal(userOf(reply), null)
          assert.equal(app.spy.count('get'), 0)
          assert.deepEqual(
            app.events.rejected.map((e) => e.reason),
            ['bad_mac'],
          )
        })
      })
    })
  }
})
