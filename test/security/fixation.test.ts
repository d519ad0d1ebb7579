/**
 * Session fixation and id quality (R1, R2, R7, R12): an id the server did not issue for a live
 * session is never adopted nor written; signing in always moves to a new id and kills the old one;
 * ids are 256-bit random and never overwrite one another.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { MemoryStore } from '../../src/index.ts'
import { storeKeyOf, taggedStoreKeyOf } from '../../src/engine/engine.ts'
import { HOSTS, V1_VALUE, cleanup, cookiePair, handle, idOf, sessionCookie, type Host, type Req, type Res } from '../http/helpers.ts'
import { randomId, target, userOf, v1Cookie } from './helpers.ts'

afterEach(cleanup)

/** Reads a record without going through the spy and without sliding it. */
function peek(store: MemoryStore, key: string) {
  return MemoryStore.prototype.get.call(store, key)
}

function fixationTarget(host: Host, options = {}) {
  return target(host, options, {
    routes: (app) => {
      app.get('/plant', (req: Req, res: Res) => {
        req.session.cart = ['book']
        req.session.role = 'admin'
        res.send('planted')
      })
      app.get(
        '/signin-keep',
        handle(async (req: Req, res: Res) => {
          await req.session.login(String(req.query.user), { keep: ['cart'] })
          req.session.user = String(req.query.user)
          res.json(Object.keys(req.session).filter((k) => k !== 'cookie'))
        }),
      )
      app.get(
        '/regenerate',
        handle(async (req: Req, res: Res) => {
          await req.session.regenerate()
          req.session.user = 'after'
          res.send('ok')
        }),
      )
    },
  })
}

