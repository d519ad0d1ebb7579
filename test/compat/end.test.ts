/**
 * When a Set-Cookie is sent and when the store is written (spec §7, §8), and the res.end patch
 * (spec §9), counted with spy stores.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import {
  HOSTS,
  IMPLEMENTATIONS,
  closeServers,
  createLegacyStore,
  createSpyStore,
  createSyncStore,
  delay,
  maxAgeCookie,
  serve,
  sessionCookie,
  sidOf,
  signedCookie,
  waitFor,
  withDefaults,
  type Next,
  type Req,
  type Res,
} from './helpers.ts'

afterEach(closeServers)

const ok = (_req: Req, res: Res) => res.end('ok')

interface OpenResponse {
  res: http.IncomingMessage
  received(): string
  ended(): boolean
  done: Promise<string>
}

/** Starts a request and resolves as soon as the response headers arrive; the body keeps streaming in. */
function openRequest(url: string, cookie?: string): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      const chunks: Buffer[] = []
      let ended = false
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      const done = new Promise<string>((resolveDone, rejectDone) => {
        res.on('end', () => {
          ended = true
          resolveDone(Buffer.concat(chunks).toString())
        })
        res.on('error', rejectDone)
      })
      resolve({ res, received: () => Buffer.concat(chunks).toString(), ended: () => ended, done })
    })
    req.on('error', reject)
    req.end()
  })
}

