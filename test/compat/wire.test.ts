/**
 * The session cookie on the wire (spec §4): its format, how it is read and verified, and how the
 * Set-Cookie is merged with the application's own headers.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import fc from 'fast-check'
import {
  HOSTS,
  IMPLEMENTATIONS,
  SECRET,
  closeServers,
  cookiePair,
  createSpyStore,
  createSyncStore,
  exchange,
  require,
  maxAgeCookie,
  parseSetCookie,
  sendJson,
  serve,
  sessionCookie,
  sidOf,
  signature,
  signedCookie,
  withDefaults,
  type Req,
  type Res,
} from './helpers.ts'

afterEach(closeServers)

const ok = (_req: Req, res: Res) => res.end('ok')

/** express-session's cookie parser (cookie 0.7.2), the reference for which value is read. */
const cookieModule: { parse(header: string): Record<string, string> } = require('cookie')

const whoAmI = (req: Req, res: Res) => sendJson(res, { id: req.sessionID, user: req.session.user ?? null })

for (const [impl, session] of IMPLEMENTATIONS) {
  const [otherName, other] = IMPLEMENTATIONS.find(([name]) => name !== impl)!

  describe(impl, () => {
    describe('cookie reading', () => {
      describe('when the Cookie header is arbitrary', () => {
        it('loads exactly the session that cookie.parse + cookie-signature designate (property test)', () => {
          const valid = 's:' + signature.sign('sid-a', SECRET)
          const store = createSyncStore(session)
          store.sessions['sid-a'] = JSON.stringify({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' } })
          const mw = session(withDefaults({ store, genid: () => 'NEW' }))
          const fragment = fc.constantFrom(
            'connect.sid', ' connect.sid', 'connect.sid\t', 'x', '=', ';', ' ', '\t', '"', '%', '%3A', 's:', valid,
            encodeURIComponent(valid), 'sid-a', '.', 'a=b', '%zz', '%E0%A4%A',
          )
          const expected = (header: string): string => {
            const raw = cookieModule.parse(header)['connect.sid']
            if (!raw || !raw.startsWith('s:')) return 'NEW'
            const sid = signature.unsign(raw.slice(2), SECRET)
            return sid === 'sid-a' ? 'sid-a' : 'NEW'
          }
          fc.assert(
            fc.property(fc.array(fragment, { maxLength: 10 }).map((parts) => parts.join('')), (header) => {
              const { req, res } = exchange('/', { cookie: header })
              let id: unknown
              mw(req, res, () => {
                id = req.sessionID
              })
              assert.equal(id, expected(header), JSON.stringify(header))
            }),
            { numRuns: 3_000, seed: 1119 },
          )
        })
      })
    })

    for (const host of HOSTS) {
      describe(host.name, () => {
        describe('cookie value', () => {
          describe('when a session is created', () => {
            it('is s%3A<id>.<base64 HMAC-SHA256 without padding>, URI-encoded', async () => {
              const s = await serve(host, session(withDefaults()), ok)
              const reply = await s.request()
              const cookie = sessionCookie(reply)!
              assert.equal(cookie.name, 'connect.sid')
              assert.match(cookie.value, /^s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%]+$/)
              const sid = sidOf(reply)
              const mac = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '')
              assert.equal(cookie.value, encodeURIComponent(`s:${sid}.${mac}`))
              assert.equal(decodeURIComponent(cookie.value), 's:' + signature.sign(sid, SECRET))
            })

            it('URI-encodes unsafe characters of a custom id, and reads them back', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, genid: () => 'a%b;c d' })), (req, res) => {
                req.session.n = (req.session.n ?? 0) + 1
                res.end(`${req.sessionID} ${req.session.n}`)
              })
              const reply = await s.request()
              assert.equal(sessionCookie(reply)!.value, encodeURIComponent('s:' + signature.sign('a%b;c d', SECRET)))
              assert.equal((await s.request('/', { cookie: cookiePair(reply) })).body, 'a%b;c d 2')
            })

            it('gives a different 32-character id to each new session', async () => {
              const s = await serve(host, session(withDefaults()), ok)
              const ids = new Set<string>()
              for (let i = 0; i < 5; i++) ids.add(sidOf(await s.request()))
              assert.equal(ids.size, 5)
              for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{32}$/)
            })
          })

          describe(`when the same store and secret are shared with ${otherName}`, () => {
            it('loads sessions the other implementation created, and the other loads ours', async () => {
              const store = createSpyStore(session)
              const handler = (req: Req, res: Res) => {
                if (req.url === '/login') req.session.user = `${req.headers['x-impl']}-user`
                whoAmI(req, res)
              }
              const ours = await serve(host, session(withDefaults({ store })), handler)
              const theirs = await serve(host, other(withDefaults({ store })), handler)

              const fromTheirs = await theirs.request('/login', { headers: { 'x-impl': 'theirs' } })
              const seenByUs = JSON.parse((await ours.request('/', { cookie: cookiePair(fromTheirs) })).body)
              assert.deepEqual(seenByUs, { id: sidOf(fromTheirs), user: 'theirs-user' })

              const fromUs = await ours.request('/login', { headers: { 'x-impl': 'ours' } })
              const seenByThem = JSON.parse((await theirs.request('/', { cookie: cookiePair(fromUs) })).body)
              assert.deepEqual(seenByThem, { id: sidOf(fromUs), user: 'ours-user' })
              assert.deepEqual(sessionCookie(fromUs)!.attributes, sessionCookie(fromTheirs)!.attributes)
            })
          })
        })

        describe('cookie reading', () => {
          const loadApp = async () => {
            const store = createSpyStore(session)
            store.seed('sid-a', { user: 'alice' })
            store.seed('sid-b', { user: 'bob' })
            const s = await serve(host, session(withDefaults({ store })), whoAmI)
            return { store, s }
          }
          const load = async (s: Awaited<ReturnType<typeof loadApp>>['s'], cookie: string) => JSON.parse((await s.request('/', { cookie })).body)

          describe('when the cookie is valid', () => {
            it('loads the stored session', async () => {
              const { s } = await loadApp()
              assert.deepEqual(await load(s, signedCookie('sid-a')), { id: 'sid-a', user: 'alice' })
            })

            it('finds it among other cookies', async () => {
              const { s } = await loadApp()
              assert.deepEqual(await load(s, `foo=bar; ${signedCookie('sid-a')}; baz=qux`), { id: 'sid-a', user: 'alice' })
            })

            it('accepts a double-quoted value', async () => {
              const { s } = await loadApp()
              const [name, value] = signedCookie('sid-a').split('=')
              assert.deepEqual(await load(s, `${name}="${value}"`), { id: 'sid-a', user: 'alice' })
            })

            it('accepts a value that is not URI-encoded', async () => {
              const { s } = await loadApp()
              assert.deepEqual(await load(s, `connect.sid=s:${signature.sign('sid-a', SECRET)}`), { id: 'sid-a', user: 'alice' })
            })
          })

          describe('when the id is unknown to the store', () => {
            it('creates a new session with a new id (the client id is never reused)', async () => {
              const { s } = await loadApp()
              const reply = await s.request('/', { cookie: signedCookie('sid-unknown') })
              const body = JSON.parse(reply.body)
              assert.notEqual(body.id, 'sid-unknown')
              assert.equal(body.user, null)
              assert.equal(sidOf(reply), body.id)
            })
          })

          describe('when the signature is tampered with', () => {
            it('ignores the cookie and creates a new session', async () => {
              const { store, s } = await loadApp()
              const signed = signature.sign('sid-a', SECRET)
              const tampered = signed.slice(0, -2) + (signed.endsWith('AA') ? 'BB' : 'AA')
              const reply = await s.request('/', { cookie: `connect.sid=${encodeURIComponent('s:' + tampered)}` })
              const body = JSON.parse(reply.body)
              assert.notEqual(body.id, 'sid-a')
              assert.equal(body.user, null)
              assert.equal(store.count('get'), 0)
            })

            it('ignores a cookie signed with another secret', async () => {
              const { s } = await loadApp()
              const body = await load(s, signedCookie('sid-a', 'another secret'))
              assert.notEqual(body.id, 'sid-a')
            })

            it('ignores a value without a signature', async () => {
              const { s } = await loadApp()
              const body = await load(s, `connect.sid=${encodeURIComponent('s:sid-a')}`)
              assert.notEqual(body.id, 'sid-a')
            })
          })

          describe('when the value is not prefixed with s:', () => {
            it('ignores it and creates a new session', async () => {
              const { store, s } = await loadApp()
              for (const value of ['sid-a', signature.sign('sid-a', SECRET)]) {
                const body = await load(s, `connect.sid=${encodeURIComponent(value)}`)
                assert.notEqual(body.id, 'sid-a')
                assert.equal(body.user, null)
              }
              assert.equal(store.count('get'), 0)
            })
          })

          describe('when the cookie name appears twice', () => {
            it('uses the first one', async () => {
              const { s } = await loadApp()
              assert.deepEqual(await load(s, `${signedCookie('sid-b')}; ${signedCookie('sid-a')}`), { id: 'sid-b', user: 'bob' })
            })

            it('creates a new session when the first is stale, even though the second is valid', async () => {
              const { s } = await loadApp()
              const body = await load(s, `${signedCookie('sid-a', 'old secret')}; ${signedCookie('sid-b')}`)
              assert.notEqual(body.id, 'sid-b')
              assert.equal(body.user, null)
            })
          })

          describe('when cookie-parser populated req.signedCookies', () => {
            it('falls back to req.signedCookies[name] (an already verified id)', async () => {
              const store = createSpyStore(session)
              store.seed('sid-a', { user: 'alice' })
              const parser = (req: Req, _res: Res, next: () => void) => {
                req.signedCookies = { 'connect.sid': 'sid-a' }
                next()
              }
              const s = await serve(host, session(withDefaults({ store })), whoAmI, { before: [parser] })
              assert.deepEqual(JSON.parse((await s.request()).body), { id: 'sid-a', user: 'alice' })
            })
          })

          describe('when cookie-parser populated req.cookies', () => {
            it('falls back to a signed req.cookies[name] and ignores an unsigned one', async () => {
              const store = createSpyStore(session)
              store.seed('sid-a', { user: 'alice' })
              let value = ''
              const parser = (req: Req, _res: Res, next: () => void) => {
                req.cookies = { 'connect.sid': value }
                next()
              }
              const s = await serve(host, session(withDefaults({ store })), whoAmI, { before: [parser] })
              value = 's:' + signature.sign('sid-a', SECRET)
              assert.deepEqual(JSON.parse((await s.request()).body), { id: 'sid-a', user: 'alice' })
              value = 'sid-a'
              assert.notEqual(JSON.parse((await s.request()).body).id, 'sid-a')
              value = 's:' + signature.sign('sid-a', 'wrong')
              assert.notEqual(JSON.parse((await s.request()).body).id, 'sid-a')
            })

            it('fails with a TypeError when req.cookies[name] is not a string (a cookie-parser JSON cookie)', async () => {
              const parser = (req: Req, _res: Res, next: () => void) => {
                req.cookies = { 'connect.sid': { j: 1 } }
                next()
              }
              const s = await serve(host, session(withDefaults()), ok, { before: [parser] })
              const reply = await s.request()
              assert.equal(reply.status, 500)
              assert.match(reply.body, /is not a function/)
            })
          })
        })

        describe('secret rotation', () => {
          describe('when a cookie signed with an old secret is re-sent (rolling)', () => {
            it('is re-signed with the first secret', async () => {
              const store = createSpyStore(session)
              store.seed('sid-a', { user: 'alice' })
              const s = await serve(host, session(withDefaults({ store, secret: ['new', 'old'], rolling: true })), whoAmI)
              const reply = await s.request('/', { cookie: signedCookie('sid-a', 'old') })
              assert.equal(decodeURIComponent(sessionCookie(reply)!.value), 's:' + signature.sign('sid-a', 'new'))
            })
          })

          describe('when a browser-session cookie signed with an old secret is modified', () => {
            it('is not re-sent, so it keeps the old signature', async () => {
              const store = createSpyStore(session)
              store.seed('sid-a', { user: 'alice' })
              const s = await serve(host, session(withDefaults({ store, secret: ['new', 'old'] })), (req, res) => {
                req.session.user = 'changed'
                res.end('ok')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid-a', 'old') })
              assert.deepEqual(reply.cookies, [])
              assert.equal(store.stored('sid-a').user, 'changed')
            })
          })
        })

        describe('Set-Cookie header', () => {
          describe('when cookie.maxAge is set', () => {
            it('carries Expires and never Max-Age', async () => {
              const store = createSpyStore(session)
              store.seed('sid-a', { user: 'alice' }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store, cookie: { maxAge: 60_000 } })), (req, res) => {
                req.session.user = 'x' + Math.random()
                res.end('ok')
              })
              for (const reply of [await s.request(), await s.request('/', { cookie: signedCookie('sid-a') })]) {
                const cookie = sessionCookie(reply)!
                assert.equal(typeof cookie.attributes.expires, 'string')
                assert.equal('max-age' in cookie.attributes, false)
                assert.doesNotMatch(cookie.raw, /max-age/i)
              }
            })
          })

          describe('when the application set Set-Cookie with setHeader', () => {
            it('appends to a string value', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.setHeader('Set-Cookie', 'app=1; Path=/')
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.cookies.length, 2)
              assert.equal(reply.cookies[0], 'app=1; Path=/')
              assert.equal(parseSetCookie(reply.cookies[1]!).name, 'connect.sid')
            })

            it('drops an empty-string value instead of sending an empty Set-Cookie line', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.setHeader('Set-Cookie', '')
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.cookies.length, 1)
              assert.equal(parseSetCookie(reply.cookies[0]!).name, 'connect.sid')
            })

            it('appends to an array value', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.setHeader('Set-Cookie', ['a=1', 'b=2'])
                res.end('ok')
              })
              const reply = await s.request()
              assert.deepEqual(reply.cookies.slice(0, 2), ['a=1', 'b=2'])
              assert.equal(parseSetCookie(reply.cookies[2]!).name, 'connect.sid')
              assert.equal(reply.cookies.length, 3)
            })
          })

          describe('when the application passes Set-Cookie to writeHead', () => {
            it('appends to an object header', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.writeHead(200, { 'Content-Type': 'text/plain', 'Set-Cookie': 'a=1' })
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.headers['content-type'], 'text/plain')
              assert.equal(reply.cookies[0], 'a=1')
              assert.equal(parseSetCookie(reply.cookies[1]!).name, 'connect.sid')
              assert.equal(reply.cookies.length, 2)
            })

            it('appends to a flat [name, value, …] array, keeping repeated names', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.writeHead(200, ['Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'Set-Cookie', 'b=2'])
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.headers['content-type'], 'text/plain')
              assert.deepEqual(reply.cookies.slice(0, 2), ['a=1', 'b=2'])
              assert.equal(parseSetCookie(reply.cookies[2]!).name, 'connect.sid')
              assert.equal(reply.cookies.length, 3)
            })

            it('appends to a nested [[name, value], …] array', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.writeHead(200, [
                  ['Set-Cookie', 'a=1'],
                  ['Content-Type', 'text/plain'],
                ])
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.headers['content-type'], 'text/plain')
              assert.equal(reply.cookies[0], 'a=1')
              assert.equal(parseSetCookie(reply.cookies[1]!).name, 'connect.sid')
              assert.equal(reply.cookies.length, 2)
            })

            it('replaces a setHeader value with the writeHead one, then appends', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.setHeader('Set-Cookie', 'old=1')
                res.writeHead(200, 'Fine', { 'Set-Cookie': ['new=1'] })
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.cookies[0], 'new=1')
              assert.equal(parseSetCookie(reply.cookies[1]!).name, 'connect.sid')
              assert.equal(reply.cookies.length, 2)
            })

            it('rejects a malformed flat array as on-headers does', async () => {
              let message = ''
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                try {
                  res.writeHead(200, ['Set-Cookie', 'a=1', 'Content-Type'])
                } catch (err) {
                  message = (err as Error).message
                }
                res.statusCode = 200
                res.end('ok')
              })
              await s.request()
              assert.equal(message, 'headers array is malformed')
            })

            it('throws for an invalid header value as plain node:http does', async () => {
              let code = ''
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                try {
                  res.writeHead(200, { 'X-Undefined': undefined })
                } catch (err) {
                  code = (err as NodeJS.ErrnoException).code ?? ''
                }
                if (!res.headersSent) res.statusCode = 200
                res.end('ok')
              })
              await s.request()
              assert.equal(code, 'ERR_HTTP_INVALID_HEADER_VALUE')
            })

            it('keeps the status code and reason phrase given to writeHead', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.writeHead(201, 'Made', { 'X-Test': 'yes' })
                res.end('ok')
              })
              const reply = await s.request()
              assert.equal(reply.status, 201)
              assert.equal(reply.headers['x-test'], 'yes')
              assert.ok(sessionCookie(reply))
            })
          })
        })
      })
    }
  })
}
