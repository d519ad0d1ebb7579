/**
 * Server-side deadlines (R10, R11) against a client that keeps and replays its cookie: the idle and
 * absolute timeouts are judged from server-side timestamps on every load, whatever the store's TTL
 * or the browser's cookie say, and however busy the client keeps the session. `Date.now` is frozen
 * and moved by hand; timers stay real.
 */
import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { SessionOptions, SessionStore } from '../../src/index.ts'
import { HOSTS, cleanup, cookiePair, freezeClock, laggingStore, memoryStore, sessionCookie, type Host, type Req, type Res } from '../http/helpers.ts'
import { target, userOf } from './helpers.ts'

afterEach(cleanup)

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** A whole second, so cookie dates (second resolution) compare exactly. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

async function clocked(t: TestContext, host: Host, options: Partial<SessionOptions>) {
  const clock = freezeClock(t, T0)
  const app = await target(host, options, {
    routes: (express) => {
      express.get('/remember', (req: Req, res: Res) => {
        // "remember me" for ten years: the server's deadlines must still bound it
        req.session.cookie.maxAge = 3650 * DAY
        req.session.user = 'ann'
        res.send('ok')
      })
    },
  })
  return { ...app, clock }
}

/** A store that keeps records an hour past the engine's expiry: only the engine's checks stand in the way. */
function paddedStore(): SessionStore {
  return laggingStore(HOUR, memoryStore())
}

