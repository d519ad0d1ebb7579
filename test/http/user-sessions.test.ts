// What listUserSessions gives a "your devices" page: the client description captured at login
// (describeClient), the sign-in time and when each session was last used (lastSeenAt).
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, serve, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'
import { kContractStore } from '../../src/stores/contract.ts'

afterEach(cleanup)

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'

async function devicesApp(host: Host, options: Partial<SessionOptions> = {}) {
  const spy = spyOn()
  const middleware = session({ secret: SECRET, store: spy.store, ...options })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(
      '/login/:user',
      handle(async (req, res) => {
        await req.session.login(req.params.user)
        if (req.query.remember) req.session.cookie.maxAge = 2 * 3_600_000
        res.send('signed in')
      }),
    )
    app.get(
      '/regenerate',
      handle(async (req, res) => {
        await req.session.regenerate()
        req.session.n = 1
        res.send('regenerated')
      }),
    )
    app.get('/seen', (req: Req, res: Res) => {
      req.session.touch()
      res.send('seen')
    })
    app.get('/anonymous', (req: Req, res: Res) => {
      req.session.n = 1
      res.send('anonymous')
    })
  })
  return { server, spy, middleware }
}

/** A moment strictly after `at`, so that two times taken around it differ. */
async function after(at: number): Promise<number> {
  for (let i = 0; i < 50 && Date.now() <= at; i++) await new Promise((resolve) => setTimeout(resolve, 2))
  assert.ok(Date.now() > at, 'the clock moved')
  return Date.now()
}

