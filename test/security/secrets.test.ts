/**
 * Secrets (R4): a cookie signed with a retired secret, or with the attacker's own, gives nothing;
 * rotation keeps users signed in and re-signs them with the new secret; weak secrets are refused in
 * production before any request is served.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { toCallbackStore } from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, OTHER_SECRET, SECRET, cleanup, cookiePair, idOf, memoryStore, require, serve, sessionCookie, type Req, type Res } from '../http/helpers.ts'
import { inProduction, target, userOf } from './helpers.ts'

afterEach(cleanup)

const expressSession = require('express-session') as (options: object) => (req: Req, res: Res, next: () => void) => void

describe('secrets', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R4: a cookie signed with a secret no longer in the list gives no session (bad_mac, no store read)', async () => {
        const before = await target(host, { secret: OTHER_SECRET })
        const login = await before.server.request('/login')
        // the secret was rotated out: the same store, only the new secret
        const after = await target(host, { secret: SECRET, store: before.spy.store })
        before.spy.reset()
        const reply = await after.server.request('/me', { cookie: cookiePair(login) })
        assert.equal(userOf(reply), null)
        assert.deepEqual(reply.cookies, [])
        assert.equal(before.spy.count('get'), 0)
        assert.deepEqual(
          after.events.rejected.map((e) => e.reason),
          ['bad_mac'],
        )
      })

      it("R4: a cookie the attacker signed with a secret of their own (a guessed or default one) gives nothing", async () => {
        const app = await target(host)
        const id = idOf(await app.server.request('/login'))
        app.spy.reset()
        for (const guess of ['keyboard cat', 'secret', '', SECRET.slice(0, -1), SECRET + ' ']) {
          const reply = await app.server.request('/me', { cookie: `sid=${signV1(id, 'sid', guess)}` })
          assert.equal(userOf(reply), null, `signed with ${JSON.stringify(guess)}`)
        }
        assert.equal(app.spy.count('get'), 0)
        assert.deepEqual(new Set(app.events.rejected.map((e) => e.reason)), new Set(['bad_mac']))
      })

      it('R4: during a rotation a cookie of the old secret still works and is re-signed with the new one', async () => {
        const before = await target(host, { secret: OTHER_SECRET })
        const login = await before.server.request('/login')
        const rotating = await target(host, { secret: [SECRET, OTHER_SECRET], store: before.spy.store })
        const reply = await rotating.server.request('/me', { cookie: cookiePair(login) })
        assert.equal(userOf(reply), 'ann')
        assert.equal(sessionCookie(reply)?.value, signV1(idOf(login), 'sid', SECRET))
        // the re-signed cookie keeps working once the old secret is gone
        const after = await target(host, { secret: SECRET, store: before.spy.store })
        assert.equal(userOf(await after.server.request('/me', { cookie: cookiePair(reply) })), 'ann')
      })

      it('R4: in production, an app leaving express-session with a short secret keeps its users: [strong, short] verifies their cookies and re-signs them with the strong one', async (t) => {
        // the weak old secret is accepted with a warning (test/unit/secrets.test.ts): silenced here
        t.mock.method(process, 'emitWarning', () => {})
        const store = memoryStore()
        const legacy = await serve(host, (app) => {
          app.use(expressSession({ secret: 'keyboard cat', store: toCallbackStore(store), resave: false, saveUninitialized: false }))
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
        })
        const login = await legacy.request('/login')
        const middleware = inProduction(() => session({ secret: [SECRET, 'keyboard cat'], name: 'connect.sid', store }))
        const main = await serve(host, (app) => {
          app.use(middleware)
          app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null }))
        })
        const reply = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
        assert.equal(userOf(reply), 'ann')
        const id = idOf(reply, 'connect.sid')
        assert.equal(sessionCookie(reply, 'connect.sid')?.value, signV1(id, 'connect.sid', SECRET), 'the new cookie is signed with the strong secret')
        assert.equal(userOf(await main.request('/me', { cookie: cookiePair(reply, 'connect.sid') })), 'ann')
      })
    })
  }

  describe('in production', () => {
    const WEAK: Array<[string, unknown]> = [
      ['keyboard cat', 'keyboard cat'],
      ['a known example in another case, padded', '  Keyboard Cat  '],
      ['31 bytes', 'x'.repeat(31)],
      ['a weak first secret before a strong one', ['changeme', SECRET]],
      ['a 16-byte Buffer', Buffer.alloc(16, 1)],
      ['six secrets', [SECRET, OTHER_SECRET, SECRET + 1, SECRET + 2, SECRET + 3, SECRET + 4]],
      ['the same secret twice', [SECRET, SECRET]],
      ['the same key as a string and as a Buffer', [SECRET, OTHER_SECRET, Buffer.from(SECRET)]],
      ['no secret', undefined],
      ['an empty list', []],
    ]
    for (const [label, secret] of WEAK) {
      it(`R4: ${label} is refused at construction with ERR_TESSERA_INVALID_OPTION`, () => {
        assert.throws(
          () => inProduction(() => session({ secret: secret as string, store: memoryStore() })),
          (err: any) => err.code === 'ERR_TESSERA_INVALID_OPTION' && /^secret/.test(err.option),
        )
      })
    }

    it('R4: a strong secret (and up to five) is accepted', () => {
      assert.doesNotThrow(() => inProduction(() => session({ secret: [SECRET, OTHER_SECRET, SECRET + 1, SECRET + 2, SECRET + 3], store: memoryStore() })))
    })
  })
})
