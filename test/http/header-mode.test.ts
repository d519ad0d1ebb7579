/**
 * Header mode (`header` option) over real HTTP, on Express 5 and 4, with MemoryStore and the real
 * SQLite and Redis stores: the id travels only in the app's header, never in a cookie; new and
 * rotated ids come back in it, ended ones as the empty header; fixation, replay after logout,
 * renewal, per-user revocation and laziness hold as they do with the cookie.
 */
import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import session, { type SessionOptions, type SessionStore } from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { RedisStore } from '../../src/stores/redis.ts'
import { REDIS_URL, redisSkip, uniqueName } from '../support/services.ts'
import { HOSTS, SECRET, V1_VALUE, cleanup, cookiePair, freezeClock, handle, memoryStore, serve, storeKeyOf, track, type Host, type Req, type Res } from './helpers.ts'

const HEADER = 'X-Session-Token'
const FIELD = 'x-session-token'
const MINUTE = 60_000

const dir = mkdtempSync(join(tmpdir(), 'tessera-header-'))
const redisSkipped = await redisSkip()
const redis = redisSkipped ? undefined : await createClient({ url: REDIS_URL }).connect()
const prefixes: string[] = []

afterEach(cleanup)
after(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (redis === undefined) return
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await redis.del(keys)
  }
  await redis.quit()
})

let files = 0
const STORES: Array<{ name: string; skip: string | false; make: () => SessionStore }> = [
  { name: 'MemoryStore', skip: false, make: () => memoryStore() },
  { name: 'SqliteStore', skip: false, make: () => track(new SqliteStore({ path: join(dir, `header-${files++}.db`), pruneInterval: false })) },
  {
    name: 'RedisStore',
    skip: redisSkipped,
    make: () => {
      const prefix = uniqueName('tess:header') + ':'
      prefixes.push(prefix)
      return new RedisStore({ client: redis as never, prefix })
    },
  },
]

/** The routes every test uses; `middleware` is the header-mode instance (or a cookie one, for the cross checks). */
function routes(app: any, middleware: ReturnType<typeof session>): void {
  app.use(middleware)
  app.get('/plain', (_req: Req, res: Res) => res.send('no session access'))
  app.get('/me', (req: Req, res: Res) => res.json({ note: req.session.note ?? null, user: req.session.user ?? null }))
  app.get('/note', (req: Req, res: Res) => {
    req.session.note = String(req.query.text)
    res.send('noted')
  })
  app.get(
    '/login/:user',
    handle(async (req, res) => {
      await req.session.login(req.params.user, { keep: ['note'] })
      req.session.user = req.params.user
      res.send('in')
    }),
  )
  app.get(
    '/regenerate',
    handle(async (req, res) => {
      await req.session.regenerate()
      req.session.note = 'regenerated'
      res.send('regenerated')
    }),
  )
  app.get(
    '/logout',
    handle(async (req, res) => {
      await req.session.destroy()
      res.send('out')
    }),
  )
  app.get(
    '/devices/:user',
    handle(async (req, res) => res.json((await middleware.listUserSessions(req.params.user, { currentId: req.sessionID })).map((s) => s.current))),
  )
  app.get(
    '/sign-out-others/:user',
    handle(async (req, res) => res.json({ revoked: await middleware.revokeUserSessions(req.params.user, { exceptId: req.sessionID }) })),
  )
}

async function headerApp(host: Host, store: SessionStore, options: Partial<SessionOptions> = {}) {
  const middleware = session({ secret: SECRET, store, header: HEADER, ...options })
  const server = await serve(host, (app) => routes(app, middleware))
  return { server, middleware }
}

/** A request presenting `token` in the header (none when undefined). */
function withToken(token: string | undefined): { headers: Record<string, string> } {
  return { headers: token === undefined ? {} : { [HEADER]: token } }
}

/** The response's id header: undefined when absent, '' when present and empty. */
function tokenOf(reply: { headers: Record<string, unknown> }): string | undefined {
  return reply.headers[FIELD] as string | undefined
}