describe('listUserSessions', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('describeClient', () => {
        describe('when it is not given (the default)', () => {
          it('lists no client and stores none', async () => {
            const { server, spy, middleware } = await devicesApp(host)
            const login = await server.request('/login/u1', { headers: { 'user-agent': FIREFOX } })
            const [listed] = await middleware.listUserSessions('u1')
            assert.equal(listed?.client, undefined)
            const stored = await peek(spy.store, idOf(login))
            assert.equal(stored?.meta !== null && stored?.meta !== undefined && 'client' in stored.meta, false, 'no client in the metadata')
            assert.ok(!JSON.stringify(stored).includes('Firefox'), 'the User-Agent is not stored')
          })
        })

        describe('when it is given', () => {
          it('keeps its description of the client at login in the metadata, and lists it', async () => {
            const seen: string[] = []
            const { server, spy, middleware } = await devicesApp(host, {
              describeClient: (req) => {
                seen.push(String(req.headers['user-agent']))
                return /Firefox/.test(String(req.headers['user-agent'])) ? 'Firefox on Linux' : undefined
              },
            })
            const firefox = await server.request('/login/u1', { headers: { 'user-agent': FIREFOX } })
            const other = await server.request('/login/u1', { headers: { 'user-agent': 'curl/8.0' } })
            assert.equal((await peek(spy.store, idOf(firefox)))?.meta?.client, 'Firefox on Linux')
            const listed = await middleware.listUserSessions('u1', { currentId: idOf(firefox) })
            assert.deepEqual(listed.map((s) => [s.current, s.client]).sort(), [
              [false, undefined],
              [true, 'Firefox on Linux'],
            ])
            // later requests do not describe the client again: the description is the sign-in's
            await server.request('/seen', { cookie: cookiePair(firefox), headers: { 'user-agent': 'curl/8.0' } })
            assert.equal((await peek(spy.store, idOf(firefox)))?.meta?.client, 'Firefox on Linux')
            assert.equal((await peek(spy.store, idOf(other)))?.meta?.client, undefined)
            assert.deepEqual(seen, [FIREFOX, 'curl/8.0'])
          })

          it('is asked at login only, not for anonymous sessions nor on regenerate()', async () => {
            let calls = 0
            const { server } = await devicesApp(host, { describeClient: () => `call ${++calls}` })
            const anonymous = await server.request('/anonymous')
            await server.request('/regenerate', { cookie: cookiePair(anonymous) })
            assert.equal(calls, 0)
            await server.request('/login/u1')
            assert.equal(calls, 1)
          })

          it('keeps at most 200 characters, never half of one, and no control characters', async () => {
            const long = '𝄞'.repeat(150) + 'x'.repeat(150)
            const { server, middleware } = await devicesApp(host, {
              describeClient: (req) => (req.headers['x-case'] === 'long' ? long : ' Firefox\u0007on\u001bLinux\n'),
            })
            await server.request('/login/u1', { headers: { 'x-case': 'long' } })
            await server.request('/login/u2')
            const [first] = await middleware.listUserSessions('u1')
            assert.equal(first?.client, '𝄞'.repeat(150) + 'x'.repeat(50))
            assert.equal(Array.from(first?.client ?? '').length, 200)
            const [second] = await middleware.listUserSessions('u2')
            assert.equal(second?.client, 'Firefox on Linux')
          })

          it('lists nothing for an empty description', async () => {
            const { server, middleware } = await devicesApp(host, { describeClient: () => ' \t ' })
            await server.request('/login/u1')
            assert.equal((await middleware.listUserSessions('u1'))[0]?.client, undefined)
          })

          it('fails the login with ERR_TESSERA_INVALID_OPTION, changing nothing, when it returns something else than a string', async () => {
            const { server, spy } = await devicesApp(host, { describeClient: (() => 42) as unknown as SessionOptions['describeClient'] })
            const anonymous = await server.request('/anonymous')
            spy.reset()
            const reply = await server.request('/login/u1', { cookie: cookiePair(anonymous) })
            assert.equal(reply.status, 500)
            assert.ok(server.errors[0] instanceof InvalidOptionError)
            assert.equal(server.errors[0].code, 'ERR_TESSERA_INVALID_OPTION')
            assert.equal(server.errors[0].option, 'describeClient')
            assert.equal(reply.cookies.length, 0, 'no session cookie')
            assert.equal(spy.count('create') + spy.count('destroy'), 0, 'nothing written')
            assert.deepEqual({ ...(await peek(spy.store, idOf(anonymous)))?.data }, { n: 1 }, 'the session it was called in is as it was')
          })
        })

        describe('when it is not a function', () => {
          it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
            assert.throws(
              () => session({ secret: SECRET, describeClient: 'Firefox' as unknown as SessionOptions['describeClient'] }),
              (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && err.option === 'describeClient',
            )
          })
        })
      })

      describe('sign-in time and lastSeenAt', () => {
        it('gives the sign-in time, and lastSeenAt of the sign-in right after it', async () => {
          const { server, middleware } = await devicesApp(host)
          const before = Date.now()
          await server.request('/login/u1')
          const [listed] = await middleware.listUserSessions('u1')
          assert.ok(listed)
          const listedAt = Date.now()
          assert.ok(typeof listed.authTime === 'number' && listed.authTime >= before && listed.authTime <= listedAt)
          // the sign-in wrote the expiry: last seen then, not later
          assert.ok(typeof listed.lastSeenAt === 'number' && listed.lastSeenAt >= listed.authTime && listed.lastSeenAt <= listedAt)
          await after(listedAt)
          assert.equal((await middleware.listUserSessions('u1'))[0]?.lastSeenAt, listed.lastSeenAt, 'it does not follow the clock')
        })

        it('moves lastSeenAt when a request slides the expiry (touchAfter: 0 slides on every request)', async () => {
          const { server, middleware } = await devicesApp(host, { touchAfter: 0 })
          const login = await server.request('/login/u1')
          const [signedIn] = await middleware.listUserSessions('u1')
          const requestedAt = await after(signedIn?.lastSeenAt as number)
          await server.request('/seen', { cookie: cookiePair(login) })
          const [seen] = await middleware.listUserSessions('u1')
          assert.ok(seen && typeof seen.lastSeenAt === 'number')
          assert.ok(seen.lastSeenAt >= requestedAt, `lastSeenAt ${seen.lastSeenAt} is the later request's (${requestedAt})`)
          assert.ok(seen.lastSeenAt <= Date.now())
          assert.equal(seen.authTime, signedIn?.authTime, 'the sign-in time stays')
        })

        it('is as fresh as touchAfter: a read within it does not move lastSeenAt', async () => {
          const { server, spy, middleware } = await devicesApp(host, { touchAfter: 60_000 })
          const login = await server.request('/login/u1')
          const [signedIn] = await middleware.listUserSessions('u1')
          await after(signedIn?.lastSeenAt as number)
          spy.reset()
          const reply = await server.request('/', { cookie: cookiePair(login) })
          assert.equal(reply.status, 404)
          assert.equal(spy.count('touch') + spy.count('update'), 0, 'nothing written')
          const [seen] = await middleware.listUserSessions('u1')
          assert.equal(seen?.lastSeenAt, signedIn?.lastSeenAt)
        })

        it('uses the lifetime of a session that has its own (req.session.cookie.maxAge)', async () => {
          const { server, middleware } = await devicesApp(host, { touchAfter: 0 })
          const login = await server.request('/login/u1?remember=1')
          const [signedIn] = await middleware.listUserSessions('u1')
          const requestedAt = await after(signedIn?.lastSeenAt as number)
          assert.equal((await middleware.listUserSessions('u1'))[0]?.lastSeenAt, signedIn?.lastSeenAt, 'not the idle window')
          await server.request('/seen', { cookie: cookiePair(login) })
          const [seen] = await middleware.listUserSessions('u1')
          assert.ok(seen && typeof seen.lastSeenAt === 'number' && seen.lastSeenAt >= requestedAt && seen.lastSeenAt <= Date.now())
          assert.equal(seen.handle, storeKeyOf(idOf(login)))
        })

        it('stays at the absolute deadline minus the window once the expiry is capped by it (a lower bound)', async () => {
          // an idle window as long as the absolute timeout: every expiry is the absolute deadline
          const { server, middleware } = await devicesApp(host, { idleTimeout: 60_000, absoluteTimeout: 60_000, touchAfter: 0 })
          const login = await server.request('/login/u1')
          const [signedIn] = await middleware.listUserSessions('u1')
          await after(signedIn?.lastSeenAt as number)
          await server.request('/seen', { cookie: cookiePair(login) })
          const [seen] = await middleware.listUserSessions('u1')
          assert.equal(seen?.expiresAt, signedIn?.expiresAt, 'the expiry could not move')
          assert.equal(seen?.lastSeenAt, signedIn?.lastSeenAt)
        })
      })
    })
  }
})

describe('the per-user operations', () => {
  it("take the store's per-user index as it is when session() is called: a method added later is not used", async () => {
    const inner = spyOn().store
    const store: any = {
      [kContractStore]: true,
      get: (id: string, options: any) => inner.get(id, options),
      create: (id: string, created: any) => inner.create(id, created),
      update: (id: string, patch: any, expiresAt: number) => inner.update(id, patch, expiresAt),
      touch: (id: string, expiresAt: number) => inner.touch(id, expiresAt),
      destroy: (id: string) => inner.destroy(id),
    }
    const middleware = session({ secret: SECRET, store })
    store.listByUser = (userId: string) => inner.listByUser(userId)
    store.destroyByUser = (userId: string, exceptId?: string) => inner.destroyByUser(userId, exceptId)
    await assert.rejects(middleware.listUserSessions('ann'), (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION')
    await assert.rejects(middleware.revokeUserSessions('ann'), (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION')
    await assert.rejects(middleware.revokeUserSession('ann', 'handle'), (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION')
  })
})
