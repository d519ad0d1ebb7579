/**
 * Store flooding (R24, R7; Django CVE-2015-5143 and CVE-2015-5963): bots, anonymous logouts and
 * clients rotating through unknown ids cost no store writes and get no cookie.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { HOSTS, cleanup, freezeClock, type Reply, type Req, type Res } from '../http/helpers.ts'
import { randomId, target, v1Cookie } from './helpers.ts'

afterEach(cleanup)

const FLOOD = 200
const WRITES = ['create', 'update', 'touch', 'destroy'] as const

/** `count` requests, 20 at a time. */
async function flood(count: number, send: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const replies: Reply[] = []
  for (let i = 0; i < count; i += 20) {
    replies.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => send(i + j)))))
  }
  return replies
}

function floodTarget(host: (typeof HOSTS)[number]) {
  return target(
    host,
    {},
    {
      routes: (app) => {
        // a page that looks at the session id (for logging, say) without storing anything
        app.get('/peek-id', (req: Req, res: Res) => res.send(typeof req.sessionID))
      },
    },
  )
}

describe('store flooding', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it(`R24: ${FLOOD} cookieless requests to a page that only reads req.session.user: zero store calls, zero Set-Cookie`, async () => {
        const app = await floodTarget(host)
        const replies = await flood(FLOOD, () => app.server.request('/me'))
        assert.ok(replies.every((r) => r.status === 200 && r.cookies.length === 0))
        assert.equal(app.spy.count(), 0)
        assert.deepEqual(app.events.created, [])
      })

      it(`R24: ${FLOOD} cookieless requests that read req.sessionID: zero store calls, zero Set-Cookie`, async () => {
        const app = await floodTarget(host)
        const replies = await flood(FLOOD, () => app.server.request('/peek-id'))
        assert.ok(replies.every((r) => r.status === 200 && r.body === 'string' && r.cookies.length === 0))
        assert.equal(app.spy.count(), 0)
      })

      it(`R24: ${FLOOD} anonymous /logout (destroy) calls: zero store calls, zero Set-Cookie`, async () => {
        const app = await floodTarget(host)
        const replies = await flood(FLOOD, () => app.server.request('/logout'))
        assert.ok(replies.every((r) => r.status === 200 && r.cookies.length === 0))
        assert.equal(app.spy.count(), 0)
        assert.deepEqual(app.events.destroyed, [])
      })

      it(`R24: ${FLOOD} /logout calls carrying garbage cookies: zero store calls (only the clearing cookie goes back)`, async () => {
        const app = await floodTarget(host)
        const replies = await flood(FLOOD, (i) => app.server.request('/logout', { cookie: `sid=garbage${i}` }))
        assert.equal(app.spy.count(), 0)
        for (const reply of replies) {
          assert.ok(reply.cookies.every((line) => line.startsWith('sid=;')), JSON.stringify(reply.cookies))
        }
      })

      it(`R7: ${FLOOD} requests with a different correctly signed unknown id each: reads only, no record created, no cookie`, async (t) => {
        const clock = freezeClock(t)
        const app = await floodTarget(host)
        // each id is looked for under its key and, while sessions stored by an earlier version may still
        // be alive (twice absoluteTimeout, 12 h by default), under the key that version used
        for (const [reads, later] of [
          [2, 0],
          [1, 2 * 12 * 3_600_000],
        ]) {
          clock.advance(later)
          app.spy.reset()
          const replies = await flood(FLOOD, () => app.server.request('/me', { cookie: v1Cookie(randomId()) }))
          assert.ok(replies.every((r) => r.status === 200 && r.cookies.length === 0))
          assert.equal(app.spy.count('get'), reads * FLOOD)
          for (const method of WRITES) assert.equal(app.spy.count(method), 0, method)
          assert.equal(await app.spy.store.length(), 0)
        }
        assert.equal(app.events.rejected.filter((e) => e.reason === 'unknown').length, 2 * FLOOD)
      })

      it(`R24: the control: a page that writes does store a session per client`, async () => {
        const app = await floodTarget(host)
        await flood(20, () => app.server.request('/login'))
        assert.equal(app.spy.count('create'), 20)
      })
    })
  }
})
