import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, MemoryStore, fromCallbackStore, type SessionStore } from '../../src/index.ts'
import { kContractStore } from '../../src/stores/contract.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, require, serve, sessionCookie, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const expressSession = require('express-session') as { MemoryStore: new () => any; Store: new () => any }

/** login → read → modify → logout, on an express-session store handed straight to the main entry. */
async function storeApp(host: Host, store: any) {
  const middleware = session({ secret: SECRET, store })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(
      '/login',
      handle(async (req, res) => {
        await req.session.login('user-1')
        req.session.user = 'ann'
        req.session.cart = ['apple']
        res.send('in')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null }))
    app.get('/add', (req: Req, res: Res) => {
      req.session.cart.push('pear')
      res.send('added')
    })
    app.get(
      '/logout',
      handle(async (req, res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
  })
  return { server, middleware }
}

function sessionsOf(store: any): Record<string, any> {
  return Object.fromEntries(Object.entries(store.sessions as Record<string, string>).map(([id, json]) => [id, JSON.parse(json)]))
}

describe('store', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe("when it is an express-session store (express-session's own MemoryStore)", () => {
        it('is wrapped automatically and carries a session through login, read, modify and logout', async () => {
          const store = new expressSession.MemoryStore()
          const { server } = await storeApp(host, store)
          const login = await server.request('/login')
          const key = storeKeyOf(idOf(login))
          const cookie = cookiePair(login)
          assert.deepEqual(Object.keys(sessionsOf(store)), [key])
          assert.equal(sessionsOf(store)[key].user, 'ann', 'stored as a whole object with the data at the top level')
          assert.ok(sessionsOf(store)[key].cookie.expires, 'with a cookie whose expires express-session stores check')

          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: 'ann', cart: ['apple'] })
          assert.equal((await server.request('/add', { cookie })).body, 'added')
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: 'ann', cart: ['apple', 'pear'] })

          const logout = await server.request('/logout', { cookie })
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
          assert.deepEqual(sessionsOf(store), {})
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: null, cart: null })
        })

        it('keeps the metadata (the absolute deadline, the owner) through a write that changes data only', async () => {
          const store = new expressSession.MemoryStore()
          const { server } = await storeApp(host, store)
          const login = await server.request('/login')
          const key = storeKeyOf(idOf(login))
          const before = sessionsOf(store)[key].__tessera
          assert.ok(before.meta?.createdAt > 0 && before.meta?.absoluteExpiresAt > before.meta.createdAt, 'login stores the metadata')
          assert.equal((await server.request('/add', { cookie: cookiePair(login) })).body, 'added')
          const after = sessionsOf(store)[key]
          assert.deepEqual(after.cart, ['apple', 'pear'], 'the write went through')
          // a whole-object store rewrites the record: metadata it is not handed again would be lost, and the
          // session would pass for an express-session one whose deadlines restart
          assert.deepEqual(after.__tessera, before)
        })

        it('answers listUserSessions with ERR_TESSERA_INVALID_OPTION (no per-user index)', async () => {
          const { middleware } = await storeApp(host, new expressSession.MemoryStore())
          await assert.rejects(middleware.listUserSessions('user-1'), (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION')
        })

        it('fails closed (503, ERR_TESSERA_STORE_UNAVAILABLE) while the store reports disconnect, and recovers on connect', async () => {
          const store = new expressSession.MemoryStore()
          const { server } = await storeApp(host, store)
          const cookie = cookiePair(await server.request('/login'))
          store.emit('disconnect')
          const down = await server.request('/me', { cookie })
          assert.equal(down.status, 503)
          assert.deepEqual(down.cookies, [])
          assert.equal(server.errors.at(-1)?.code, 'ERR_TESSERA_STORE_UNAVAILABLE')
          store.emit('connect')
          assert.deepEqual(JSON.parse((await server.request('/me', { cookie })).body), { user: 'ann', cart: ['apple'] })
        })
      })

      describe('when it has neither the contract nor get/set/destroy', () => {
        it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
          assert.throws(
            () => session({ secret: SECRET, store: { get() {} } as any }),
            (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === 'store',
          )
        })
      })
    })
  }
})

/**
 * An update's patch carries the whole session only for stores that write whole objects, which read
 * it: the engine copies it when it is read, so a field-level store's update copies nothing. Counted
 * through a session value the handler defines as a getter: the diff reads it once, a copy once more.
 */
describe('the whole session in an update', () => {
  /** Signs ann in, then sets `probe` as a getter that counts its reads; returns the count and the cookie. */
  async function probe(host: Host, store: SessionStore | object) {
    let reads = 0
    const server = await serve(host, (app) => {
      app.use(session({ secret: SECRET, store: store as SessionStore }))
      app.get('/login', (req: Req, res: Res) => {
        req.session.user = 'ann'
        res.send('in')
      })
      app.get('/probe', (req: Req, res: Res) => {
        Object.defineProperty(req.session, 'probe', {
          enumerable: true,
          configurable: true,
          get: () => {
            reads++
            return 'p'
          },
        })
        res.send('probed')
      })
      app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, probe: req.session.probe ?? null }))
    })
    const cookie = cookiePair(await server.request('/login'))
    assert.equal((await server.request('/probe', { cookie })).body, 'probed')
    return { reads, me: JSON.parse((await server.request('/me', { cookie })).body) }
  }

  /** A store that hands every call to `inner`, as an app's instrumentation wrapper would. */
  function passThrough(inner: SessionStore): SessionStore {
    return {
      [kContractStore]: true,
      get: (id, options) => inner.get(id, options),
      create: (id, created) => inner.create(id, created),
      update: (id, patch, expiresAt, options) => inner.update(id, patch, expiresAt, options),
      touch: (id, expiresAt) => inner.touch(id, expiresAt),
      destroy: (id) => inner.destroy(id),
    }
  }

  for (const host of HOSTS) {
    describe(host.name, () => {
      it('is not copied for a field-level store: the update reads each value once, for the diff', async () => {
        const { reads, me } = await probe(host, new MemoryStore())
        assert.equal(reads, 1)
        assert.deepEqual(me, { user: 'ann', probe: 'p' })
      })

      it('is copied when an express-session store writes it, once', async () => {
        const { reads, me } = await probe(host, new expressSession.MemoryStore())
        assert.equal(reads, 2)
        assert.deepEqual(me, { user: 'ann', probe: 'p' })
      })

      it('reaches an express-session store behind a wrapper that passes the patch on', async () => {
        const { reads, me } = await probe(host, passThrough(fromCallbackStore(new expressSession.MemoryStore())))
        assert.equal(reads, 2)
        assert.deepEqual(me, { user: 'ann', probe: 'p' })
      })
    })
  }
})
