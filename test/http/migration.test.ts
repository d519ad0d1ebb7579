import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { toCallbackStore, type MemoryStore, type SessionOptions } from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, SECRET, V1_VALUE, cleanup, cookiePair, freezeClock, handle, holdNext, idOf, memoryStore, peek, recordEvents, require, serve, sessionCookie, sharedView, storeKeyOf, type Host, type Reply, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const expressSession = require('express-session') as (options: object) => (req: Req, res: Res, next: () => void) => void

// express-session warns about its own deprecated defaults only when options are missing; these are explicit
const LEGACY_OPTIONS = { secret: SECRET, resave: false, saveUninitialized: false }

function routes(app: any): void {
  app.get('/login', (req: Req, res: Res) => {
    req.session.user = 'ann'
    req.session.cart = ['apple']
    res.send('in')
  })
  app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null }))
  app.get('/add', (req: Req, res: Res) => {
    req.session.cart.push('pear')
    res.send('added')
  })
}

async function legacyApp(host: Host, shared: MemoryStore) {
  return serve(host, (app) => {
    app.use(expressSession({ ...LEGACY_OPTIONS, store: toCallbackStore(shared) }))
    routes(app)
  })
}

async function mainApp(host: Host, shared: SessionOptions['store']) {
  const middleware = session({ secret: SECRET, name: 'connect.sid', store: shared })
  const events = recordEvents(middleware, ['rotated'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    routes(app)
    app.get(
      '/logout',
      handle(async (req, res) => {
        await req.session.destroy()
        res.send('out')
      }),
    )
    app.get(
      '/signin',
      handle(async (req, res) => {
        await req.session.login('u1', { keep: ['cart'] })
        res.send('signed in')
      }),
    )
  })
  return Object.assign(server, { events })
}

/** The id inside express-session's cookie (`s:<id>.<signature>`, URL-encoded). */
function legacyIdOf(reply: Reply): string {
  return decodeURIComponent(sessionCookie(reply, 'connect.sid')?.value ?? '').slice(2).split('.')[0] as string
}

