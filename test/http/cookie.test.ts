import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, OTHER_SECRET, SECRET, V1_VALUE, cleanup, cookiePair, idOf, memoryStore, peek, recordEvents, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

/** `/login` stores a user, `/me` answers it (or 'anonymous'), both under `prefix`. */
async function userApp(host: Host, options: Partial<SessionOptions> = {}, prefix = '') {
  const store = memoryStore()
  const middleware = session({ secret: SECRET, store, ...options })
  const events = recordEvents(middleware, ['rejected', 'insecure_transport'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get(`${prefix}/login`, (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get(`${prefix}/me`, (req: Req, res: Res) => res.send(req.session ? String(req.session.user ?? 'anonymous') : 'no session middleware'))
  })
  return { server, store, events, middleware }
}

function withNodeEnv<T>(value: string, run: () => T): T {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = value
  try {
    return run()
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = previous
  }
}

/** Replaces the character at `index` by another base64url character. */
function flip(value: string, index: number): string {
  const i = index < 0 ? value.length + index : index
  const replacement = value[i] === 'A' ? 'B' : 'A'
  return value.slice(0, i) + replacement + value.slice(i + 1)
}

describe('cookie', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when NODE_ENV is not production', () => {
        it('is named sid, HttpOnly, SameSite=Lax, Priority=High, Path=/, not Secure and not persistent', async () => {
          const { server } = await userApp(host)
          const reply = await server.request('/login')
          const cookie = sessionCookie(reply)
          assert.ok(cookie, `a sid cookie in ${JSON.stringify(reply.cookies)}`)
          assert.deepEqual(cookie.attributes, { path: '/', httponly: true, priority: 'High', samesite: 'Lax' })
        })

        it('carries a v1 value: v1.<43-char id>.<43-char MAC> that verifies for its name and secret', async () => {
          const { server } = await userApp(host)
          const reply = await server.request('/login')
          const value = sessionCookie(reply)?.value ?? ''
          assert.match(value, V1_VALUE)
          assert.equal(value, signV1(idOf(reply), 'sid', SECRET))
        })

        it('marks the response that carries it Cache-Control: no-store', async () => {
          const { server } = await userApp(host)
          const reply = await server.request('/login')
          assert.equal(reply.headers['cache-control'], 'no-store')
        })
      })

      describe('when NODE_ENV is production', () => {
        it('is named __Host-sid and is Secure, and a plain-HTTP request is reported as insecure_transport', async () => {
          const store = memoryStore()
          const middleware = withNodeEnv('production', () => session({ secret: SECRET, store }))
          const events = recordEvents(middleware, ['insecure_transport'])
          const server = await serve(host, (app) => {
            app.use(middleware)
            app.get('/login', (req: Req, res: Res) => {
              req.session.user = 'ann'
              res.send('in')
            })
            app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
          })
          const reply = await server.request('/login')
          assert.equal(sessionCookie(reply), undefined)
          const cookie = sessionCookie(reply, '__Host-sid')
          assert.ok(cookie, `a __Host-sid cookie in ${JSON.stringify(reply.cookies)}`)
          assert.deepEqual(cookie.attributes, { path: '/', httponly: true, secure: true, priority: 'High', samesite: 'Lax' })
          assert.equal(events.insecure_transport.length, 1)
          // the same cookie comes back and is accepted (the MAC is bound to the __Host- name)
          const me = await server.request('/me', { cookie: cookiePair(reply, '__Host-sid') })
          assert.equal(me.body, 'ann')
        })
      })

      describe('when the cookie value was not issued for this name and secret', () => {
        const cases: Array<[string, (value: string, id: string) => string, string]> = [
          ['a MAC signed for another cookie name', (_v, id) => signV1(id, 'other', SECRET), 'bad_mac'],
          ['a MAC signed with an unknown secret', (_v, id) => signV1(id, 'sid', OTHER_SECRET), 'bad_mac'],
          ['a tampered MAC', (v) => flip(v, -1), 'bad_mac'],
          ['a tampered id', (v) => flip(v, 5), 'bad_mac'],
          ['a truncated MAC', (v) => v.slice(0, -1), 'malformed'],
          ['an over-long MAC', (v) => v + 'A', 'malformed'],
          ['the bare id', (_v, id) => id, 'malformed'],
          ['an empty value', () => '', 'malformed'],
          ['a value over 512 characters', (v) => v + '.'.repeat(600), 'oversize'],
        ]
        for (const [what, forge, reason] of cases) {
          it(`gives no session for ${what} (rejected: ${reason}) and leaves the stored session alone`, async () => {
            const { server, store, events } = await userApp(host)
            const login = await server.request('/login')
            const id = idOf(login)
            const forged = forge(sessionCookie(login)?.value ?? '', id)
            const reply = await server.request('/me', { cookie: `sid=${forged}` })
            assert.equal(reply.body, 'anonymous')
            assert.deepEqual(reply.cookies, [])
            assert.deepEqual(
              events.rejected.map((e) => e.reason),
              [reason],
            )
            assert.deepEqual({ ...(await peek(store, id))?.data }, { user: 'ann' })
          })
        }
      })

      describe('when the cookie is valid but names no stored session', () => {
        it('never adopts the id (rejected: unknown): a write creates a session under a new id', async () => {
          const store = memoryStore()
          const middleware = session({ secret: SECRET, store })
          const events = recordEvents(middleware, ['rejected'])
          const server = await serve(host, (app) => {
            app.use(middleware)
            app.get('/write', (req: Req, res: Res) => {
              req.session.user = 'ann'
              res.send(req.sessionID)
            })
          })
          const planted = 'p'.repeat(43)
          const reply = await server.request('/write', { cookie: `sid=${signV1(planted, 'sid', SECRET)}` })
          assert.notEqual(reply.body, planted)
          assert.equal(idOf(reply), reply.body)
          assert.equal(await peek(store, planted), null)
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['unknown'],
          )
        })
      })

      describe('when the app sets cookies of its own', () => {
        it('keeps them beside the session cookie, through setHeader, writeHead objects and writeHead flat arrays', async () => {
          const server = await serve(host, (app) => {
            app.use(session({ secret: SECRET, store: memoryStore() }))
            app.use((req: Req, _res: Res, next: () => void) => {
              req.session.user = 'ann'
              next()
            })
            app.get('/set-header', (_req: Req, res: Res) => {
              res.cookie('theme', 'dark')
              res.send('ok')
            })
            app.get('/write-head', (_req: Req, res: Res) => {
              res.writeHead(200, { 'Set-Cookie': ['lang=en', 'tz=utc'], 'Content-Type': 'text/plain' })
              res.end('ok')
            })
            app.get('/write-head-flat', (_req: Req, res: Res) => {
              res.writeHead(200, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain'])
              res.end('ok')
            })
          })
          const names = async (path: string) => (await server.request(path)).cookies.map((c) => c.split('=')[0]).sort()
          assert.deepEqual(await names('/set-header'), ['sid', 'theme'])
          assert.deepEqual(await names('/write-head'), ['lang', 'sid', 'tz'])
          assert.deepEqual(await names('/write-head-flat'), ['a', 'b', 'sid'])
        })
      })

      describe('rolling', () => {
        describe('when true', () => {
          it('re-sends the cookie on every response that has a session', async () => {
            const { server } = await userApp(host, { rolling: true })
            const login = await server.request('/login')
            const me = await server.request('/me', { cookie: cookiePair(login) })
            assert.equal(sessionCookie(me)?.value, sessionCookie(login)?.value)
          })
        })

        describe('when false (the default)', () => {
          it('sends the cookie only when it changes', async () => {
            const { server } = await userApp(host)
            const login = await server.request('/login')
            const me = await server.request('/me', { cookie: cookiePair(login) })
            assert.deepEqual(me.cookies, [])
          })
        })
      })

      describe('when the Cookie header holds the session cookie twice', () => {
        it('gives no session (rejected: duplicate), even when both copies are valid', async () => {
          const { server, events } = await userApp(host)
          const pair = cookiePair(await server.request('/login'))
          const other = cookiePair(await server.request('/login'))
          for (const header of [`${pair}; ${pair}`, `${pair}; theme=dark; ${other}`, `${pair}; sid=garbage`]) {
            const reply = await server.request('/me', { cookie: header })
            assert.equal(reply.body, 'anonymous', header)
          }
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['duplicate', 'duplicate', 'duplicate'],
          )
        })

        it('still reads a cookie whose name only resembles ours', async () => {
          const { server, events } = await userApp(host)
          const pair = cookiePair(await server.request('/login'))
          const reply = await server.request('/me', { cookie: `xsid=1; sid2=2; SID=3; ${pair}` })
          assert.equal(reply.body, 'ann')
          assert.equal(events.rejected.length, 0)
        })
      })

      describe('cookie.path', () => {
        describe("when '/app'", () => {
          it("loads the session on '/app' and '/app/x', not on '/application'", async () => {
            const store = memoryStore()
            const middleware = session({ secret: SECRET, store, cookie: { path: '/app' } })
            const server = await serve(host, (app) => {
              app.use(middleware)
              app.get('/app/login', (req: Req, res: Res) => {
                req.session.user = 'ann'
                res.send('in')
              })
              const me = (req: Req, res: Res) => res.send(req.session ? String(req.session.user ?? 'anonymous') : 'no session')
              app.get('/app', me)
              app.get('/app/x', me)
              app.get('/application', me)
            })
            const login = await server.request('/app/login')
            assert.equal(sessionCookie(login)?.attributes.path, '/app')
            const cookie = cookiePair(login)
            assert.equal((await server.request('/app', { cookie })).body, 'ann')
            assert.equal((await server.request('/app/x?y=1', { cookie })).body, 'ann')
            assert.equal((await server.request('/application', { cookie })).body, 'no session')
          })
        })
      })
    })
  }
})
