/**
 * The per-request algorithm (spec §3) and the req.session API (spec §10).
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import {
  EXPRESS_SESSION,
  HOSTS,
  IMPLEMENTATIONS,
  closeServers,
  cookiePair,
  createLegacyStore,
  createSpyStore,
  exchange,
  maxAgeCookie,
  runChild,
  sendJson,
  serve,
  sessionCookie,
  sidOf,
  signedCookie,
  withDefaults,
  type Next,
  type Req,
  type Res,
} from './helpers.ts'

afterEach(closeServers)

const ok = (_req: Req, res: Res) => res.end('ok')

/** Assigns in sloppy-mode code (Function bodies are sloppy unless they say otherwise). */
const sloppyAssign = new Function('obj', 'key', 'value', 'obj[key] = value') as (obj: unknown, key: string, value: unknown) => void

for (const [impl, session] of IMPLEMENTATIONS) {
  describe(impl, () => {
    describe('req.session', () => {
      describe('when replaced by a plain object', () => {
        if (impl === EXPRESS_SESSION) {
          it('makes res.end throw "touch is not a function"', async () => {
            const mw = session(withDefaults())
            const { req, res } = exchange('/')
            await new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())))
            req.session = { user: 'bob' }
            assert.throws(() => res.end(), (err: Error) => err instanceof TypeError && /touch is not a function/.test(err.message))
          })
        } else {
          // a throw out of res.end reaches whoever ended the response (a timer, a stream: an uncaught
          // exception); the same TypeError goes to next() instead, and the response is not ended
          it('passes "touch is not a function" to next() instead of throwing it out of res.end', async () => {
            const mw = session(withDefaults())
            const { req, res } = exchange('/')
            let report!: (err: unknown) => void
            const reported = new Promise<unknown>((resolve) => (report = resolve))
            await new Promise<void>((resolve) => mw(req, res, (err?: unknown) => (err ? report(err) : resolve())))
            req.session = { user: 'bob' }
            assert.doesNotThrow(() => res.end())
            assert.equal(res.writableEnded, false)
            const err = await reported
            assert.ok(err instanceof TypeError && /touch is not a function/.test(err.message))
          })
        }
      })
    })

    describe('req.session methods without a callback', () => {
      const script = (call: string) => `
        const http = await import('node:http')
        const net = await import('node:net')
        const mw = session({ secret: 's', resave: false, saveUninitialized: true })
        const req = new http.IncomingMessage(new net.Socket())
        Object.assign(req, { url: '/', method: 'GET', headers: {} })
        const res = new http.ServerResponse(req)
        mw(req, res, () => { ${call} })`

      describe('when reload() is called without one', () => {
        it('crashes the process with an uncaught TypeError', () => {
          const child = runChild(impl, script('req.session.reload()'))
          assert.equal(child.status, 1)
          assert.match(child.stderr, /TypeError/)
        })
      })

      describe('when regenerate() is called without one', () => {
        it('crashes the process with an uncaught TypeError', () => {
          const child = runChild(impl, script('req.session.regenerate()'))
          assert.equal(child.status, 1)
          assert.match(child.stderr, /TypeError/)
        })
      })

      describe('when destroy() is called without one', () => {
        it('is fine with MemoryStore', () => {
          const child = runChild(impl, script(`req.session.destroy(); setTimeout(() => console.log('alive ' + typeof req.session), 20)`))
          assert.equal(child.status, 0, child.stderr)
          assert.equal(child.stdout.trim(), 'alive undefined')
        })
      })
    })

    for (const host of HOSTS) {
      describe(host.name, () => {
        describe('per-request algorithm', () => {
          describe('when req.session is already set', () => {
            it('does nothing (self-awareness): no store call, no cookie, req.session untouched', async () => {
              const store = createSpyStore(session)
              const preset = { preset: true }
              const setSession = (req: Req, _res: Res, next: Next) => {
                req.session = preset
                next()
              }
              const s = await serve(host, session(withDefaults({ store })), (req, res) => res.end(String(req.session === preset)), { before: [setSession] })
              const reply = await s.request()
              assert.equal(reply.body, 'true')
              assert.deepEqual(reply.cookies, [])
              assert.deepEqual(store.calls, [])
            })

            it('makes a second session middleware inert', async () => {
              const first = createSpyStore(session)
              const second = createSpyStore(session)
              const s = await serve(host, [session(withDefaults({ store: first })), session(withDefaults({ store: second, name: 'second.sid' }))], ok)
              const reply = await s.request()
              assert.equal(reply.cookies.length, 1)
              assert.ok(sessionCookie(reply, 'connect.sid'))
              assert.equal(first.count('set'), 1)
              assert.deepEqual(second.calls, [])
            })
          })

          describe('when the store emitted disconnect', () => {
            it('passes requests through without a session until it emits connect', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store })), (req, res) => res.end(typeof req.session))
              store.emit('disconnect')
              const down = await s.request()
              assert.equal(down.status, 200)
              assert.equal(down.body, 'undefined')
              assert.deepEqual(down.cookies, [])
              assert.deepEqual(store.calls, [])
              store.emit('connect')
              const up = await s.request()
              assert.equal(up.body, 'object')
              assert.ok(sessionCookie(up))
            })
          })

          describe('when store.get calls back with an error', () => {
            it('passes it to next (500)', async () => {
              const store = createSpyStore(session)
              store.getError = new Error('boom')
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 500)
              assert.equal(reply.body, 'boom')
              assert.deepEqual(reply.cookies, [])
            })

            it('creates a new session with a new id when the error code is ENOENT', async () => {
              const store = createSpyStore(session)
              store.getError = Object.assign(new Error('not found'), { code: 'ENOENT' })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => res.end(req.sessionID))
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 200)
              assert.notEqual(reply.body, 'sid1')
              assert.equal(sidOf(reply), reply.body)
            })
          })

          describe('when store.get throws synchronously', () => {
            it('lets the error propagate to the caller (500 through the host)', async () => {
              const store = createLegacyStore(session, {
                get() {
                  throw new Error('sync throw')
                },
                set(_sid, _sess, cb) {
                  if (cb) cb()
                },
                destroy(_sid, cb) {
                  if (cb) cb()
                },
              })
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 500)
              assert.equal(reply.body, 'sync throw')
            })
          })

          describe('when store.get never calls back', () => {
            it('hangs the request (no timeout of its own)', async () => {
              const store = createSpyStore(session)
              store.hangGet = true
              let reached = false
              const s = await serve(host, session(withDefaults({ store })), (_req, res) => {
                reached = true
                res.end('ok')
              })
              await assert.rejects(s.request('/', { cookie: signedCookie('sid1'), timeout: 50 }), /timeout/)
              assert.equal(reached, false)
            })
          })

          describe('when the stored data has no cookie', () => {
            it('passes the TypeError to next (500 /Cannot read prop/)', async () => {
              const store = createSpyStore(session)
              store.sessions.sid1 = JSON.stringify({ user: 'bob' })
              const s = await serve(host, session(withDefaults({ store })), ok)
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.status, 500)
              assert.match(reply.body, /Cannot read prop/)
            })
          })

          describe('when the store is synchronous', () => {
            it('creates, saves and loads sessions', async () => {
              const store = createLegacyStore(session, {
                get(sid, cb) {
                  const json = this.sessions[sid]
                  cb(null, json === undefined ? undefined : JSON.parse(json))
                },
                set(sid, sess, cb) {
                  this.sessions[sid] = JSON.stringify(sess)
                  if (cb) cb()
                },
                destroy(sid, cb) {
                  delete this.sessions[sid]
                  if (cb) cb()
                },
              })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                req.session.n = (req.session.n ?? 0) + 1
                res.end(String(req.session.n))
              })
              const first = await s.request()
              assert.equal(first.body, '1')
              const second = await s.request('/', { cookie: cookiePair(first) })
              assert.equal(second.body, '2')
              assert.equal(JSON.parse(store.sessions[sidOf(first)]).n, 2)
            })
          })
        })

        describe('synchronous store', () => {
          describe('when the session is destroyed', () => {
            it('responds and removes the session', async () => {
              const store = createLegacyStore(session, {
                get(sid, cb) {
                  const json = this.sessions[sid]
                  cb(null, json === undefined ? undefined : JSON.parse(json))
                },
                set(sid, sess, cb) {
                  this.sessions[sid] = JSON.stringify(sess)
                  if (cb) cb()
                },
                destroy(sid, cb) {
                  delete this.sessions[sid]
                  if (cb) cb()
                },
              })
              store.sessions.sid1 = JSON.stringify({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, n: 1 })
              const s = await serve(host, session(withDefaults({ store })), (req, res) => req.session.destroy(() => res.end('destroyed')))
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.equal(reply.body, 'destroyed')
              assert.deepEqual(Object.keys(store.sessions), [])
            })
          })
        })

        describe('req.session', () => {
          describe('when new', () => {
            it('has exactly cookie plus the data as own enumerable keys (Object.keys and JSON)', async () => {
              const s = await serve(host, session(withDefaults()), (req, res) => {
                req.session.user = 'bob'
                req.session.cart = [1]
                const keys: string[] = []
                for (const key in req.session) keys.push(key)
                sendJson(res, { keys: Object.keys(req.session), forIn: keys, json: Object.keys(JSON.parse(JSON.stringify(req.session))) })
              })
              const body = JSON.parse((await s.request()).body)
              assert.deepEqual(body.keys, ['cookie', 'user', 'cart'])
              assert.deepEqual(body.forIn, ['cookie', 'user', 'cart'])
              assert.deepEqual(body.json, ['cookie', 'user', 'cart'])
            })

            it('is a Session with a Cookie, and req.sessionID, req.session.id and req.sessionStore agree', async () => {
              const store = createSpyStore(session)
              const s = await serve(host, session(withDefaults({ store })), (req, res) =>
                sendJson(res, {
                  isSession: req.session instanceof session.Session,
                  isCookie: req.session.cookie instanceof session.Cookie,
                  sameId: req.sessionID === req.session.id,
                  store: req.sessionStore === store,
                  id: req.sessionID,
                }),
              )
              const reply = await s.request()
              const body = JSON.parse(reply.body)
              assert.deepEqual({ ...body, id: undefined }, { isSession: true, isCookie: true, sameId: true, store: true, id: undefined })
              assert.equal(sidOf(reply), body.id)
            })
          })

          describe('when loaded', () => {
            it('has exactly cookie plus the stored data as own enumerable keys', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { user: 'bob', n: 1 })
              const s = await serve(host, session(withDefaults({ store })), (req, res) =>
                sendJson(res, { keys: Object.keys(req.session), json: Object.keys(JSON.parse(JSON.stringify(req.session))) }),
              )
              const body = JSON.parse((await s.request('/', { cookie: signedCookie('sid1') })).body)
              assert.deepEqual(body.keys, ['cookie', 'user', 'n'])
              assert.deepEqual(body.json, ['cookie', 'user', 'n'])
            })

            it('comes back through JSON: a Date as a string, undefined values gone', async () => {
              const s = await serve(host, session(withDefaults()), (req, res) => {
                if (req.url === '/set') {
                  req.session.when = new Date(0)
                  req.session.gone = undefined
                  req.session.map = new Map([[1, 2]])
                }
                sendJson(res, { when: req.session.when, type: typeof req.session.when, hasGone: 'gone' in req.session, map: req.session.map })
              })
              const first = await s.request('/set')
              const body = JSON.parse((await s.request('/', { cookie: cookiePair(first) })).body)
              assert.deepEqual(body, { when: '1970-01-01T00:00:00.000Z', type: 'string', hasGone: false, map: {} })
            })
          })

          describe('when stored data has reserved keys', () => {
            it('drops them and re-saves the session without them', async () => {
              const store = createSpyStore(session)
              store.seed('sid1', { save: 'nope', id: 'evil', user: 'bob' })
              const s = await serve(host, session(withDefaults({ store, resave: false })), (req, res) =>
                sendJson(res, { save: typeof req.session.save, id: req.session.id, user: req.session.user }),
              )
              const reply = await s.request('/', { cookie: signedCookie('sid1') })
              assert.deepEqual(JSON.parse(reply.body), { save: 'function', id: 'sid1', user: 'bob' })
              assert.deepEqual(store.calls, [
                ['get', 'sid1'],
                ['set', 'sid1'],
              ])
              assert.deepEqual(Object.keys(store.stored('sid1')), ['cookie', 'user'])
            })
          })

          describe('id', () => {
            describe('when assigned', () => {
              it('ignores assignment in sloppy mode and throws a TypeError in strict mode', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  const before = req.session.id
                  sloppyAssign(req.session, 'id', 'changed')
                  let strict = ''
                  try {
                    req.session.id = 'changed'
                  } catch (err) {
                    strict = (err as Error).name
                  }
                  sendJson(res, { unchanged: req.session.id === before, strict })
                })
                assert.deepEqual(JSON.parse((await s.request()).body), { unchanged: true, strict: 'TypeError' })
              })
            })
          })

          describe('methods', () => {
            describe('when the session is enumerated', () => {
              it('are not enumerable, including the wrapped save and reload', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  const enumerable = ['touch', 'resetMaxAge', 'save', 'reload', 'destroy', 'regenerate'].filter((m) => {
                    for (const key in req.session) if (key === m) return true
                    return false
                  })
                  const own = ['save', 'reload'].map((m) => Object.getOwnPropertyDescriptor(req.session, m))
                  sendJson(res, { enumerable, own: own.map((d) => d && { enumerable: d.enumerable, writable: d.writable, configurable: d.configurable }) })
                })
                const body = JSON.parse((await s.request()).body)
                assert.deepEqual(body.enumerable, [])
                assert.deepEqual(body.own, [
                  { enumerable: false, writable: true, configurable: true },
                  { enumerable: false, writable: true, configurable: true },
                ])
              })
            })
          })

          describe('touch() and resetMaxAge()', () => {
            describe('when called', () => {
              it('reset maxAge to originalMaxAge and return the session, without calling the store', async () => {
                const store = createSpyStore(session)
                const s = await serve(host, session(withDefaults({ store, cookie: { maxAge: 60_000 } })), (req, res) => {
                  // setting maxAge also sets originalMaxAge: put originalMaxAge back to see the reset
                  req.session.cookie.maxAge = 1_000
                  req.session.cookie.originalMaxAge = 60_000
                  const calls = store.calls.length
                  const touched = req.session.touch() === req.session
                  const afterTouch = req.session.cookie.maxAge
                  req.session.cookie.maxAge = 1_000
                  req.session.cookie.originalMaxAge = 60_000
                  const reset = req.session.resetMaxAge() === req.session
                  sendJson(res, { touched, reset, afterTouch, afterReset: req.session.cookie.maxAge, storeCalls: store.calls.length - calls })
                })
                const body = JSON.parse((await s.request()).body)
                assert.equal(body.touched, true)
                assert.equal(body.reset, true)
                assert.ok(body.afterTouch > 59_000 && body.afterTouch <= 60_000, String(body.afterTouch))
                assert.ok(body.afterReset > 59_000 && body.afterReset <= 60_000, String(body.afterReset))
                assert.equal(body.storeCalls, 0)
              })
            })
          })

          describe('save(cb)', () => {
            describe('when called', () => {
              it('writes the session and suppresses the end-of-request save', async () => {
                const store = createSpyStore(session)
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.user = 'bob'
                  req.session.save((err: unknown) => res.end(String(err)))
                })
                const reply = await s.request()
                assert.equal(reply.body, 'undefined')
                assert.deepEqual(store.calls, [['set', sidOf(reply)]])
                assert.equal(store.stored(sidOf(reply)).user, 'bob')
              })

              it('lets a change made after it be saved again at the end', async () => {
                const store = createSpyStore(session)
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.user = 'bob'
                  req.session.save(() => {
                    req.session.user = 'alice'
                    res.end('ok')
                  })
                })
                const reply = await s.request()
                assert.equal(store.count('set'), 2)
                assert.equal(store.stored(sidOf(reply)).user, 'alice')
              })

              it('works without a callback', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { n: 1 })
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.n = 2
                  req.session.save()
                  res.end('ok')
                })
                await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(store.stored('sid1').n, 2)
                assert.equal(store.count('set'), 1)
              })

              it('returns undefined (the middleware wrapper drops the return value)', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  const result = req.session.save()
                  res.end(result === undefined ? 'undefined' : result === req.session ? 'session' : typeof result)
                })
                assert.equal((await s.request()).body, 'undefined')
              })
            })
          })

          describe('reload(cb)', () => {
            describe('when called', () => {
              it('returns undefined (the middleware wrapper drops the return value)', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  let result: unknown
                  req.session.save(() => {
                    const before = req.session
                    result = before.reload(() => res.end(result === undefined ? 'undefined' : result === before ? 'session' : typeof result))
                  })
                })
                assert.equal((await s.request()).body, 'undefined')
              })

              it('replaces req.session with the stored copy', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' })
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  const before = req.session
                  req.session.user = 'changed'
                  req.session.reload((err: unknown) => {
                    sendJson(res, { err: err === undefined ? 'undefined' : String(err), same: req.session === before, user: req.session.user, id: req.session.id })
                  })
                })
                const body = JSON.parse((await s.request('/', { cookie: signedCookie('sid1') })).body)
                assert.deepEqual(body, { err: 'undefined', same: false, user: 'bob', id: 'sid1' })
              })

              it('survives 20 nested reloads, keeping save wrapped', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' })
                const s = await serve(host, session(withDefaults({ store })), (req, res, next) => {
                  let remaining = 20
                  const again = (err?: unknown) => {
                    if (err) return next(err)
                    if (remaining-- === 0) {
                      req.session.user = 'reloaded'
                      req.session.save(() => res.end('done'))
                      return
                    }
                    req.session.reload(again)
                  }
                  again()
                })
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(reply.body, 'done')
                assert.equal(store.count('get'), 21)
                assert.equal(store.count('set'), 1, 'the explicit save of the reloaded session suppresses the end save')
                assert.equal(store.stored('sid1').user, 'reloaded')
              })

              it('survives 20 nested failing reloads (session gone from the store)', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' })
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  store.sessions = Object.create(null)
                  let remaining = 20
                  const again = (err?: Error) => {
                    if (remaining-- === 0) return res.end(err ? err.message : 'no error')
                    try {
                      req.session.reload(again)
                    } catch (e) {
                      res.statusCode = 500
                      res.end((e as Error).message)
                    }
                  }
                  again()
                })
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(reply.status, 200)
                assert.equal(reply.body, 'failed to load session')
              })

              it('calls back with "failed to load session" when the session is not in the store', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  req.session.reload((err: Error) => res.end(err ? err.message : 'none'))
                })
                assert.equal((await s.request()).body, 'failed to load session')
              })

              it('passes a store error to the callback', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', {})
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  store.getError = new Error('reload failed')
                  req.session.reload((err: Error) => res.end(err ? err.message : 'none'))
                })
                assert.equal((await s.request('/', { cookie: signedCookie('sid1') })).body, 'reload failed')
              })
            })
          })

          describe('destroy(cb)', () => {
            describe('when called', () => {
              it('removes req.session and the stored session, and sends no clearing Set-Cookie', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' }, maxAgeCookie(60_000))
                const s = await serve(host, session(withDefaults({ store, rolling: true })), (req, res) => {
                  req.session.destroy((err: unknown) => res.end(`${String(err)} ${typeof req.session}`))
                })
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(reply.body, 'undefined undefined')
                assert.deepEqual(reply.cookies, [])
                assert.equal(store.stored('sid1'), undefined)
                assert.deepEqual(store.calls, [
                  ['get', 'sid1'],
                  ['destroy', 'sid1'],
                ])
              })

              it('makes the next request with the old cookie get a brand-new session', async () => {
                const s = await serve(host, session(withDefaults()), (req, res) => {
                  if (req.url === '/logout') return req.session.destroy(() => res.end('bye'))
                  req.session.user = 'bob'
                  res.end(req.sessionID)
                })
                const first = await s.request('/')
                const pair = cookiePair(first)
                await s.request('/logout', { cookie: pair })
                const again = await s.request('/', { cookie: pair })
                assert.notEqual(again.body, first.body)
                assert.equal(sidOf(again), again.body)
              })
            })
          })

          describe('regenerate(cb)', () => {
            describe('when called', () => {
              it('gives a new id and empty data, destroys the old session and sends the new cookie', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' })
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.regenerate((err: unknown) => sendJson(res, { err: String(err), id: req.sessionID, sid: req.session.id, user: req.session.user ?? null }))
                })
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                const body = JSON.parse(reply.body)
                assert.equal(body.err, 'undefined')
                assert.notEqual(body.id, 'sid1')
                assert.equal(body.sid, body.id)
                assert.equal(body.user, null)
                assert.equal(sidOf(reply), body.id)
                assert.equal(store.stored('sid1'), undefined)
                assert.ok(store.stored(body.id))
                assert.deepEqual(store.calls, [
                  ['get', 'sid1'],
                  ['destroy', 'sid1'],
                  ['set', body.id],
                ])
              })

              it('does two store.set calls in the README login flow (regenerate, save, respond)', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', {})
                const s = await serve(host, session(withDefaults({ store })), (req, res, next) => {
                  req.session.regenerate((err: unknown) => {
                    if (err) return next(err)
                    req.session.user = 'bob'
                    req.session.save((err2: unknown) => {
                      if (err2) return next(err2)
                      res.statusCode = 302
                      res.setHeader('Location', '/')
                      res.end()
                    })
                  })
                })
                const reply = await s.request('/login', { cookie: signedCookie('sid1') })
                assert.equal(reply.status, 302)
                const id = sidOf(reply)
                assert.deepEqual(store.calls, [
                  ['get', 'sid1'],
                  ['destroy', 'sid1'],
                  ['set', id],
                  ['set', id],
                ])
                assert.equal(store.stored(id).user, 'bob')
              })

              it('still generates the new session when destroy fails, passing the error', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', { user: 'bob' })
                store.destroyError = new Error('destroy failed')
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.regenerate((err: Error) => sendJson(res, { err: err && err.message, id: req.sessionID }))
                })
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                const body = JSON.parse(reply.body)
                assert.equal(body.err, 'destroy failed')
                assert.notEqual(body.id, 'sid1')
                assert.equal(sidOf(reply), body.id)
              })

              it('uses the generate of the last middleware constructed on a shared store', async () => {
                const store = createSpyStore(session)
                store.seed('sid1', {})
                const used = session(withDefaults({ store, genid: () => 'from-first' }))
                session(withDefaults({ store, genid: () => 'from-second' }))
                const s = await serve(host, used, (req, res) => req.session.regenerate(() => res.end(req.sessionID)))
                const reply = await s.request('/', { cookie: signedCookie('sid1') })
                assert.equal(reply.body, 'from-second')
                assert.equal(sidOf(reply), 'from-second')
              })
            })
          })

          describe('req.sessionID', () => {
            describe('when changed by the application', () => {
              it('set by the application to a non-string means no save and no cookie', async () => {
                const store = createSpyStore(session)
                const s = await serve(host, session(withDefaults({ store })), (req, res) => {
                  req.session.user = 'bob'
                  req.sessionID = 42
                  res.end('ok')
                })
                const reply = await s.request()
                assert.deepEqual(reply.cookies, [])
                assert.deepEqual(store.calls, [])
              })

              it('set to another string desynchronizes: save uses session.id, the cookie uses req.sessionID', async () => {
                const store = createSpyStore(session)
                const s = await serve(host, session(withDefaults({ store, genid: () => 'real' })), (req, res) => {
                  req.session.user = 'bob'
                  req.sessionID = 'other'
                  res.end('ok')
                })
                const reply = await s.request()
                assert.equal(sidOf(reply), 'other')
                assert.deepEqual(store.calls, [['set', 'real']])
              })
            })
          })
        })
      })
    }
  })
}
