/**
 * A read asks the store to slide the expiry only when this process does not already know the
 * session's expiry to be past the slide threshold: the plain read is cheaper (for Redis: HGETALL,
 * no script), and the store's own condition still decides whenever a slide is requested.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, freezeClock, serve, spyOn, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const MINUTE = 60_000

describe('slide options on reads', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('are left out while the known expiry is fresh, and sent once the throttle has passed', async (t) => {
        const clock = freezeClock(t)
        const spy = spyOn()
        const server = await serve(host, (app) => {
          app.use(session({ secret: SECRET, store: spy.store, idleTimeout: 30 * MINUTE }))
          app.get('/login', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('in')
          })
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
        })
        const cookie = cookiePair(await server.request('/login'))
        spy.reset()
        // just created: its expiry is known to this process and fresh
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
        assert.equal(spy.of('get')[0]?.args[1], undefined, 'no slide asked for a fresh session')
        // past the throttle (a tenth of the idle window): the slide is asked for, in the same read
        clock.advance(5 * MINUTE)
        spy.reset()
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
        assert.ok(spy.of('get')[0]?.args[1]?.slideTo !== undefined, 'the slide rides on the read once due')
        assert.equal(spy.count('touch'), 0)
        // and right after the slide, fresh again
        spy.reset()
        assert.equal((await server.request('/me', { cookie })).body, 'ann')
        assert.equal(spy.of('get')[0]?.args[1], undefined)
      })
    })
  }
})
