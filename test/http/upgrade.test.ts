/**
 * Sessions stored by an earlier version: those put the id's first 8 characters (for a signed-in session,
 * a hash of the user id) in front of the SHA-256 that is now the whole store key. They keep working under
 * their old key until they expire or are renewed; nothing new is ever stored that way.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import session, { MemoryStore, type SessionOptions } from '../../src/index.ts'
import { taggedStoreKeyOf } from '../../src/engine/engine.ts'
import { signV1 } from '../../src/signing.ts'
import type { SessionMeta } from '../../src/stores/contract.ts'
import { HOSTS, SECRET, cleanup, cookiePair, freezeClock, handle, idOf, serve, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const MINUTE = 60_000
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0)

/** An id as an earlier version's login(user) issued it: a hash of the user id, then 32 random bytes. */
function taggedId(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, 8) + randomBytes(32).toString('base64url')
}

function raw(store: MemoryStore, key: string) {
  return MemoryStore.prototype.get.call(store, key)
}

async function upgradedApp(host: Host, options: Partial<SessionOptions> = {}) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, idleTimeout: 30 * MINUTE, absoluteTimeout: 120 * MINUTE, ...options })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(
      '/login/:user',
      handle(async (req, res) => {
        await req.session.login(req.params.user)
        res.send('in')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ n: req.session.n ?? null }))
    app.get('/count', (req: Req, res: Res) => {
      req.session.n = (req.session.n ?? 0) + 1
      res.json({ n: req.session.n })
    })
    app.get(
      '/devices/:user',
      handle(async (req, res) => res.json(await middleware.listUserSessions(req.params.user, { currentId: req.sessionID }))),
    )
    app.get(
      '/revoke-others/:user',
      handle(async (req, res) => res.json(await middleware.revokeUserSessions(req.params.user, { exceptId: req.sessionID }))),
    )
    app.get(
      '/logout',
      handle(async (req, res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
  })
  /** Stores a session the way an earlier version did, and answers the cookie its client holds. */
  const stored = async (id: string, userId: string | null, n: number) => {
    const now = Date.now()
    const meta: SessionMeta = { createdAt: now, absoluteExpiresAt: now + 120 * MINUTE, idleTimeout: 30 * MINUTE }
    assert.equal(await MemoryStore.prototype.create.call(spy.store, taggedStoreKeyOf(id), { data: { n }, meta, userId, expiresAt: now + 30 * MINUTE }), 'ok')
    return `sid=${signV1(id, 'sid', SECRET)}`
  }
  return { server, spy, middleware, stored }
}

describe('sessions stored by an earlier version (under the tagged key)', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('an anonymous session is found under its old key and written there; nothing is stored under the new key', async () => {
        const { server, spy, stored } = await upgradedApp(host)
        const id = randomBytes(32).toString('base64url')
        const cookie = await stored(id, null, 1)
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { n: 1 })
        assert.deepEqual(JSON.parse((await server.request('/count', { cookie })).body), { n: 2 })
        assert.equal((await raw(spy.store, taggedStoreKeyOf(id)))?.data.n, 2)
        assert.equal(await raw(spy.store, storeKeyOf(id)), null)
        // the next request goes to the old key at once
        spy.reset()
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { n: 2 })
        assert.deepEqual(
          spy.of('get').map((call) => call.args[0]),
          [taggedStoreKeyOf(id)],
        )
      })

      it('a signed-in session keeps working: listed as current, spared by revokeUserSessions with exceptId, ended by logout', async () => {
        const { server, spy, stored } = await upgradedApp(host)
        const old = taggedId('ann')
        const cookie = await stored(old, 'ann', 1)
        const other = await stored(taggedId('ann'), 'ann', 1)
        const fresh = await server.request('/login/ann')
        assert.match(idOf(fresh), /^[A-Za-z0-9_-]{43}$/)

        const devices = JSON.parse((await server.request('/devices/ann', { cookie })).body) as Array<{ handle: string; current: boolean }>
        assert.equal(devices.length, 3)
        assert.deepEqual(
          devices.filter((d) => d.current).map((d) => d.handle),
          [taggedStoreKeyOf(old)],
        )
        assert.equal(JSON.parse((await server.request('/revoke-others/ann', { cookie })).body), 2)
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { n: 1 })
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie: other })).body), { n: null })
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie: cookiePair(fresh) })).body), { n: null })

        await server.request('/logout', { cookie })
        assert.equal(await raw(spy.store, taggedStoreKeyOf(old)), null)
        assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { n: null })
      })

      it('is looked for only while it may be alive: twice absoluteTimeout after the middleware starts, an ended session costs one read', async (t) => {
        const clock = freezeClock(t, T0)
        const { server, spy } = await upgradedApp(host)
        const gone = `sid=${signV1(randomBytes(32).toString('base64url'), 'sid', SECRET)}`
        await server.request('/me', { cookie: gone })
        assert.equal(spy.count('get'), 2)
        clock.advance(2 * 120 * MINUTE)
        spy.reset()
        await server.request('/me', { cookie: gone })
        assert.equal(spy.count('get'), 1)
      })

      it('renewal moves it to a random id whose key holds nothing of the old one', async (t) => {
        const clock = freezeClock(t, T0)
        const { server, spy, stored } = await upgradedApp(host, { renewAfter: 10 * MINUTE, renewalGrace: 0 })
        const old = taggedId('ann')
        const cookie = await stored(old, 'ann', 5)
        clock.advance(10 * MINUTE)
        const renewed = await server.request('/me', { cookie })
        assert.deepEqual(JSON.parse(renewed.body), { n: 5 })
        const id = idOf(renewed)
        assert.match(id, /^[A-Za-z0-9_-]{43}$/)
        assert.equal(await raw(spy.store, taggedStoreKeyOf(old)), null)
        const moved = await raw(spy.store, storeKeyOf(id))
        assert.deepEqual([moved?.data.n, moved?.userId], [5, 'ann'])
        assert.ok(!storeKeyOf(id).startsWith(old.slice(0, 8)))
      })
    })
  }
})