describe('migration from express-session', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the main entry shares the store, the secret and the cookie name', () => {
        it('keeps the user logged in and moves the session to a new id, in the v1 format, under a hashed key', async (t) => {
          const clock = freezeClock(t)
          const shared = memoryStore()
          const legacy = await legacyApp(host, shared)
          const login = await legacy.request('/login')
          const legacyCookie = sessionCookie(login, 'connect.sid')
          assert.ok(legacyCookie, 'express-session set its cookie')
          assert.match(decodeURIComponent(legacyCookie.value), /^s:[^.]+\..+$/)
          const id = legacyIdOf(login)
          // express-session stores under the raw id
          assert.equal((await shared.get(id))?.data.user, 'ann')

          const main = await mainApp(host, shared)
          const first = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(first.body), { user: 'ann', cart: ['apple'] })
          const reissued = sessionCookie(first, 'connect.sid')
          assert.ok(reissued, 'the first main-entry response sets the new cookie')
          assert.match(reissued.value, V1_VALUE)
          const newId = idOf(first, 'connect.sid')
          assert.notEqual(newId, id, 'a new id: the express-session id is not kept')
          assert.equal(reissued.value, signV1(newId, 'connect.sid', SECRET), 'v1 MAC for the cookie name')
          assert.equal((await shared.get(id))?.meta?.retiredAt, clock.now(), 'the express-session record is retired')
          const moved = await peek(shared, newId)
          assert.deepEqual({ ...moved?.data }, { user: 'ann', cart: ['apple'] }, 'its data moved to the new id')
          assert.equal(await shared.get(newId), null, 'stored under the hash of the new id, not under the id')
          assert.deepEqual(
            main.events.rotated.map((e) => e.reason),
            ['migration'],
          )
          assert.notEqual(main.events.rotated[0].idHash, main.events.rotated[0].previousIdHash)

          // from now on the v1 cookie works, and nothing is re-issued again
          const cookie = cookiePair(first, 'connect.sid')
          assert.equal((await main.request('/add', { cookie })).body, 'added')
          const me = await main.request('/me', { cookie })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', cart: ['apple', 'pear'] })
          assert.deepEqual(me.cookies, [])
          assert.equal(main.events.rotated.length, 1, 'moved once')

          // a request still in flight with the express-session cookie reaches the same session, under its new id
          const late = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(late.body), { user: 'ann', cart: ['apple', 'pear'] })
          assert.equal(idOf(late, 'connect.sid'), newId, 'the same new id: the session was not moved twice')
          assert.equal(main.events.rotated.length, 1, 'moved once')

          // after the grace the express-session cookie names nothing any more: no session, and nothing new is stored
          clock.advance(10_000)
          const stale = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(stale.body), { user: null, cart: null })
          assert.deepEqual(stale.cookies, [], 'no new session for the old cookie')
          assert.equal(await shared.length(), 1)
        })

        it('gives the migrated session server-side deadlines (metadata) on its first main-entry response', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const id = legacyIdOf(login)
          assert.equal((await shared.get(id))?.meta, null, 'express-session stored no metadata')
          const main = await mainApp(host, shared)
          const first = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          const meta = (await peek(shared, idOf(first, 'connect.sid')))?.meta
          assert.ok(meta && meta.absoluteExpiresAt > Date.now(), 'an absolute deadline was recorded')
        })

        it('a logout on the first main-entry request deletes the express-session record', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const id = legacyIdOf(login)
          const main = await mainApp(host, shared)
          const logout = await main.request('/logout', { cookie: cookiePair(login, 'connect.sid') })
          assert.equal(logout.body, 'out')
          assert.equal(sessionCookie(logout, 'connect.sid')?.attributes['max-age'], '0')
          assert.equal(await shared.get(id), null, 'the express-session record is deleted')
          assert.equal(await shared.length(), 0, 'and no new record was stored')
          const me = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(me.body), { user: null, cart: null })
        })

        it('a login() on the first main-entry request deletes the express-session record', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const id = legacyIdOf(login)
          const main = await mainApp(host, shared)
          const signin = await main.request('/signin', { cookie: cookiePair(login, 'connect.sid') })
          assert.equal(signin.body, 'signed in')
          assert.equal(await shared.get(id), null, 'the express-session record is deleted')
          const stored = await peek(shared, idOf(signin, 'connect.sid'))
          assert.deepEqual({ ...stored?.data }, { cart: ['apple'] })
          assert.equal(stored?.userId, 'u1')
          assert.equal(await shared.length(), 1)
          assert.deepEqual(
            main.events.rotated.map((e) => e.reason),
            ['migration', 'login'],
          )
          const stale = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(stale.body), { user: null, cart: null })
        })

        it('still rejects an express-session cookie signed with another secret', async () => {
          const shared = memoryStore()
          const other = await serve(host, (app) => {
            app.use(expressSession({ ...LEGACY_OPTIONS, secret: 'a different secret used by some other app 1234567', store: toCallbackStore(shared) }))
            routes(app)
          })
          const login = await other.request('/login')
          const main = await mainApp(host, shared)
          const me = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(me.body), { user: null, cart: null })
          assert.deepEqual(me.cookies, [])
        })
      })

      describe('when several requests present the express-session cookie at once', () => {
        it('they all get the same new id, and the session is moved once', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const main = await mainApp(host, shared)
          const replies = await Promise.all(Array.from({ length: 4 }, () => main.request('/me', { cookie: cookiePair(login, 'connect.sid') })))
          for (const reply of replies) assert.deepEqual(JSON.parse(reply.body), { user: 'ann', cart: ['apple'] })
          assert.equal(new Set(replies.map((reply) => idOf(reply, 'connect.sid'))).size, 1, 'one new id')
          assert.equal(main.events.rotated.length, 1)
        })

        it('in two apps on one store (two processes): a request that read the old record before the move adopts the new id', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const view = sharedView(shared)
          const first = await mainApp(host, shared)
          const second = await mainApp(host, view)
          const create = holdNext(view, 'create')
          const late = second.request('/add', { cookie: cookiePair(login, 'connect.sid') })
          await create.arrived
          const early = await first.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          create.open()
          const reply = await late
          assert.equal(reply.body, 'added')
          const newId = idOf(early, 'connect.sid')
          assert.equal(idOf(reply, 'connect.sid'), newId)
          assert.deepEqual({ ...(await peek(shared, newId))?.data }, { user: 'ann', cart: ['apple', 'pear'] })
          assert.equal(await shared.length(), 2, 'the new record, and the retired one for the grace')
          assert.equal(first.events.rotated.length + second.events.rotated.length, 1)
        })

        describe('on an express-session store (whole-object writes, last writer wins)', () => {
          it("a request that read the old record before the move adopts the new one instead of overwriting it with the old data", async () => {
            const shared = memoryStore()
            const login = await (await legacyApp(host, shared)).request('/login')
            const late = toCallbackStore(shared)
            const first = await mainApp(host, toCallbackStore(shared))
            const second = await mainApp(host, late)
            // the late request's second read is its look for the successor, after it read the old record
            const lookup = holdNext(late, 'get', 1)
            const pending = second.request('/me', { cookie: cookiePair(login, 'connect.sid') })
            await lookup.arrived
            const early = await first.request('/add', { cookie: cookiePair(login, 'connect.sid') })
            lookup.open()
            const reply = await pending
            const newId = idOf(early, 'connect.sid')
            assert.equal(idOf(reply, 'connect.sid'), newId)
            assert.deepEqual(JSON.parse(reply.body), { user: 'ann', cart: ['apple', 'pear'] }, "it reads the first request's change")
            const stored = await shared.get(storeKeyOf(newId))
            assert.deepEqual(stored?.data.cart, ['apple', 'pear'], 'not overwritten')
          })

          it('a request that reads the old record after the move follows it to the new id; a logout ends both', async () => {
            const shared = memoryStore()
            const login = await (await legacyApp(host, shared)).request('/login')
            const first = await mainApp(host, toCallbackStore(shared))
            const second = await mainApp(host, toCallbackStore(shared))
            const early = await first.request('/me', { cookie: cookiePair(login, 'connect.sid') })
            const reply = await second.request('/me', { cookie: cookiePair(login, 'connect.sid') })
            assert.deepEqual(JSON.parse(reply.body), { user: 'ann', cart: ['apple'] })
            assert.equal(idOf(reply, 'connect.sid'), idOf(early, 'connect.sid'))
            assert.equal((await second.request('/logout', { cookie: cookiePair(reply, 'connect.sid') })).body, 'out')
            for (const cookie of [cookiePair(login, 'connect.sid'), cookiePair(early, 'connect.sid')]) {
              for (const app of [first, second]) {
                const after = await app.request('/me', { cookie })
                assert.deepEqual(JSON.parse(after.body), { user: null, cart: null })
                assert.deepEqual(after.cookies, [])
              }
            }
            // only the retired express-session record is left, until its grace ends; it leads nowhere
            const left = await shared.all()
            assert.deepEqual(
              left.map(([key]) => key),
              [legacyIdOf(login)],
            )
            // an express-session store holds the main entry's metadata inside the session object
            assert.notEqual((left[0]?.[1].data.__tessera as { meta?: { retiredAt?: number } }).meta?.retiredAt, undefined)
          })
        })
      })

      describe('when express-session used a custom genid whose ids are not shaped like v1 ids', () => {
        it('keeps the user logged in after the first main-entry response', async () => {
          const shared = memoryStore()
          let n = 0
          const legacy = await serve(host, (app) => {
            app.use(expressSession({ ...LEGACY_OPTIONS, store: toCallbackStore(shared), genid: () => `user:${++n}` }))
            routes(app)
          })
          const login = await legacy.request('/login')
          const main = await mainApp(host, shared)
          let cookie = cookiePair(login, 'connect.sid')
          for (let i = 0; i < 3; i++) {
            const me = await main.request('/me', { cookie })
            assert.deepEqual(JSON.parse(me.body), { user: 'ann', cart: ['apple'] }, `request ${i + 1}`)
            if (sessionCookie(me, 'connect.sid')) cookie = cookiePair(me, 'connect.sid')
          }
          // not moved: the legacy cookie format and the raw key are kept
          assert.match(decodeURIComponent(cookie), /^connect\.sid=s:user:1\./)
          assert.equal((await shared.get('user:1'))?.data.user, 'ann')
          assert.equal(await peek(shared, 'user:1'), null)
          assert.deepEqual(main.events.rotated, [])
        })
      })

      describe('when express-session runs over a built-in store after the main entry wrote to it', () => {
        it('reads sessions the main entry created', async () => {
          const shared = memoryStore()
          const main = await mainApp(host, shared)
          const login = await main.request('/login')
          const id = idOf(login, 'connect.sid')
          const legacy = await legacyApp(host, shared)
          const signature = require('express-session/node_modules/cookie-signature') as { sign(v: string, s: string): string }
          // the record is stored under the hash of the id (R5): express-session finds it under that key
          const me = await legacy.request('/me', { cookie: `connect.sid=${encodeURIComponent('s:' + signature.sign(storeKeyOf(id), SECRET))}` })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', cart: ['apple'] })
        })
      })
    })
  }
})