function idOfToken(token: string): string {
  return (/^v1\.([A-Za-z0-9_-]+)\./.exec(token) as RegExpExecArray)[1] as string
}

describe('header mode', () => {
  for (const host of HOSTS) {
    for (const kind of STORES) {
      describe(`${host.name}, ${kind.name}`, { skip: kind.skip }, () => {
        it('is lazy: a request that does not touch the session, or only reads it, gets no header, no cookie and no store record', async () => {
          const { server } = await headerApp(host, kind.make())
          for (const path of ['/plain', '/me']) {
            const reply = await server.request(path)
            assert.equal(reply.status, 200)
            assert.equal(tokenOf(reply), undefined)
            assert.deepEqual(reply.cookies, [])
          }
        })

        it('returns a new session id in the header, never a cookie, uncacheable and varying on the header; the header brings the session back', async () => {
          const { server } = await headerApp(host, kind.make())
          const created = await server.request('/note?text=hello')
          const token = tokenOf(created) as string
          assert.match(token, V1_VALUE)
          assert.deepEqual(created.cookies, [])
          assert.equal(created.headers['cache-control'], 'no-store')
          assert.match(String(created.headers.vary), /X-Session-Token/i)
          const again = await server.request('/me', withToken(token))
          assert.deepEqual(JSON.parse(again.body), { note: 'hello', user: null })
          // the id did not change: nothing to send back, but the response still varies on the header
          assert.equal(tokenOf(again), undefined)
          assert.match(String(again.headers.vary), /X-Session-Token/i)
          assert.deepEqual(again.cookies, [])
        })

        it('rotates the id on login(): the new token in the header, and the pre-login token (a planted one) leads nowhere after it', async () => {
          const { server } = await headerApp(host, kind.make())
          const planted = tokenOf(await server.request('/note?text=cart')) as string
          const loggedIn = await server.request('/login/ann', withToken(planted))
          const token = tokenOf(loggedIn) as string
          assert.match(token, V1_VALUE)
          assert.notEqual(idOfToken(token), idOfToken(planted))
          assert.deepEqual(JSON.parse((await server.request('/me', withToken(token))).body), { note: 'cart', user: 'ann' })
          // fixation: whoever planted the pre-login token is not signed in with it
          const attacker = await server.request('/me', withToken(planted))
          assert.deepEqual(JSON.parse(attacker.body), { note: null, user: null })
          assert.equal(tokenOf(attacker), '', 'the dead token is answered with the empty header')
        })

        it('rotates the id on regenerate(), and returns it', async () => {
          const { server } = await headerApp(host, kind.make())
          const first = tokenOf(await server.request('/note?text=x')) as string
          const regenerated = tokenOf(await server.request('/regenerate', withToken(first))) as string
          assert.match(regenerated, V1_VALUE)
          assert.notEqual(regenerated, first)
          assert.deepEqual(JSON.parse((await server.request('/me', withToken(regenerated))).body), { note: 'regenerated', user: null })
          assert.deepEqual(JSON.parse((await server.request('/me', withToken(first))).body), { note: null, user: null })
        })

        it('destroy() returns the header present and empty; the token replayed after logout is refused and answered empty again', async () => {
          const store = kind.make()
          const { server } = await headerApp(host, store)
          const token = tokenOf(await server.request('/login/ann')) as string
          const out = await server.request('/logout', withToken(token))
          assert.equal(out.status, 200)
          assert.equal(tokenOf(out), '')
          assert.equal(out.headers['cache-control'], 'no-store')
          assert.deepEqual(out.cookies, [])
          assert.equal(await store.get(storeKeyOf(idOfToken(token))), null)
          const replay = await server.request('/me', withToken(token))
          assert.deepEqual(JSON.parse(replay.body), { note: null, user: null })
          assert.equal(tokenOf(replay), '')
        })

        it('sends nothing for destroy() on a client that presented no token', async () => {
          const { server } = await headerApp(host, kind.make())
          const out = await server.request('/logout')
          assert.equal(out.status, 200)
          assert.equal(tokenOf(out), undefined)
        })

        it('lists and revokes a user sessions: a revoked token is answered empty', async () => {
          const { server } = await headerApp(host, kind.make())
          const phone = tokenOf(await server.request('/login/bob')) as string
          const laptop = tokenOf(await server.request('/login/bob')) as string
          const listed = JSON.parse((await server.request('/devices/bob', withToken(laptop))).body)
          assert.deepEqual(listed.sort(), [false, true])
          assert.deepEqual(JSON.parse((await server.request('/sign-out-others/bob', withToken(laptop))).body), { revoked: 1 })
          const revoked = await server.request('/me', withToken(phone))
          assert.deepEqual(JSON.parse(revoked.body), { note: null, user: null })
          assert.equal(tokenOf(revoked), '')
          assert.deepEqual(JSON.parse((await server.request('/me', withToken(laptop))).body), { note: null, user: 'bob' })
        })

        it('renews an old id (renewAfter) and returns the new one in the header; the old one leads to it during the grace', async (t) => {
          const clock = freezeClock(t)
          const { server } = await headerApp(host, kind.make(), { renewAfter: MINUTE, idleTimeout: 30 * MINUTE })
          const old = tokenOf(await server.request('/login/cy')) as string
          clock.advance(MINUTE + 1_000)
          const renewed = await server.request('/me', withToken(old))
          const token = tokenOf(renewed) as string
          assert.match(token, V1_VALUE)
          assert.notEqual(token, old)
          assert.deepEqual(JSON.parse(renewed.body), { note: null, user: 'cy' })
          assert.equal(tokenOf(await server.request('/me', withToken(token))), undefined)
          // a request already in flight with the old id is moved to the new one, and told so
          assert.equal(tokenOf(await server.request('/me', withToken(old))), token)
        })
      })
    }
  }
})

