import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { toCallbackStore, type MemoryStore } from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, memoryStore, require, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

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

async function mainApp(host: Host, shared: MemoryStore) {
  return serve(host, (app) => {
    app.use(session({ secret: SECRET, name: 'connect.sid', store: shared }))
    routes(app)
  })
}

describe('migration from express-session', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the main entry shares the store, the secret and the cookie name', () => {
        it("keeps the user logged in and re-issues the cookie in the v1 format", async () => {
          const shared = memoryStore()
          const legacy = await legacyApp(host, shared)
          const login = await legacy.request('/login')
          const legacyCookie = sessionCookie(login, 'connect.sid')
          assert.ok(legacyCookie, 'express-session set its cookie')
          assert.match(decodeURIComponent(legacyCookie.value), /^s:[^.]+\..+$/)
          const id = decodeURIComponent(legacyCookie.value).slice(2).split('.')[0] as string

          const main = await mainApp(host, shared)
          const first = await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          assert.deepEqual(JSON.parse(first.body), { user: 'ann', cart: ['apple'] })
          const reissued = sessionCookie(first, 'connect.sid')
          assert.ok(reissued, 'the first main-entry response re-issues the cookie')
          // express-session's ids are 32 characters; they are kept
          assert.match(reissued.value, /^v1\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/)
          assert.equal(reissued.value, signV1(id, 'connect.sid', SECRET), 'same id, v1 MAC')

          // from now on the v1 cookie works, and nothing is re-issued again
          const cookie = cookiePair(first, 'connect.sid')
          assert.equal((await main.request('/add', { cookie })).body, 'added')
          const me = await main.request('/me', { cookie })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', cart: ['apple', 'pear'] })
          assert.deepEqual(me.cookies, [])
        })

        it('gives the migrated session server-side deadlines (metadata) on its first main-entry response', async () => {
          const shared = memoryStore()
          const login = await (await legacyApp(host, shared)).request('/login')
          const id = decodeURIComponent(sessionCookie(login, 'connect.sid')?.value ?? '').slice(2).split('.')[0] as string
          assert.equal((await shared.get(id))?.meta, null, 'express-session stored no metadata')
          const main = await mainApp(host, shared)
          await main.request('/me', { cookie: cookiePair(login, 'connect.sid') })
          const meta = (await shared.get(id))?.meta
          assert.ok(meta && meta.absoluteExpiresAt > Date.now(), 'an absolute deadline was recorded')
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
          const me = await legacy.request('/me', { cookie: `connect.sid=${encodeURIComponent('s:' + signature.sign(id, SECRET))}` })
          assert.deepEqual(JSON.parse(me.body), { user: 'ann', cart: ['apple'] })
        })
      })
    })
  }
})
