/**
 * The options of `session(options)` (spec §2, §5, §6), over HTTP on node:http, Express 5 and Express 4.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { afterEach, describe, it } from 'node:test'
import {
  HOSTS,
  IMPLEMENTATIONS,
  SECRET,
  closeServers,
  cookiePair,
  createSpyStore,
  delay,
  exchange,
  maxAgeCookie,
  sendJson,
  serve,
  sessionCookie,
  sidOf,
  signature,
  signedCookie,
  storeGet,
  withDefaults,
  type Req,
  type Res,
} from './helpers.ts'

afterEach(closeServers)

const ok = (_req: Req, res: Res) => res.end('ok')

/** A request with a raw request target (`*`, absolute-form), which URL-based clients cannot send. */
function rawTarget(url: string, method: string, target: string): Promise<{ status: number; cookies: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = http.request({ host: hostname, port, method, path: target, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookies: res.headers['set-cookie'] ?? [], body }))
    })
    req.on('error', reject)
    req.end()
  })
}
const touchData = (req: Req, res: Res) => {
  req.session.touched = true
  res.end('ok')
}

for (const [impl, session] of IMPLEMENTATIONS) {
  describe(impl, () => {
    describe('secret', () => {
      describe('when an empty array', () => {
        it('throws TypeError "secret option array must contain one or more strings"', () => {
          assert.throws(() => session(withDefaults({ secret: [] })), {
            name: 'TypeError',
            message: 'secret option array must contain one or more strings',
          })
        })
      })
    })

    describe('genid', () => {
      describe('when not a function', () => {
        it('throws TypeError "genid option must be a function"', () => {
          for (const genid of ['id', 42, {}]) {
            assert.throws(() => session(withDefaults({ genid })), { name: 'TypeError', message: 'genid option must be a function' })
          }
        })
      })
    })

    describe('unset', () => {
      describe('when neither "destroy" nor "keep"', () => {
        it('throws TypeError with the exact message', () => {
          for (const unset of ['bogus', true, 1]) {
            assert.throws(() => session(withDefaults({ unset })), { name: 'TypeError', message: 'unset option must be "destroy" or "keep"' })
          }
        })
      })

      describe('when falsy', () => {
        it('is accepted (means keep)', () => {
          for (const unset of [undefined, null, '', 0, false]) session(withDefaults({ unset }))
        })
      })
    })

    describe('cookie.maxAge', () => {
      describe('when of an invalid type', () => {
        it('makes the middleware throw a TypeError matching /maxAge/ when it generates a session', () => {
          for (const maxAge of ['1000', true, () => 1000]) {
            const mw = session(withDefaults({ cookie: { maxAge } }))
            const { req, res } = exchange('/')
            assert.throws(() => mw(req, res, () => {}), (err: Error) => err instanceof TypeError && /maxAge/.test(err.message))
          }
        })
      })
    })

    describe('cookie.secure and cookie.sameSite "auto"', () => {
      describe('when the socket itself is TLS (req.connection.encrypted)', () => {
        it('resolves to secure and SameSite None even with proxy false', async () => {
          const mw = session(withDefaults({ proxy: false, cookie: { secure: 'auto', sameSite: 'auto' } }))
          const { req, res } = exchange('/')
          req.socket.encrypted = true
          await new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())))
          assert.equal(req.session.cookie.secure, true)
          assert.equal(req.session.cookie.sameSite, 'none')
        })
      })
    })

    describe('path gate', () => {
      describe('when the URL is empty', () => {
        it('treats it as "/"', async () => {
          const mw = session(withDefaults())
          const { req, res } = exchange('')
          await new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())))
          assert.ok(req.session)
        })
      })
    })

    for (const host of HOSTS) {
      describe(host.name, () => {
        describe('secret', () => {
          describe('when a string', () => {
            it('signs the cookie as cookie-signature does', async () => {
              const s = await serve(host, session(withDefaults({ secret: 'string secret' })), ok)
              const reply = await s.request()
              const cookie = sessionCookie(reply)!
              const sid = sidOf(reply)
              assert.equal(decodeURIComponent(cookie.value), 's:' + signature.sign(sid, 'string secret'))
            })
          })

          describe('when a Buffer', () => {
            it('signs and verifies with it', async () => {
              const secret = Buffer.from('buffer secret')
              const store = createSpyStore(session)
              store.seed('buffered', { n: 7 })
              const s = await serve(host, session(withDefaults({ secret, store })), (req, res) => sendJson(res, { n: req.session.n, id: req.sessionID }))
              const fresh = await s.request()
              assert.equal(decodeURIComponent(sessionCookie(fresh)!.value), 's:' + signature.sign(sidOf(fresh), secret))
              const loaded = await s.request('/', { cookie: signedCookie('buffered', secret) })
              assert.deepEqual(JSON.parse(loaded.body), { n: 7, id: 'buffered' })
            })
          })

          describe('when an array', () => {
            it('signs with the first element', async () => {
              const s = await serve(host, session(withDefaults({ secret: ['new', 'old'] })), ok)
              const reply = await s.request()
              assert.equal(decodeURIComponent(sessionCookie(reply)!.value), 's:' + signature.sign(sidOf(reply), 'new'))
            })

            it('verifies with every element, in order', async () => {
              const store = createSpyStore(session)
              store.seed('sid-old', { who: 'old' })
              store.seed('sid-new', { who: 'new' })
              const s = await serve(host, session(withDefaults({ secret: ['new', 'old'], store })), (req, res) => res.end(String(req.session.who)))
              assert.equal((await s.request('/', { cookie: signedCookie('sid-old', 'old') })).body, 'old')
              assert.equal((await s.request('/', { cookie: signedCookie('sid-new', 'new') })).body, 'new')
              assert.equal((await s.request('/', { cookie: signedCookie('sid-new', 'other') })).body, 'undefined')
            })
          })

          describe('when missing', () => {
            it('falls back to req.secret', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const setSecret = (req: Req, _res: Res, next: (err?: unknown) => void) => {
                req.secret = 'from cookie-parser'
                next()
              }
              const s = await serve(host, session({ store, resave: false, saveUninitialized: true }), (req, res) => sendJson(res, { n: req.session.n }), {
                before: [setSecret],
              })
              const fresh = await s.request()
              assert.equal(decodeURIComponent(sessionCookie(fresh)!.value), 's:' + signature.sign(sidOf(fresh), 'from cookie-parser'))
              const loaded = await s.request('/', { cookie: signedCookie('sid1', 'from cookie-parser') })
              assert.deepEqual(JSON.parse(loaded.body), { n: 1 })
            })

            it('answers every request with a 500 "secret option required for sessions" when req.secret is missing too', async () => {
              const s = await serve(host, session({ resave: false, saveUninitialized: true }), ok)
              for (let i = 0; i < 2; i++) {
                const reply = await s.request()
                assert.equal(reply.status, 500)
                assert.equal(reply.body, 'secret option required for sessions')
                assert.deepEqual(reply.cookies, [])
              }
            })
          })

          describe('when the first element is null', () => {
            it('drops the cookie and forwards the signing error after the response', async () => {
              const s = await serve(host, session(withDefaults({ secret: [null] })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.equal(reply.body, 'ok')
              assert.deepEqual(reply.cookies, [])
              const [err] = await s.waitForErrors()
              assert.ok(err instanceof TypeError)
              assert.equal(err.message, 'Secret key must be provided.')
            })
          })
        })

        describe('name', () => {
          describe('when set', () => {
            it('names the cookie and reads the session back from it', async () => {
              const s = await serve(host, session(withDefaults({ name: 'my.sid' })), (req, res) => {
                req.session.n = (req.session.n ?? 0) + 1
                res.end(String(req.session.n))
              })
              const first = await s.request()
              assert.equal(sessionCookie(first), undefined)
              const second = await s.request('/', { cookie: cookiePair(first, 'my.sid') })
              assert.equal(second.body, '2')
            })
          })

          describe('when only the legacy key option is set', () => {
            it('uses key as the cookie name', async () => {
              const s = await serve(host, session(withDefaults({ key: 'legacy.sid' })), ok)
              assert.ok(sessionCookie(await s.request(), 'legacy.sid'))
            })
          })

          describe('when not a valid cookie name', () => {
            it('answers 200 without the cookie and forwards "argument name is invalid" after the response', async () => {
              const s = await serve(host, session(withDefaults({ name: 'bad name' })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.deepEqual(reply.cookies, [])
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'argument name is invalid')
            })
          })

          describe('when empty', () => {
            it('falls through to key, then to connect.sid', async () => {
              const withKey = await serve(host, session(withDefaults({ name: '', key: 'legacy.sid' })), ok)
              assert.ok(sessionCookie(await withKey.request(), 'legacy.sid'))
              const neither = await serve(host, session(withDefaults({ name: '', key: '' })), ok)
              assert.ok(sessionCookie(await neither.request(), 'connect.sid'))
            })
          })
        })

        describe('cookie', () => {
          describe('when a function', () => {
            it('is called twice for a new session and once for a loaded one', async () => {
              const seen: unknown[] = []
              const cookie = (req: Req) => {
                seen.push(req)
                return { maxAge: 60_000 }
              }
              const s = await serve(host, session(withDefaults({ cookie })), ok)
              const first = await s.request()
              assert.equal(seen.length, 2)
              assert.equal(seen[0], seen[1], 'both calls get the same req')
              await s.request('/', { cookie: cookiePair(first) })
              assert.equal(seen.length, 3)
            })

            it('resolves options per request, and a loaded session keeps the stored attributes', async () => {
              let domain = 'one.example'
              const s = await serve(host, session(withDefaults({ rolling: true, cookie: () => ({ domain }) })), ok)
              const first = await s.request()
              assert.equal(sessionCookie(first)!.attributes.domain, 'one.example')
              domain = 'two.example'
              const loaded = await s.request('/', { cookie: cookiePair(first) })
              assert.equal(sessionCookie(loaded)!.attributes.domain, 'one.example')
              const fresh = await s.request()
              assert.equal(sessionCookie(fresh)!.attributes.domain, 'two.example')
            })

            it('does not resolve secure "auto": it acts as true (no cookie over http), the session is still saved', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, cookie: () => ({ secure: 'auto' }) })), ok)
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.equal(store.count('set'), 1)
              const [sid] = Object.keys(store.sessions)
              assert.equal(store.stored(sid!).cookie.secure, 'auto')
            })

            it('does not resolve sameSite "auto": no cookie and "option sameSite is invalid" after the response', async () => {
              const s = await serve(host, session(withDefaults({ cookie: () => ({ sameSite: 'auto' }) })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.deepEqual(reply.cookies, [])
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'option sameSite is invalid')
            })
          })

          describe('when an object', () => {
            it('is not mutated by sessions', async () => {
              const cookie = { maxAge: 60_000, secure: 'auto', sameSite: 'auto' }
              const s = await serve(host, session(withDefaults({ cookie })), ok)
              await s.request()
              assert.deepEqual(cookie, { maxAge: 60_000, secure: 'auto', sameSite: 'auto' })
            })
          })
        })

        describe('cookie.maxAge', () => {
          describe('when a number', () => {
            it('sends Expires = now + maxAge and never Max-Age', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { maxAge: 3_600_000 } })), ok)
              const before = Date.now()
              const cookie = sessionCookie(await s.request())!
              assert.equal('max-age' in cookie.attributes, false)
              const expires = Date.parse(cookie.attributes.expires as string)
              assert.ok(Math.abs(expires - (before + 3_600_000)) < 2_000, cookie.raw)
            })
          })

          describe('when changed by the handler of a new session', () => {
            it('sends the changed expiry', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { maxAge: 60_000 } })), (req, res) => {
                req.session.cookie.maxAge = 3_600_000
                res.end('ok')
              })
              const before = Date.now()
              const cookie = sessionCookie(await s.request())!
              assert.ok(Math.abs(Date.parse(cookie.attributes.expires as string) - (before + 3_600_000)) < 2_000, cookie.raw)
            })
          })

          describe('when the session is loaded later', () => {
            it('keeps originalMaxAge equal to the configured maxAge on every request', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { maxAge: 2_000 } })), (req, res) => {
                res.end(String(req.session.cookie.originalMaxAge))
              })
              const first = await s.request()
              assert.equal(first.body, '2000')
              await delay(15)
              assert.equal((await s.request('/', { cookie: cookiePair(first) })).body, '2000')
            })
          })

          describe('when 0', () => {
            it('sends an already-expired cookie, and MemoryStore treats the session as gone', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { maxAge: 0 } })), (req, res) => {
                req.session.n = (req.session.n ?? 0) + 1
                res.end(String(req.session.n))
              })
              const first = await s.request()
              const cookie = sessionCookie(first)!
              assert.ok(Date.parse(cookie.attributes.expires as string) <= Date.now())
              const second = await s.request('/', { cookie: cookiePair(first) })
              assert.equal(second.body, '1')
              assert.notEqual(sidOf(second), sidOf(first))
            })
          })
        })

        describe('cookie.expires', () => {
          describe('when a Date', () => {
            it('sends that expiry', async () => {
              const expires = new Date(Date.now() + 86_400_000)
              const s = await serve(host, session(withDefaults({ cookie: { expires } })), ok)
              const cookie = sessionCookie(await s.request())!
              assert.ok(Math.abs(Date.parse(cookie.attributes.expires as string) - expires.getTime()) < 2_000, cookie.raw)
              assert.equal('max-age' in cookie.attributes, false)
            })
          })
        })

        describe('cookie.httpOnly', () => {
          describe('when unset', () => {
            it('sends HttpOnly and Path=/ only', async () => {
              const s = await serve(host, session(withDefaults()), ok)
              const cookie = sessionCookie(await s.request())!
              assert.deepEqual(cookie.attributes, { path: '/', httponly: true })
            })
          })

          describe('when false', () => {
            it('omits HttpOnly', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { httpOnly: false } })), ok)
              assert.deepEqual(sessionCookie(await s.request())!.attributes, { path: '/' })
            })
          })
        })

        describe('cookie.secure', () => {
          describe('when true on an insecure request', () => {
            it('sends no Set-Cookie but still saves the session', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, cookie: { secure: true } })), ok)
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.equal(store.count('set'), 1)
            })
          })

          describe('when true on a request secured by a trusted proxy', () => {
            it('sends the cookie with Secure', async () => {
              const s = await serve(host, session(withDefaults({ proxy: true, cookie: { secure: true } })), ok)
              const reply = await s.request('/', { headers: { 'x-forwarded-proto': 'https' } })
              assert.equal(sessionCookie(reply)!.attributes.secure, true)
            })
          })

          describe('when "auto"', () => {
            it('resolves to false over http (cookie sent without Secure) and persists the boolean', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, proxy: true, cookie: { secure: 'auto' } })), ok)
              const reply = await s.request()
              const cookie = sessionCookie(reply)!
              assert.equal('secure' in cookie.attributes, false)
              assert.equal(store.stored(sidOf(reply)).cookie.secure, false)
            })

            it('resolves to true over https and persists it, so a later http request gets no cookie', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, proxy: true, rolling: true, cookie: { secure: 'auto' } })), ok)
              const reply = await s.request('/', { headers: { 'x-forwarded-proto': 'https' } })
              assert.equal(sessionCookie(reply)!.attributes.secure, true)
              assert.equal(store.stored(sidOf(reply)).cookie.secure, true)
              const overHttp = await s.request('/', { cookie: cookiePair(reply) })
              assert.deepEqual(overHttp.cookies, [])
            })
          })
        })

        describe('cookie.sameSite', () => {
          const cases: Array<[unknown, string | undefined]> = [
            [true, 'Strict'],
            ['lax', 'Lax'],
            ['strict', 'Strict'],
            ['none', 'None'],
            ['Lax', 'Lax'],
            [false, undefined],
          ]
          for (const [sameSite, expected] of cases) {
            describe(`when ${JSON.stringify(sameSite)}`, () => {
              it(expected ? `sends SameSite=${expected}` : 'sends no SameSite', async () => {
                const s = await serve(host, session(withDefaults({ cookie: { sameSite } })), ok)
                const cookie = sessionCookie(await s.request())!
                assert.equal(cookie.attributes.samesite, expected)
              })
            })
          }

          describe('when "auto"', () => {
            it('sends SameSite=Lax over http', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { sameSite: 'auto' } })), ok)
              assert.equal(sessionCookie(await s.request())!.attributes.samesite, 'Lax')
            })

            it('sends SameSite=None over https, without forcing Secure', async () => {
              const s = await serve(host, session(withDefaults({ proxy: true, cookie: { sameSite: 'auto' } })), ok)
              const cookie = sessionCookie(await s.request('/', { headers: { 'x-forwarded-proto': 'https' } }))!
              assert.equal(cookie.attributes.samesite, 'None')
              assert.equal('secure' in cookie.attributes, false)
            })
          })

          describe('when invalid', () => {
            it('answers 200 without the cookie and forwards "option sameSite is invalid" after the response', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, cookie: { sameSite: 'bogus' } })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.equal(reply.body, 'ok')
              assert.deepEqual(reply.cookies, [])
              const [err] = await s.waitForErrors()
              assert.ok(err instanceof TypeError)
              assert.equal(err.message, 'option sameSite is invalid')
              assert.equal(store.count('set'), 1, 'the session is saved all the same')
            })
          })
        })

        describe('cookie.domain', () => {
          describe('when set', () => {
            it('sends Domain', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { domain: 'example.com' } })), ok)
              assert.equal(sessionCookie(await s.request())!.attributes.domain, 'example.com')
            })
          })
        })

        describe('cookie.domain or cookie.expires invalid', () => {
          describe('when serializing fails', () => {
            it('drops the cookie and forwards the cookie package error after the response', async () => {
              const cases: Array<[Record<string, unknown>, string]> = [
                [{ domain: 'bad domain!' }, 'option domain is invalid'],
                [{ expires: new Date(NaN) }, 'option expires is invalid'],
              ]
              for (const [cookie, message] of cases) {
                const s = await serve(host, session(withDefaults({ cookie })), ok)
                const reply = await s.request()
                assert.equal(reply.status, 200)
                assert.deepEqual(reply.cookies, [])
                const [err] = await s.waitForErrors()
                assert.equal(err.message, message)
              }
            })
          })
        })

        describe('cookie.path', () => {
          describe('when the request target is not origin-form', () => {
            it('uses the pathname of an absolute-form target', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { path: '/foo/bar' } })), (req, res) => res.end(req.session ? 'session' : 'none'))
              assert.equal((await rawTarget(s.url, 'GET', 'http://example.com/foo/bar/baz')).body, 'session')
              const outside = await rawTarget(s.url, 'GET', 'http://foo/bar')
              assert.equal(outside.body, 'none')
              assert.deepEqual(outside.cookies, [])
            })

            it('runs no session for OPTIONS * (the pathname "*" does not start with "/")', async () => {
              const s = await serve(host, session(withDefaults()), (req, res) => res.end(req.session ? 'session' : 'none'))
              const reply = await rawTarget(s.url, 'OPTIONS', '*')
              assert.equal(reply.body, 'none')
              assert.deepEqual(reply.cookies, [])
            })
          })

          describe('when "/foo"', () => {
            const app = async () =>
              serve(host, session(withDefaults({ cookie: { path: '/foo' } })), (req, res) => res.end(req.session ? 'session' : 'none'))

            it('runs on /foo and below, with Path=/foo', async () => {
              const s = await app()
              for (const path of ['/foo', '/foo/bar', '/foo?x=1']) {
                const reply = await s.request(path)
                assert.equal(reply.body, 'session', path)
                assert.equal(sessionCookie(reply)!.attributes.path, '/foo')
              }
            })

            it('also runs on /foobar (plain prefix match)', async () => {
              const s = await app()
              const reply = await s.request('/foobar')
              assert.equal(reply.body, 'session')
              assert.ok(sessionCookie(reply))
            })

            it('leaves req.session undefined elsewhere, without error or cookie', async () => {
              const s = await app()
              for (const path of ['/', '/bar', '/Foo', '/fo']) {
                const reply = await s.request(path)
                assert.equal(reply.status, 200)
                assert.equal(reply.body, 'none', path)
                assert.deepEqual(reply.cookies, [])
              }
            })
          })

          if (host.express) {
            describe('when the middleware is mounted', () => {
              it('matches against the original URL, not the mount-relative one', async () => {
                const s = await serve(host, session(withDefaults({ cookie: { path: '/app' } })), (req, res) => res.end(req.session ? 'session' : 'none'), {
                  mount: '/app',
                })
                const reply = await s.request('/app/page')
                assert.equal(reply.body, 'session')
                assert.equal(sessionCookie(reply)!.attributes.path, '/app')
              })

              it('does not run when the original URL is outside the cookie path', async () => {
                const s = await serve(host, session(withDefaults({ cookie: { path: '/page' } })), (req, res) => res.end(req.session ? 'session' : 'none'), {
                  mount: '/app',
                })
                assert.equal((await s.request('/app/page')).body, 'none')
              })
            })
          }
        })

        describe('cookie.partitioned', () => {
          describe('when true', () => {
            it('sends Partitioned', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { partitioned: true, secure: true }, proxy: true })), ok)
              const cookie = sessionCookie(await s.request('/', { headers: { 'x-forwarded-proto': 'https' } }))!
              assert.equal(cookie.attributes.partitioned, true)
            })
          })
        })

        describe('cookie.priority', () => {
          describe('when low, medium or high', () => {
            it('sends Priority', async () => {
              for (const [priority, expected] of [
                ['low', 'Low'],
                ['medium', 'Medium'],
                ['high', 'High'],
              ]) {
                const s = await serve(host, session(withDefaults({ cookie: { priority } })), ok)
                assert.equal(sessionCookie(await s.request())!.attributes.priority, expected)
              }
            })
          })

          describe('when invalid', () => {
            it('drops the cookie and forwards "option priority is invalid" after the response', async () => {
              const s = await serve(host, session(withDefaults({ cookie: { priority: 'urgent' } })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.deepEqual(reply.cookies, [])
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'option priority is invalid')
            })
          })
        })

        describe('genid', () => {
          describe('when a function', () => {
            it('uses its return value as the session id, and passes it req', async () => {
              let n = 0
              let seenUrl: unknown
              const store = createSpyStore(session)
              const genid = (req: Req) => {
                seenUrl = req.url
                return `custom-${++n}`
              }
              const s = await serve(host, session(withDefaults({ store, genid })), (req, res) => sendJson(res, { id: req.sessionID, sid: req.session.id }))
              const reply = await s.request('/path?q=1')
              assert.deepEqual(JSON.parse(reply.body), { id: 'custom-1', sid: 'custom-1' })
              assert.equal(seenUrl, '/path?q=1')
              assert.equal(sidOf(reply), 'custom-1')
              assert.ok(store.stored('custom-1'))
            })
          })

          describe('when it returns a non-string', () => {
            it('neither saves the session nor sends a cookie', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, genid: () => 42 })), (req, res) => {
                req.session.user = 'bob'
                res.end(typeof req.sessionID)
              })
              const reply = await s.request()
              assert.equal(reply.body, 'number')
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [])
            })
          })
        })

        describe('resave', () => {
          describe('when true', () => {
            it('writes an unmodified loaded session on every request, and never touches it', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store, resave: true })), ok)
              await s.request('/', { cookie: signedCookie('sid1') })
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['set', 'sid1'],
                ['get', 'sid1'],
                ['set', 'sid1'],
              ])
            })
          })

          describe('when false', () => {
            it('touches an unmodified loaded session and writes a modified one', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store, resave: false })), (req, res) => {
                if (req.url === '/modify') req.session.n++
                res.end('ok')
              })
              await s.request('/', { cookie: signedCookie('sid1') })
              await s.request('/modify', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['touch', 'sid1'],
                ['get', 'sid1'],
                ['set', 'sid1'],
              ])
              assert.equal(store.stored('sid1').n, 2)
            })
          })

          describe('when undefined', () => {
            it('behaves as true', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session({ secret: SECRET, store, saveUninitialized: true }), ok)
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(store.count('set'), 1)
              assert.equal(store.count('touch'), 0)
            })
          })
        })

        describe('saveUninitialized', () => {
          describe('when true', () => {
            it('saves a new unmodified session and sends its cookie', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, saveUninitialized: true })), ok)
              const reply = await s.request()
              assert.deepEqual(store.calls, [['set', sidOf(reply)]])
            })
          })

          describe('when false', () => {
            it('neither saves nor sends a cookie for a new unmodified session', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, saveUninitialized: false })), ok)
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [])
            })

            it('saves and sends a cookie once the new session is modified', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, saveUninitialized: false })), touchData)
              const reply = await s.request()
              assert.deepEqual(store.calls, [['set', sidOf(reply)]])
              assert.equal(store.stored(sidOf(reply)).touched, true)
            })
          })

          describe('when undefined', () => {
            it('behaves as true', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session({ secret: SECRET, store, resave: false }), ok)
              const reply = await s.request()
              assert.ok(sessionCookie(reply))
              assert.equal(store.count('set'), 1)
            })
          })
        })

        describe('rolling', () => {
          describe('when true', () => {
            it('sends the cookie on every response of a loaded session, without writing it', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store, rolling: true })), ok)
              for (let i = 0; i < 2; i++) {
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(sidOf(reply), 'sid1')
              }
              assert.equal(store.count('set'), 0)
              assert.equal(store.count('touch'), 2)
            })

            it('sends the cookie of a loaded browser-session cookie too', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store, rolling: true })), ok)
              const cookie = sessionCookie(await s.request('/', { cookie: signedCookie('sid1') }))!
              assert.equal('expires' in cookie.attributes, false)
            })

            it('has no effect on a new uninitialized session', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, rolling: true, saveUninitialized: false })), ok)
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [])
            })
          })

          describe('when false', () => {
            it('does not re-send the cookie of an unmodified loaded session', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store, rolling: false })), ok)
              assert.deepEqual((await s.request('/', { cookie: signedCookie('sid1') })).cookies, [])
            })
          })
        })

        describe('proxy', () => {
          const secureApp = (options: Record<string, unknown>, serveOptions = {}) =>
            serve(host, session(withDefaults({ cookie: { secure: true }, ...options })), ok, serveOptions)
          const hasCookie = async (s: Awaited<ReturnType<typeof secureApp>>, xfp?: string) =>
            sessionCookie(await s.request('/', xfp === undefined ? {} : { headers: { 'x-forwarded-proto': xfp } })) !== undefined

          describe('when true', () => {
            it('trusts X-Forwarded-Proto: https', async () => {
              const s = await secureApp({ proxy: true })
              assert.equal(await hasCookie(s, 'https'), true)
              assert.equal(await hasCookie(s, 'http'), false)
              assert.equal(await hasCookie(s), false)
            })

            it('uses only the first comma-separated value, trimmed and lowercased', async () => {
              const s = await secureApp({ proxy: true })
              assert.equal(await hasCookie(s, 'https, http'), true)
              assert.equal(await hasCookie(s, ' HTTPS ,http'), true)
              assert.equal(await hasCookie(s, 'http, https'), false)
            })
          })

          describe('when false', () => {
            it('ignores X-Forwarded-Proto', async () => {
              const s = await secureApp({ proxy: false }, host.express ? { trustProxy: true } : {})
              assert.equal(await hasCookie(s, 'https'), false)
            })
          })

          describe('when undefined', () => {
            if (host.express) {
              it('follows req.secure, i.e. the app\'s "trust proxy" setting', async () => {
                const trusted = await secureApp({}, { trustProxy: true })
                assert.equal(await hasCookie(trusted, 'https'), true)
                assert.equal(await hasCookie(trusted, 'http'), false)
                const untrusted = await secureApp({})
                assert.equal(await hasCookie(untrusted, 'https'), false)
              })
            } else {
              it('treats a plain node request as insecure (no req.secure)', async () => {
                const s = await secureApp({})
                assert.equal(await hasCookie(s, 'https'), false)
              })
            }
          })
        })

        describe('unset', () => {
          const unsetApp = async (unset: unknown) => {
            const store = createSpyStore(session)
            store.seed('sid1', { n: 1 })
            const s = await serve(host, session(withDefaults({ store, unset })), (req, res) => {
              req.session.n = 2
              req.session = null
              res.end('ok')
            })
            return { store, s }
          }

          describe('when "destroy"', () => {
            it('destroys the stored session at the end of the response when req.session is nulled', async () => {
              const { store, s } = await unsetApp('destroy')
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['destroy', 'sid1'],
              ])
            })

            it('calls store.destroy twice with an explicit destroy()', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store, unset: 'destroy' })), (req, res) => {
                req.session.destroy(() => res.end('ok'))
              })
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['destroy', 'sid1'],
                ['destroy', 'sid1'],
              ])
            })

            it('destroys the id of a new session nulled before the end', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, unset: 'destroy', genid: () => 'fresh' })), (req, res) => {
                req.session = null
                res.end('ok')
              })
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [['destroy', 'fresh']])
            })
          })

          describe('when "keep" and a new session is nulled', () => {
            it('sends no cookie and stores nothing', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, unset: 'keep' })), (req, res) => {
                req.session.user = 'bob'
                req.session = null
                res.end('ok')
              })
              const reply = await s.request()
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [])
            })
          })

          for (const unset of ['keep', undefined]) {
            describe(`when ${JSON.stringify(unset) ?? 'undefined'}`, () => {
              it('discards the changes and leaves the store untouched', async () => {
                const { store, s } = await unsetApp(unset)
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.deepEqual(reply.cookies, [])
                assert.deepEqual(store.calls, [['get', 'sid1']])
                assert.equal(store.stored('sid1').n, 1)
              })
            })
          }
        })

        describe('store', () => {
          describe('when omitted', () => {
            it('uses a MemoryStore of its own, exposed as req.sessionStore', async () => {
              let sessionStore: any
              const s = await serve(host, session(withDefaults()), (req, res) => {
                sessionStore = req.sessionStore
                req.session.n = 5
                res.end('ok')
              })
              const reply = await s.request()
              assert.ok(sessionStore instanceof session.MemoryStore)
              assert.equal((await storeGet(sessionStore, sidOf(reply))).n, 5)
            })
          })
        })
      })
    }
  })
}
