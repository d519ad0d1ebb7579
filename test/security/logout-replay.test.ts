/**
 * Logout and replay (R13, R14, R15): a destroyed session is dead for every copy of its cookie, a
 * request already in flight cannot write it back, revocation reaches other devices, and only what
 * changed is written.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, type SessionHandler } from '../../src/index.ts'
import { HOSTS, cleanup, cookiePair, delay, gate, handle, memoryStore, idOf, sessionCookie, type Host, type Req, type Res } from '../http/helpers.ts'
import { target, userOf } from './helpers.ts'

afterEach(cleanup)

function peek(store: MemoryStore, key: string) {
  return MemoryStore.prototype.get.call(store, key)
}

/** A target with `/slow?then=write|touch|save`: loads the session, waits for `release`, then acts. */
async function inFlightTarget(host: Host, store?: MemoryStore) {
  const reached = gate()
  const release = gate()
  const app = await target(
    host,
    store === undefined ? {} : { store },
    {
      routes: (express) => {
        express.get(
          '/slow',
          handle(async (req: Req, res: Res) => {
            const loaded = req.session.user
            reached.open()
            await release.promise
            if (req.query.then === 'write') req.session.user = 'resurrected'
            if (req.query.then === 'touch') req.session.touch()
            if (req.query.then === 'save') {
              req.session.user = 'resurrected'
              req.session.resurrected = true
              await req.session.save()
            }
            res.json({ loaded })
          }),
        )
        express.get('/peek', (req: Req, res: Res) => res.send(req.session.user === undefined && req.session.resurrected === undefined && Object.keys(req.session).length === 1 ? 'no session' : JSON.stringify(req.session)))
      },
    },
  )
  return { ...app, reached, release }
}