describe('header mode and cookie mode side by side (one store, one secret)', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      async function both() {
        const store = memoryStore()
        const headerMode = await headerApp(host, store)
        const cookieMode = await serve(host, (app) => routes(app, session({ secret: SECRET, store })))
        return { headerServer: headerMode.server, cookieServer: cookieMode }
      }

      it('a header-mode instance ignores the session cookie, and refuses its value moved into the header', async () => {
        const { headerServer, cookieServer } = await both()
        const pair = cookiePair(await cookieServer.request('/login/dee'))
        const viaCookie = await headerServer.request('/me', { cookie: pair })
        assert.deepEqual(JSON.parse(viaCookie.body), { note: null, user: null })
        assert.equal(tokenOf(viaCookie), undefined)
        assert.deepEqual(viaCookie.cookies, [])
        // the MAC binds where the id is carried: the cookie's value does not verify as the header's
        const moved = await headerServer.request('/me', withToken(pair.slice(pair.indexOf('=') + 1)))
        assert.deepEqual(JSON.parse(moved.body), { note: null, user: null })
        assert.equal(tokenOf(moved), undefined)
      })

      it('a cookie-mode instance ignores the header, and refuses its value moved into the cookie', async () => {
        const { headerServer, cookieServer } = await both()
        const token = tokenOf(await headerServer.request('/login/eve')) as string
        const viaHeader = await cookieServer.request('/me', withToken(token))
        assert.deepEqual(JSON.parse(viaHeader.body), { note: null, user: null })
        assert.deepEqual(viaHeader.cookies, [])
        const moved = await cookieServer.request('/me', { cookie: `sid=${token}` })
        assert.deepEqual(JSON.parse(moved.body), { note: null, user: null })
        // and the header is still good where it was issued
        assert.deepEqual(JSON.parse((await headerServer.request('/me', withToken(token))).body), { note: null, user: 'eve' })
      })
    })
  }
})