describe('server-side expiry', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('R10: idle timeout', () => {
        it('R10: a replayed cookie is dead one millisecond after the idle window, even though the store still holds the record', async (t) => {
          const app = await clocked(t, host, { idleTimeout: 10 * MINUTE, store: paddedStore() })
          const cookie = cookiePair(await app.server.request('/login'))
          app.clock.advance(10 * MINUTE - 1)
          assert.equal(userOf(await app.server.request('/me', { cookie })), 'ann', 'still inside the window')
          app.clock.advance(10 * MINUTE)
          const replay = await app.server.request('/me', { cookie })
          assert.equal(userOf(replay), null)
          assert.deepEqual(replay.cookies, [])
          assert.deepEqual(
            app.events.expired.map((e) => e.kind),
            ['idle'],
          )
          // and it stays dead: the engine deleted it
          assert.equal(userOf(await app.server.request('/me', { cookie })), null)
        })

        it('R10: shortening idleTimeout applies to sessions created under the longer one (config never extends a session)', async (t) => {
          const store = paddedStore()
          const before = await clocked(t, host, { idleTimeout: HOUR, store })
          const cookie = cookiePair(await before.server.request('/login'))
          const after = await target(host, { idleTimeout: MINUTE, store })
          before.clock.advance(2 * MINUTE)
          assert.equal(userOf(await after.server.request('/me', { cookie })), null)
          assert.deepEqual(
            after.events.expired.map((e) => e.kind),
            ['idle'],
          )
        })
      })

      describe('R10: absolute timeout', () => {
        for (const [label, makeStore] of [
          ['a MemoryStore', () => memoryStore()],
          ['a store that keeps records longer', paddedStore],
        ] as const) {
          it(`R10: a client that keeps the session busy is still cut off at the absolute deadline (${label})`, async (t) => {
            const app = await clocked(t, host, { idleTimeout: 10 * MINUTE, absoluteTimeout: HOUR, touchAfter: 0, store: makeStore() })
            const cookie = cookiePair(await app.server.request('/login'))
            // every 5 minutes, well inside the idle window, for 55 minutes
            for (let minute = 5; minute < 60; minute += 5) {
              app.clock.advance(5 * MINUTE)
              assert.equal(userOf(await app.server.request('/me', { cookie })), 'ann', `minute ${minute}`)
            }
            app.clock.advance(5 * MINUTE)
            assert.equal(userOf(await app.server.request('/me', { cookie })), null)
          })
        }

        it("R10: with the store's record padded, the engine reports the absolute kind and deletes the record", async (t) => {
          const app = await clocked(t, host, { idleTimeout: 10 * MINUTE, absoluteTimeout: 30 * MINUTE, touchAfter: 0, store: paddedStore() })
          const cookie = cookiePair(await app.server.request('/login'))
          for (let i = 0; i < 6; i++) {
            app.clock.advance(5 * MINUTE)
            await app.server.request('/me', { cookie })
          }
          assert.deepEqual(
            app.events.expired.map((e) => e.kind),
            ['absolute'],
          )
        })

        it('R10: "remember me" (cookie.maxAge of ten years) does not outlive the absolute deadline', async (t) => {
          const app = await clocked(t, host, { absoluteTimeout: 2 * HOUR, store: paddedStore() })
          const cookie = cookiePair(await app.server.request('/remember'))
          app.clock.advance(2 * HOUR)
          assert.equal(userOf(await app.server.request('/me', { cookie })), null)
        })

        it('R10: shortening absoluteTimeout applies to existing sessions', async (t) => {
          const store = paddedStore()
          const before = await clocked(t, host, { absoluteTimeout: 12 * HOUR, idleTimeout: 10 * HOUR, store })
          const cookie = cookiePair(await before.server.request('/login'))
          const after = await target(host, { absoluteTimeout: HOUR, idleTimeout: 10 * MINUTE, store })
          before.clock.advance(HOUR)
          assert.equal(userOf(await after.server.request('/me', { cookie })), null)
        })
      })

      describe('R10: a clock moved back (a record written while the clock was ahead)', () => {
        /** Logs in while the clock is `ahead` ms fast, then puts the clock right (back to T0). */
        async function writtenAhead(t: TestContext, ahead: number, options: Partial<SessionOptions>, path = '/login') {
          const app = await clocked(t, host, options)
          app.clock.advance(ahead)
          const login = await app.server.request(path)
          app.clock.advance(-ahead)
          return { ...app, login, cookie: cookiePair(login) }
        }

        it('R10: the idle window runs from the first request after the clock went back, not from the future write', async (t) => {
          const app = await writtenAhead(t, HOUR, { idleTimeout: 10 * MINUTE })
          app.clock.advance(MINUTE)
          assert.equal(userOf(await app.server.request('/me', { cookie: app.cookie })), 'ann')
          app.clock.advance(10 * MINUTE + 1)
          assert.equal(userOf(await app.server.request('/me', { cookie: app.cookie })), null, 'not an hour longer')
        })

        it('R10: the absolute deadline is never later than absoluteTimeout after that first request', async (t) => {
          const app = await writtenAhead(t, HOUR, { idleTimeout: 10 * MINUTE, absoluteTimeout: HOUR, touchAfter: 0 })
          for (let minute = 5; minute < 65; minute += 5) {
            app.clock.advance(5 * MINUTE)
            assert.equal(userOf(await app.server.request('/me', { cookie: app.cookie })), 'ann', `minute ${minute}`)
          }
          app.clock.advance(5 * MINUTE)
          assert.equal(userOf(await app.server.request('/me', { cookie: app.cookie })), null, 'an hour after the first request, not two')
        })

        it('R12: renewAfter counts from that first request at the latest (elapsed time is never negative)', async (t) => {
          const app = await writtenAhead(t, HOUR, { idleTimeout: 30 * MINUTE, renewAfter: 10 * MINUTE })
          app.clock.advance(MINUTE)
          assert.deepEqual((await app.server.request('/me', { cookie: app.cookie })).cookies, [], 'not renewed yet')
          app.clock.advance(10 * MINUTE)
          const renewed = await app.server.request('/me', { cookie: app.cookie })
          assert.equal(userOf(renewed), 'ann')
          assert.notEqual(cookiePair(renewed), app.cookie, 'a new id')
        })

        it('a skew within touchAfter (hosts a little apart) is left alone: no write on a read', async (t) => {
          const app = await writtenAhead(t, 30 * SECOND, { idleTimeout: 10 * MINUTE })
          app.spy.reset()
          assert.equal(userOf(await app.server.request('/me', { cookie: app.cookie })), 'ann')
          assert.equal(app.spy.count('update') + app.spy.count('touch'), 0)
        })
      })

      describe('R11: what the cookie says', () => {
        it('R11: by default the cookie is a browser-session cookie (no Max-Age, no Expires)', async (t) => {
          const app = await clocked(t, host, {})
          const cookie = sessionCookie(await app.server.request('/login'))
          assert.equal(cookie?.attributes['max-age'], undefined)
          assert.equal(cookie?.attributes.expires, undefined)
        })

        it('R11: a persistent cookie never claims more than the absolute time left', async (t) => {
          const app = await clocked(t, host, { cookie: { maxAge: 60 * SECOND }, absoluteTimeout: 90 * SECOND, rolling: true })
          const login = await app.server.request('/login')
          assert.equal(sessionCookie(login)?.attributes['max-age'], '60')
          app.clock.advance(50 * SECOND)
          const later = sessionCookie(await app.server.request('/me', { cookie: cookiePair(login) }))
          assert.equal(later?.attributes['max-age'], '40')
          assert.equal(new Date(String(later?.attributes.expires)).getTime(), T0 + 90 * SECOND)
        })

        it('R11: Max-Age is capped at 400 days', async (t) => {
          const app = await clocked(t, host, { cookie: { maxAge: 1000 * DAY } })
          const cookie = sessionCookie(await app.server.request('/login'))
          assert.equal(cookie?.attributes['max-age'], String(400 * 24 * 3600))
          assert.equal(new Date(String(cookie?.attributes.expires)).getTime(), T0 + 400 * DAY)
        })

        it('R11: a "remember me" of ten years set by the handler is capped at the absolute deadline', async (t) => {
          const app = await clocked(t, host, { absoluteTimeout: 12 * HOUR })
          const cookie = sessionCookie(await app.server.request('/remember'))
          assert.equal(cookie?.attributes['max-age'], String(12 * 3600))
          assert.equal(new Date(String(cookie?.attributes.expires)).getTime(), T0 + 12 * HOUR)
        })
      })
    })
  }
})