describe('logout and replay', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R13: after destroy() the old cookie gives no session, and the record is gone from the store', async () => {
        const app = await target(host)
        const login = await app.server.request('/login')
        const key = app.spy.of('create')[0]?.args[0] as string
        const logout = await app.server.request('/logout', { cookie: cookiePair(login) })
        assert.equal(logout.status, 200)
        assert.equal(await peek(app.spy.store, key), null)
        const replay = await app.server.request('/me', { cookie: cookiePair(login) })
        assert.equal(userOf(replay), null)
        assert.deepEqual(replay.cookies, [])
        assert.deepEqual(
          app.events.destroyed.map((e) => e.reason),
          ['destroy'],
        )
        assert.deepEqual(
          app.events.rejected.map((e) => e.reason),
          ['unknown'],
        )
      })

      it('R13: the clearing Set-Cookie repeats the name, Path, Domain and flags of the cookie it clears', async () => {
        const app = await target(host, { cookie: { domain: 'app.example', secure: true, sameSite: 'strict' } })
        const login = await app.server.request('/login')
        const set = sessionCookie(login)
        const cleared = sessionCookie(await app.server.request('/logout', { cookie: cookiePair(login) }))
        assert.ok(set && cleared)
        assert.equal(cleared.name, set.name)
        assert.equal(cleared.value, '')
        assert.equal(cleared.attributes['max-age'], '0')
        assert.equal(new Date(String(cleared.attributes.expires)).getTime(), 0)
        for (const attribute of ['path', 'domain', 'secure', 'httponly', 'samesite', 'priority']) {
          assert.equal(cleared.attributes[attribute], set.attributes[attribute], attribute)
        }
      })

      for (const then of ['write', 'save'] as const) {
        it(`R13: a request that loaded the session before the logout and ${then === 'save' ? 'calls save()' : 'writes'} after it does not bring it back`, async () => {
          const app = await inFlightTarget(host)
          const login = await app.server.request('/login')
          const key = app.spy.of('create')[0]?.args[0] as string
          const slow = app.server.request(`/slow?then=${then}`, { cookie: cookiePair(login) })
          await app.reached.promise
          await app.server.request('/logout', { cookie: cookiePair(login) })
          app.release.open()
          const late = await slow
          assert.equal(late.status, 200)
          assert.deepEqual(app.server.errors, [])
          assert.equal(JSON.parse(late.body).loaded, 'ann', 'the slow request did hold the session')
          assert.deepEqual(late.cookies, [], 'no cookie for a session that is gone')
          assert.deepEqual(
            app.events.conflict.map((e) => e.result),
            ['gone'],
          )
          assert.equal(await peek(app.spy.store, key), null)
          assert.equal(app.spy.count('create'), 1, 'never recreated')
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(login) })), null)
        })
      }

      it('R13: a save() that finds the session gone does not recreate it once the store tombstone has lapsed', async () => {
        const app = await inFlightTarget(host, memoryStore({ tombstoneTtl: 1 }))
        const login = await app.server.request('/login')
        const slow = app.server.request('/slow?then=save', { cookie: cookiePair(login) })
        await app.reached.promise
        await app.server.request('/logout', { cookie: cookiePair(login) })
        await delay(5)
        app.release.open()
        await slow
        // the stolen pre-logout cookie must stay dead
        assert.equal((await app.server.request('/peek', { cookie: cookiePair(login) })).body, 'no session')
      })

      it('R13: a request in flight that only slides the expiry (touch) after the logout does not bring it back', async () => {
        const app = await inFlightTarget(host)
        const login = await app.server.request('/login')
        const key = app.spy.of('create')[0]?.args[0] as string
        const slow = app.server.request('/slow?then=touch', { cookie: cookiePair(login) })
        await app.reached.promise
        await app.server.request('/logout', { cookie: cookiePair(login) })
        app.release.open()
        await slow
        assert.equal(await peek(app.spy.store, key), null)
        assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(login) })), null)
      })

      describe('R14: revocation across devices', () => {
        async function twoDevices() {
          const ref: { middleware?: SessionHandler } = {}
          const app = await target(
            host,
            {},
            {
              routes: (express) => {
                express.get(
                  '/sign-out-others',
                  handle(async (req: Req, res: Res) => res.json(await ref.middleware?.revokeUserSessions(req.session.user, { exceptId: req.sessionID }))),
                )
                express.get(
                  '/sessions',
                  handle(async (req: Req, res: Res) => res.json(await ref.middleware?.listUserSessions(String(req.query.user), { currentId: req.sessionID }))),
                )
                express.get(
                  '/revoke',
                  handle(async (req: Req, res: Res) => res.json(await ref.middleware?.revokeUserSession(String(req.query.user), String(req.query.handle)))),
                )
              },
            },
          )
          ref.middleware = app.middleware
          const laptop = await app.server.request('/signin?user=ann')
          const phone = await app.server.request('/signin?user=ann')
          return { app, laptop, phone }
        }

        it('R14: "sign out everywhere else" kills the other devices\' cookies and keeps the current one', async () => {
          const { app, laptop, phone } = await twoDevices()
          const reply = await app.server.request('/sign-out-others', { cookie: cookiePair(laptop) })
          assert.equal(JSON.parse(reply.body), 1)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(phone) })), null)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(laptop) })), 'ann')
        })

        it("R14: the session list gives opaque handles, never ids; a handle cannot revoke another user's session", async () => {
          const { app, laptop, phone } = await twoDevices()
          const listed = JSON.parse((await app.server.request('/sessions?user=ann', { cookie: cookiePair(laptop) })).body) as any[]
          assert.equal(listed.length, 2)
          assert.equal(listed.filter((s) => s.current).length, 1)
          const body = JSON.stringify(listed)
          for (const id of [idOf(laptop), idOf(phone)]) assert.ok(!body.includes(id), 'an id leaked into the session list')
          // mallory lists her own sessions and tries ann's handle against her own user id
          const mallory = await app.server.request('/signin?user=mallory')
          const handle = listed[0].handle as string
          const revoke = await app.server.request(`/revoke?user=mallory&handle=${encodeURIComponent(handle)}`, { cookie: cookiePair(mallory) })
          assert.equal(JSON.parse(revoke.body), false)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(laptop) })), 'ann')
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(phone) })), 'ann')
        })
      })

      describe('R15: writes', () => {
        it('R15: a request that only reads the session writes nothing (no resave of stale data)', async () => {
          const app = await target(host)
          const login = await app.server.request('/login')
          app.spy.reset()
          const reply = await app.server.request('/me', { cookie: cookiePair(login) })
          assert.equal(userOf(reply), 'ann')
          assert.deepEqual(
            app.spy.calls.map((c) => c.method),
            ['get'],
          )
          assert.deepEqual(reply.cookies, [])
        })

        it('R15: two overlapping requests changing different keys both keep their change (no lost update)', async () => {
          const first = gate()
          const waiting = gate()
          const app = await target(
            host,
            {},
            {
              routes: (express) => {
                express.get(
                  '/set',
                  handle(async (req: Req, res: Res) => {
                    if (req.query.wait) {
                      waiting.open()
                      await first.promise
                    }
                    req.session[String(req.query.key)] = String(req.query.value)
                    res.send('ok')
                  }),
                )
                express.get('/all', (req: Req, res: Res) => res.json({ role: req.session.role ?? null, theme: req.session.theme ?? null }))
              },
            },
          )
          const cookie = cookiePair(await app.server.request('/login'))
          const slow = app.server.request('/set?key=role&value=user&wait=1', { cookie })
          await waiting.promise
          await app.server.request('/set?key=theme&value=dark', { cookie })
          first.open()
          await slow
          assert.deepEqual(JSON.parse((await app.server.request('/all', { cookie })).body), { role: 'user', theme: 'dark' })
          // field-level: the late write carried only its own key
          const late = app.spy.of('update').at(-1)
          assert.deepEqual(Object.keys(late?.args[1].set ?? {}), ['role'])
        })
      })
    })
  }
})