describe('fixation', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('R7: a planted, correctly signed id the store does not hold', () => {
        for (const [label, plant] of [
          ['an id never issued', async () => randomId()],
          ["the attacker's own session after logout", undefined],
        ] as const) {
          it(`R7: ${label} is never adopted: a new id is issued on write and the planted one is never written`, async () => {
            const app = await fixationTarget(host)
            let plantedId: string
            if (plant) plantedId = await plant()
            else {
              const own = await app.server.request('/login?user=mallory')
              plantedId = idOf(own)
              await app.server.request('/logout', { cookie: cookiePair(own) })
            }
            app.spy.reset()
            const planted = v1Cookie(plantedId)
            const victim = await app.server.request('/login?user=victim', { cookie: planted })
            assert.equal(victim.status, 200)
            const issued = idOf(victim)
            assert.notEqual(issued, plantedId)
            // the keys the engine looked the planted id up under (its key, then the one earlier versions
            // used): nothing is ever written there
            const plantedKeys = app.spy.of('get').map((call) => call.args[0] as string)
            assert.deepEqual(plantedKeys, [storeKeyOf(plantedId), taggedStoreKeyOf(plantedId)])
            for (const call of app.spy.calls.filter((c) => c.method !== 'get')) {
              assert.ok(!plantedKeys.includes(call.args[0] as string), `${call.method} wrote under the planted id`)
              assert.ok(!JSON.stringify(call.args).includes(plantedId), `${call.method} carries the planted id`)
            }
            assert.equal(app.spy.count('create'), 1)
            for (const key of plantedKeys) assert.equal(await peek(app.spy.store, key), null)
            assert.deepEqual(
              app.events.rejected.map((e) => e.reason),
              ['unknown'],
            )
            // the attacker replays the planted cookie: still nothing, and not the victim's session
            assert.equal(userOf(await app.server.request('/me', { cookie: planted })), null)
            assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(victim) })), 'victim')
          })
        }

        it('R7: with saveUninitialized the planted id is not adopted either (a fresh id is stored)', async () => {
          const app = await fixationTarget(host, { saveUninitialized: true })
          const plantedId = randomId()
          const reply = await app.server.request('/me', { cookie: v1Cookie(plantedId) })
          assert.notEqual(idOf(reply), plantedId)
          assert.equal(app.spy.count('create'), 1)
          assert.notEqual(app.spy.of('create')[0]?.args[0], app.spy.of('get')[0]?.args[0])
        })
      })

      describe("R12: login() on a session the attacker planted (the attacker's own live session)", () => {
        it('R12: the id changes, the pre-login id is dead, and the attacker never sees the signed-in session', async () => {
          const app = await fixationTarget(host)
          const attacker = await app.server.request('/plant')
          const planted = cookiePair(attacker)
          const signin = await app.server.request('/signin?user=victim', { cookie: planted })
          assert.notEqual(idOf(signin), idOf(attacker))
          assert.deepEqual(
            app.events.rotated.map((e) => e.reason),
            ['login'],
          )
          // the attacker's cookie is now worthless, the victim's new one works
          const replay = await app.server.request('/me', { cookie: planted })
          assert.equal(userOf(replay), null)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(signin) })), 'victim')
          assert.ok(app.events.rejected.some((e) => e.reason === 'unknown'))
        })

        it('R12: only allow-listed keys cross the login: data the attacker planted before it does not', async () => {
          const app = await fixationTarget(host)
          const planted = cookiePair(await app.server.request('/plant'))
          const signin = await app.server.request('/signin-keep?user=victim', { cookie: planted })
          assert.deepEqual(JSON.parse(signin.body).sort(), ['cart', 'user'])
        })

        it('R12: regenerate() deletes the old record before the response arrives', async () => {
          const app = await fixationTarget(host)
          const before = await app.server.request('/login')
          const after = await app.server.request('/regenerate', { cookie: cookiePair(before) })
          assert.notEqual(idOf(after), idOf(before))
          const destroyed = app.spy.of('destroy')
          assert.equal(destroyed.length, 1)
          assert.equal(await peek(app.spy.store, destroyed[0]?.args[0] as string), null)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(before) })), null)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(after) })), 'after')
        })
      })

      describe('R1: ids', () => {
        it('R1: 60 sessions get 60 distinct 43-character base64url ids (256 bits) in v1 cookies', async () => {
          const app = await target(host)
          const replies = await Promise.all(Array.from({ length: 60 }, () => app.server.request('/login')))
          const ids = replies.map((reply) => {
            assert.match(sessionCookie(reply)?.value ?? '', V1_VALUE)
            return idOf(reply)
          })
          assert.equal(new Set(ids).size, 60)
          for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{43}$/)
          // 256 random bits: no two ids share a long prefix
          assert.equal(new Set(ids.map((id) => id.slice(0, 8))).size, 60)
        })

        it("R1/R5: a signed-in session's id and store key are as random as an anonymous one's: nothing in them ties sessions to their user", async () => {
          const app = await target(host)
          // one user signing in from 30 devices, and 10 other users
          const users = [...Array<string>(30).fill('ann@example.com'), ...Array.from({ length: 10 }, (_, i) => `user${i}@example.com`)]
          const replies = await Promise.all(users.map((user) => app.server.request(`/signin?user=${encodeURIComponent(user)}`)))
          const ids = replies.map((reply) => idOf(reply))
          const keys = app.spy.of('create').map((call) => call.args[0] as string)
          assert.equal(keys.length, users.length)
          for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{43}$/, 'the id is 256 random bits and nothing else')
          // the key is the SHA-256 of the id, without any readable part of the id in front of it
          assert.deepEqual([...keys].sort(), ids.map((id) => createHash('sha256').update(id).digest('base64url')).sort())
          // earlier versions put the first 8 characters of the user id's SHA-256 in front of both
          for (const user of new Set(users)) {
            const tag = createHash('sha256').update(user).digest('base64url').slice(0, 8)
            for (const value of [...ids, ...keys]) assert.ok(!value.includes(tag), `${value} holds a hash of ${user}`)
          }
          // no two sessions share a prefix of their id or of their key (36 bits: a chance of about 1 in 10^8)
          for (const values of [ids, keys]) assert.equal(new Set(values.map((value) => value.slice(0, 6))).size, values.length)
        })

        const BAD_GENID: Array<[string, () => unknown]> = [
          ['21 characters', () => 'A'.repeat(21)],
          ['121 characters', () => 'A'.repeat(121)],
          ['a "/" in it', () => 'A'.repeat(30) + '/'],
          ['a "." in it (the v1 separator)', () => 'A'.repeat(30) + '.x'],
          ['a ";" and a CR/LF in it', () => 'A'.repeat(30) + ';\r\nSet-Cookie: x=1'],
          ['a number', () => 1234567890123],
          ['undefined', () => undefined],
        ]
        for (const [label, genid] of BAD_GENID) {
          it(`R1: a genid returning ${label} fails the request (ERR_TESSERA_INVALID_OPTION): no cookie, nothing stored`, async () => {
            const app = await target(host, { genid: genid as () => string })
            const reply = await app.server.request('/login')
            assert.equal(reply.status, 500)
            assert.deepEqual(reply.cookies, [])
            assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_INVALID_OPTION')
            assert.equal(app.spy.count('create'), 0)
          })
        }
      })

      describe('R2: create-if-absent', () => {
        it('R2: a genid that repeats itself can never overwrite another session: the second write fails, the first session is intact', async () => {
          const fixed = 'F'.repeat(43)
          const app = await target(host, { genid: () => fixed })
          const first = await app.server.request('/login?user=ann')
          assert.equal(idOf(first), fixed)
          const second = await app.server.request('/login?user=mallory')
          assert.equal(second.status, 500)
          assert.deepEqual(second.cookies, [])
          assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_INVALID_SESSION_STATE')
          assert.deepEqual(
            app.spy.of('create').map((c) => c.result),
            ['ok', 'collision'],
          )
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(first) })), 'ann')
        })
      })
    })
  }
})