/** The error code plain node:http throws for setHeader after end. */
async function plainNodeSetHeaderAfterEndCode(): Promise<string> {
  let code = ''
  const server = http.createServer((_req, res) => {
    res.end('x')
    try {
      res.setHeader('X-Late', '1')
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code ?? ''
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  await new Promise<void>((resolve, reject) =>
    http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject),
  )
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  return code
}

function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void
  const promise = new Promise<void>((resolve) => {
    release = resolve
  })
  return { promise, release }
}

for (const [impl, session] of IMPLEMENTATIONS) {
  describe(impl, () => {
    for (const host of HOSTS) {
      describe(host.name, () => {
        describe('Set-Cookie and store writes', () => {
          describe('when a loaded session is not modified (resave false)', () => {
            it('touches the store, does not set it, and sends no cookie', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['touch', 'sid1'],
              ])
            })

            it('touches on every request', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store })), ok)
              for (let i = 0; i < 3; i++) await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(store.count('touch'), 3)
              assert.equal(store.count('set'), 0)
            })

            it('does nothing more with a store that has no touch', async () => {
              const store = createSpyStore(session, { touch: false })
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store })), ok)
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [['get', 'sid1']])
            })

            it('ignores a touch method added after the middleware was constructed', async () => {
              const store: any = createSpyStore(session, { touch: false })
              store.seed('sid1', { n: 1 })
              const mw = session(withDefaults({ store }))
              store.touch = (sid: string, _sess: unknown, cb: () => void) => {
                store.calls.push(['touch', sid])
                cb()
              }
              const s = await serve(host, mw, ok)
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [['get', 'sid1']])
            })

            it('refreshes the expiry in memory, and the touch carries it (now + originalMaxAge)', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, { originalMaxAge: 60_000, expires: new Date(Date.now() + 5_000).toISOString(), httpOnly: true, path: '/' })
              const s = await serve(host, session(withDefaults({ store, rolling: true })), ok)
              const before = Date.now()
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              const sent = Date.parse(sessionCookie(reply)!.attributes.expires as string)
              assert.ok(Math.abs(sent - (before + 60_000)) < 2_000, `cookie expires ${sent - before} ms ahead`)
              const stored = Date.parse(store.stored('sid1').cookie.expires)
              assert.ok(Math.abs(stored - (before + 60_000)) < 2_000, `stored expires ${stored - before} ms ahead`)
            })
          })

          describe('when a loaded browser-session session is modified', () => {
            it('sets the store but never re-sends the cookie', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.n++
                res.end('ok')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['set', 'sid1'],
              ])
            })
          })

          describe('when a loaded session with maxAge is modified', () => {
            it('sets the store and re-sends the cookie', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.n++
                res.end('ok')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(sidOf(reply), 'sid1')
              assert.equal(store.count('set'), 1)
              assert.equal(store.count('touch'), 0)
            })
          })

          describe('when a loaded session with maxAge is not modified', () => {
            it('sends no cookie (rolling false)', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store })), ok)
              assert.deepEqual((await s.request('/', { cookie: signedCookie('sid1') })).cookies, [])
            })
          })

          describe('when only the cookie of a loaded session changes', () => {
            it('is not a modification: no Set-Cookie, and the store is touched, not set', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.cookie.maxAge = 30 * 86_400_000
                req.session.cookie.sameSite = 'strict'
                res.end('ok')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['touch', 'sid1'],
              ])
              const originalMaxAge = store.stored('sid1').cookie.originalMaxAge
              assert.ok(Math.abs(originalMaxAge - 30 * 86_400_000) < 1_000, String(originalMaxAge))
              assert.equal(store.stored('sid1').cookie.sameSite, 'strict')
            })
          })

          describe('when a nested key named cookie changes', () => {
            it('counts as a modification', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { prefs: { cookie: 'a' } })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.prefs.cookie = 'b'
                res.end('ok')
              })
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(store.count('set'), 1)
              assert.equal(store.stored('sid1').prefs.cookie, 'b')
            })
          })

          describe('when the data is the same but in another key order', () => {
            it('counts as a modification', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { a: 1, b: 2 })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                delete req.session.a
                req.session.a = 1
                res.end('ok')
              })
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(store.count('set'), 1)
              assert.deepEqual(Object.keys(store.stored('sid1')), ['cookie', 'b', 'a'])
            })
          })

          describe('when only values JSON drops are added', () => {
            it('does not count as a modification', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { a: 1 })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.fn = () => 1
                req.session.nothing = undefined
                req.session.sym = Symbol('s')
                res.end('ok')
              })
              await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['touch', 'sid1'],
              ])
            })
          })

          describe('when the session is modified after the headers were flushed', () => {
            it('saves a new session (saveUninitialized false) but never sends its cookie', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, saveUninitialized: false, genid: () => 'late' })), (req, res) => {
                res.write('streaming ')
                req.session.user = 'bob'
                res.end('done')
              })
              const reply = await s.request()
              assert.equal(reply.body, 'streaming done')
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [['set', 'late']])
              assert.equal(store.stored('late').user, 'bob')
            })

            it('saves a loaded maxAge session without re-sending its cookie', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 }, maxAgeCookie(60_000))
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                res.write('a')
                req.session.n = 2
                res.end('b')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(reply.cookies, [])
              assert.equal(store.stored('sid1').n, 2)
            })
          })

          describe('when a new session is saved explicitly and left unchanged', () => {
            it('is not saved again at the end (saveUninitialized false)', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store, saveUninitialized: false })), (req, res) => {
                req.session.save(() => res.end('ok'))
              })
              const reply = await s.request()
              assert.equal(store.count('set'), 1)
              assert.ok(sessionCookie(reply) === undefined, 'unmodified new session: no cookie')
            })
          })

          describe('when two requests on the same session overlap', () => {
            it('keeps only the whole object of the request that finished last (lost update)', async () => {
              const store = new session.MemoryStore()
              const { promise: slowGate, release } = gate()
              let slowLoaded = false
              const s = await serve(host, session(withDefaults({ store, genid: () => 'shared' })), (req, res) => {
                if (req.url === '/create') return void res.end('created')
                if (req.url === '/slow') {
                  slowLoaded = true
                  req.session.slow = true
                  void slowGate.then(() => res.end('slow'))
                  return
                }
                req.session.fast = true
                res.end('fast')
              })
              const cookie = signedCookie('shared')
              await s.request('/create')
              const slow = s.request('/slow', { cookie })
              await waitFor(() => slowLoaded)
              await s.request('/fast', { cookie })
              release()
              await slow
              const stored = await new Promise<any>((resolve) => store.get('shared', (_err: unknown, sess: unknown) => resolve(sess)))
              assert.equal(stored.slow, true)
              assert.equal(stored.fast, undefined)
            })
          })

          describe('when store.set fails', () => {
            it('still answers 200 with the cookie, and forwards the error after the response', async () => {
              const store = createSpyStore(session)
              store.setError = new Error('set failed')
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request()
              assert.equal(reply.status, 200)
              assert.equal(reply.body, 'ok')
              assert.ok(sessionCookie(reply), 'the client gets an id that was never stored')
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'set failed')
            })
          })

          describe('when store.touch fails', () => {
            it('still answers 200 and forwards the error after the response', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              store.touchError = new Error('touch failed')
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 200)
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'touch failed')
            })
          })

          describe('when store.destroy fails (unset destroy)', () => {
            it('still answers 200 and forwards the error after the response', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { n: 1 })
              store.destroyError = new Error('destroy failed')
              const s = await serve(host, session(withDefaults({ store, unset: 'destroy' })), (req, res) => {
                req.session = undefined
                res.end('ok')
              })
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 200)
              assert.equal(reply.body, 'ok')
              const [err] = await s.waitForErrors()
              assert.equal(err.message, 'destroy failed')
            })
          })
        })

        describe('res.end', () => {
          describe('when the store write is pending and Content-Length is set', () => {
            it('holds back the last byte until the store answers', async () => {
              const store = createSpyStore(session)
              const { promise, release } = gate()
              store.setGate = promise
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                res.setHeader('Content-Type', 'text/plain')
                res.setHeader('Content-Length', '11')
                res.end('hello world')
              })
              const open = await openRequest(s.url + '/')
              assert.equal(open.res.statusCode, 200)
              assert.ok(open.res.headers['set-cookie'], 'headers (with the cookie) are already sent')
              await waitFor(() => open.received().length >= 10)
              await delay(20)
              assert.equal(open.received(), 'hello worl')
              assert.equal(open.ended(), false)
              assert.equal(store.count('set'), 1)
              release()
              assert.equal(await open.done, 'hello world')
            })

            it('holds back the last byte of a Buffer given with an encoding', async () => {
              const store = createSpyStore(session)
              const { promise, release } = gate()
              store.setGate = promise
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                res.setHeader('Content-Length', '3')
                res.end('616263', 'hex')
              })
              const open = await openRequest(s.url + '/')
              await waitFor(() => open.received().length >= 2)
              await delay(20)
              assert.equal(open.received(), 'ab')
              release()
              assert.equal(await open.done, 'abc')
            })
          })

          describe('when the store write is pending without Content-Length', () => {
            it('writes the whole chunk but does not finish the response until the store answers', async () => {
              const store = createSpyStore(session)
              const { promise, release } = gate()
              store.setGate = promise
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                res.write('abc')
                res.end('def')
              })
              const open = await openRequest(s.url + '/')
              await waitFor(() => open.received().length >= 6)
              await delay(20)
              assert.equal(open.received(), 'abcdef')
              assert.equal(open.ended(), false)
              release()
              assert.equal(await open.done, 'abcdef')
            })
          })

          describe('when called', () => {
            it('returns a boolean while the store write is pending, and false on a second call', async () => {
              const results: unknown[] = []
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                results.push(res.end('first'))
                results.push(res.end('second'))
              })
              const reply = await s.request()
              assert.equal(reply.body, 'first')
              assert.equal(typeof results[0], 'boolean')
              assert.equal(results[1], false)
            })

            it('accepts end(null) and still saves', async () => {
              const store = createSpyStore(session)
              let result: unknown
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                res.write('body')
                result = res.end(null)
              })
              const reply = await s.request()
              assert.equal(reply.body, 'body')
              assert.equal(result, true)
              assert.equal(store.count('set'), 1)
            })

            it('returns true for an empty end while the store write is pending', async () => {
              let result: unknown
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.statusCode = 204
                result = res.end()
              })
              const reply = await s.request()
              assert.equal(reply.status, 204)
              assert.equal(result, true)
            })

            it('returns res when there is no store work', async () => {
              let same: unknown
              const s = await serve(host, session(withDefaults({ saveUninitialized: false })), (_req, res) => {
                same = res.end('ok') === res
              })
              await s.request()
              assert.equal(same, true)
            })

            it('returns res with a synchronous store', async () => {
              let same: unknown
              const store = createSyncStore(session)
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                same = res.end('ok') === res
              })
              const reply = await s.request()
              assert.equal(reply.body, 'ok')
              assert.equal(same, true)
              assert.equal(Object.keys(store.sessions).length, 1)
            })

            it('commits the headers: setHeader afterwards throws the plain node:http error', async () => {
              const expected = await plainNodeSetHeaderAfterEndCode()
              assert.equal(expected, 'ERR_HTTP_HEADERS_SENT')
              let code = ''
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.end('ok')
                try {
                  res.setHeader('X-Late', '1')
                } catch (err) {
                  code = (err as NodeJS.ErrnoException).code ?? ''
                }
              })
              const reply = await s.request()
              assert.equal(code, expected)
              assert.equal(reply.headers['x-late'], undefined)
            })

            it('keeps the status code and headers set before it', async () => {
              const s = await serve(host, session(withDefaults()), (_req, res) => {
                res.statusCode = 418
                res.setHeader('X-Custom', 'yes')
                res.end('teapot')
              })
              const reply = await s.request()
              assert.equal(reply.status, 418)
              assert.equal(reply.headers['x-custom'], 'yes')
              assert.equal(reply.body, 'teapot')
              assert.ok(sessionCookie(reply))
            })
          })

          if (host.express) {
            describe('when Express response helpers end the response', () => {
              it('works with res.json, res.redirect, res.sendStatus and res.send, for GET and HEAD', async () => {
                const store = createSpyStore(session)
                const routes: Record<string, (req: Req, res: Res) => void> = {
                  '/json': (req, res) => {
                    req.session.a = 1
                    res.json({ x: 1 })
                  },
                  '/redirect': (req, res) => {
                    req.session.a = 1
                    res.redirect('/x')
                  },
                  '/status': (_req, res) => res.sendStatus(204),
                  '/send': (_req, res) => res.send('hello'),
                }
                const s = await serve(host, session(withDefaults({ store })), (req, res) => routes[req.path]!(req, res))
                const expected: Record<string, [number, string]> = {
                  '/json': [200, '{"x":1}'],
                  '/redirect': [302, 'Found. Redirecting to /x'],
                  '/status': [204, ''],
                  '/send': [200, 'hello'],
                }
                for (const [path, [status, body]] of Object.entries(expected)) {
                  const get = await s.request(path)
                  assert.equal(get.status, status, path)
                  assert.equal(get.body, body, path)
                  assert.ok(sessionCookie(get), path)
                  const head = await s.request(path, { method: 'HEAD' })
                  assert.equal(head.status, status, path)
                  assert.equal(head.body, '', path)
                  assert.ok(sessionCookie(head), path)
                }
                assert.equal(store.count('set'), 8)
              })
            })
          }

          describe('when another middleware patched res.write and res.end', () => {
            const upper = (_req: Req, res: Res, next: Next) => {
              const write = res.write
              const end = res.end
              res.write = function (this: Res, chunk: unknown, encoding?: unknown) {
                return write.call(this, String(chunk).toUpperCase(), encoding)
              }
              res.end = function (this: Res, chunk: unknown, encoding?: unknown) {
                return end.call(this, chunk == null ? chunk : String(chunk).toUpperCase(), encoding)
              }
              next()
            }

            it('tolerates a patch made before the session middleware', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                res.write('hello ')
                res.end('world')
              }, { before: [upper] })
              const reply = await s.request()
              assert.equal(reply.body, 'HELLO WORLD')
              assert.equal(store.count('set'), 1)
              assert.ok(sessionCookie(reply))
            })

            it('tolerates a patch made after the session middleware', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, [session(withDefaults({ store })), upper], (_req, res) => {
                res.write('hello ')
                res.end('world')
              })
              const reply = await s.request()
              assert.equal(reply.body, 'HELLO WORLD')
              assert.equal(store.count('set'), 1)
              assert.ok(sessionCookie(reply))
            })
          })

          describe('when the store never answers set', () => {
            it('never completes the response', async () => {
              const store = createLegacyStore(session, {
                get(_sid, cb) {
                  cb(null, undefined)
                },
                set() {},
                destroy(_sid, cb) {
                  if (cb) cb()
                },
              })
              const s = await serve(host, session(withDefaults({ store })), ok)
              await assert.rejects(s.request('/', { timeout: 50 }), /timeout/)
            })
          })
        })
      })
    }
  })
}
