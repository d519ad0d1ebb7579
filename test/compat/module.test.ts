/**
 * Module surface, the Store base class and its helpers, and MemoryStore (spec §1, §12, §13).
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { afterEach, describe, it, mock } from 'node:test'
import { inherits } from 'node:util'
import {
  IMPLEMENTATIONS,
  SECRET,
  closeServers,
  createLegacyStore,
  createSpyStore,
  exchange,
  maxAgeCookie,
  runChild,
  storeGet,
  storeSet,
  withDefaults,
  type Req,
} from './helpers.ts'

afterEach(closeServers)

/** A stored session as a request would have written it. */
function storedSession(data: Record<string, unknown> = {}, cookie: Record<string, unknown> = maxAgeCookie(60_000)): any {
  return { cookie, ...data }
}

function callback<T extends unknown[]>(): { promise: Promise<T>; cb: (...args: T) => void } {
  let cb!: (...args: T) => void
  const promise = new Promise<T>((resolve) => {
    cb = (...args: T) => resolve(args)
  })
  return { promise, cb }
}

const PRODUCTION_WARNING =
  'Warning: connect.session() MemoryStore is not\ndesigned for a production environment, as it will leak\nmemory, and will not scale past a single process.'

for (const [impl, session] of IMPLEMENTATIONS) {
  describe(impl, () => {
    describe('module surface', () => {
      describe('when imported', () => {
        it('is the middleware factory itself, returning a (req, res, next) middleware', () => {
          assert.equal(typeof session, 'function')
          const mw = session(withDefaults())
          assert.equal(typeof mw, 'function')
          assert.equal(mw.length, 3)
        })

        it('carries the Store, Cookie, Session and MemoryStore constructors', () => {
          for (const key of ['Store', 'Cookie', 'Session', 'MemoryStore']) {
            assert.equal(typeof session[key], 'function', key)
          }
        })

        it('makes MemoryStore a Store and an EventEmitter', () => {
          const store = new session.MemoryStore()
          assert.ok(store instanceof session.Store)
          assert.ok((store as unknown) instanceof EventEmitter)
          for (const method of ['get', 'set', 'destroy', 'touch', 'all', 'length', 'clear', 'regenerate', 'load', 'createSession']) {
            assert.equal(typeof store[method], 'function', method)
          }
        })

        it('builds a Session whose id and req are non-enumerable, non-writable own properties', () => {
          const req: Req = { sessionID: 'abc' }
          const sess = new session.Session(req, { user: 'bob' })
          assert.equal(sess.id, 'abc')
          assert.equal(sess.req, req)
          assert.deepEqual(Object.keys(sess), ['user'])
          for (const key of ['id', 'req']) {
            const descriptor = Object.getOwnPropertyDescriptor(sess, key)
            assert.ok(descriptor, key)
            assert.equal(descriptor.enumerable, false, key)
            assert.equal(descriptor.writable, false, key)
          }
          for (const method of ['touch', 'resetMaxAge', 'save', 'reload', 'destroy', 'regenerate']) {
            assert.equal(typeof sess[method], 'function', method)
            assert.equal(Object.prototype.propertyIsEnumerable.call(Object.getPrototypeOf(sess), method), false, method)
          }
        })

        it('drops data keys that already exist on a Session (methods, id, Object.prototype names)', () => {
          const req: Req = { sessionID: 'abc' }
          const data = JSON.parse('{"id":"evil","save":"nope","constructor":"x","toString":"y","__proto__":{"polluted":true},"ok":1}')
          const sess = new session.Session(req, data)
          assert.deepEqual(Object.keys(sess), ['ok'])
          assert.equal(sess.id, 'abc')
          assert.equal(typeof sess.save, 'function')
          assert.equal(sess.polluted, undefined)
        })
      })
    })

    describe('NODE_ENV', () => {
      describe('when "production" at load time and the default MemoryStore is used', () => {
        it('prints the MemoryStore warning on stderr', () => {
          const child = runChild(impl, `session({ secret: 's', resave: false, saveUninitialized: false })`, { NODE_ENV: 'production' })
          assert.equal(child.status, 0, child.stderr)
          assert.ok(child.stderr.includes(PRODUCTION_WARNING), child.stderr)
        })
      })

      describe('when "production" with a custom store', () => {
        it('prints no warning', () => {
          const child = runChild(
            impl,
            `class S extends session.Store { get(s, cb) { cb() } set(s, d, cb) { cb() } destroy(s, cb) { cb() } }
             session({ secret: 's', resave: false, saveUninitialized: false, store: new S() })`,
            { NODE_ENV: 'production' },
          )
          assert.equal(child.status, 0, child.stderr)
          assert.equal(child.stderr.includes('MemoryStore'), false, child.stderr)
        })
      })

      describe('when set to "production" only after the module was loaded', () => {
        it('prints no warning (NODE_ENV is read once, at load)', () => {
          const child = runChild(impl, `process.env.NODE_ENV = 'production'\nsession({ secret: 's', resave: false, saveUninitialized: false })`)
          assert.equal(child.status, 0, child.stderr)
          assert.equal(child.stderr.includes('MemoryStore'), false, child.stderr)
        })
      })
    })

    describe('deprecations', () => {
      describe('when resave, saveUninitialized and secret are missing', () => {
        it('prints depd notices in the express-session namespace', () => {
          const child = runChild(impl, `session({})`)
          assert.equal(child.status, 0, child.stderr)
          for (const message of ['undefined resave option; provide resave option', 'undefined saveUninitialized option; provide saveUninitialized option', 'req.secret; provide secret option']) {
            assert.match(child.stderr, new RegExp(`express-session deprecated ${message.replace(/[.;]/g, '\\$&')}`), child.stderr)
          }
        })
      })
    })

    describe('Store', () => {
      describe('when subclassed with util.inherits and Store.call(this)', () => {
        it('is callable without new and gives an EventEmitter with the prototype helpers', () => {
          function MyStore(this: any) {
            session.Store.call(this)
          }
          inherits(MyStore, session.Store)
          const store = new (MyStore as any)()
          assert.ok(store instanceof session.Store)
          assert.ok((store as unknown) instanceof EventEmitter)
          assert.equal(typeof store.on, 'function')
          assert.equal(typeof store.regenerate, 'function')
          assert.equal(typeof store.load, 'function')
          assert.equal(typeof store.createSession, 'function')
        })
      })

      describe('when subclassed with class extends', () => {
        it('constructs and works as the middleware store', () => {
          class MyStore extends session.Store {
            get(_sid: string, cb: (err: unknown, sess?: unknown) => void) {
              cb(null, undefined)
            }
            set(_sid: string, _sess: unknown, cb: () => void) {
              cb()
            }
            destroy(_sid: string, cb: () => void) {
              cb()
            }
          }
          const store: any = new MyStore()
          assert.ok(store instanceof session.Store)
          assert.ok((store as unknown) instanceof EventEmitter)
          session(withDefaults({ store }))
          assert.equal(typeof store.generate, 'function')
        })
      })

      describe('when given to the middleware', () => {
        it('gets generate assigned and one disconnect and one connect listener per middleware', () => {
          const store = createSpyStore(session)
          assert.equal(store.generate, undefined)
          session(withDefaults({ store }))
          assert.equal(typeof store.generate, 'function')
          assert.equal(store.listenerCount('disconnect'), 1)
          assert.equal(store.listenerCount('connect'), 1)
          session(withDefaults({ store }))
          assert.equal(store.listenerCount('disconnect'), 2)
          assert.equal(store.listenerCount('connect'), 2)
        })

        it('makes Node warn MaxListenersExceededWarning once 11 middleware share it', () => {
          const child = runChild(
            impl,
            `const store = new session.MemoryStore()
             for (let i = 0; i < 11; i++) session({ secret: 's', resave: false, saveUninitialized: false, store })
             await new Promise((resolve) => setTimeout(resolve, 10))`,
          )
          assert.equal(child.status, 0, child.stderr)
          assert.match(child.stderr, /MaxListenersExceededWarning/)
          const ten = runChild(impl, `const store = new session.MemoryStore()\nfor (let i = 0; i < 10; i++) session({ secret: 's', resave: false, saveUninitialized: false, store })`)
          assert.doesNotMatch(ten.stderr, /MaxListenersExceededWarning/)
        })

        it('has the generate of the last constructed middleware when shared', () => {
          const store = createSpyStore(session)
          session(withDefaults({ store, genid: () => 'first-id' }))
          session(withDefaults({ store, genid: () => 'second-id', cookie: { path: '/second' } }))
          const req: Req = { headers: {}, url: '/' }
          store.generate!(req)
          assert.equal(req.sessionID, 'second-id')
          assert.equal(req.session.id, 'second-id')
          assert.equal(req.session.cookie.path, '/second')
          assert.ok(req.session instanceof session.Session)
          assert.ok(req.session.cookie instanceof session.Cookie)
        })

        it('makes generate pass req to genid and resolve secure/sameSite "auto" from the request', () => {
          const store = createSpyStore(session)
          let seen: unknown
          session(withDefaults({ store, genid: (req: Req) => ((seen = req), 'gen'), cookie: { secure: 'auto', sameSite: 'auto' } }))
          const { req } = exchange('/')
          store.generate!(req)
          assert.equal(seen, req)
          assert.equal(req.session.cookie.secure, false)
          assert.equal(req.session.cookie.sameSite, 'lax')
          const secureReq: Req = { headers: {}, url: '/', secure: true }
          store.generate!(secureReq)
          assert.equal(secureReq.session.cookie.secure, true)
          assert.equal(secureReq.session.cookie.sameSite, 'none')
        })
      })

      describe('load(sid, cb)', () => {
        describe('when called', () => {
          it('calls back with a Session built from the stored data, with a Cookie whose expires is a Date', async () => {
            const store = createSpyStore(session)
            store.seed('sid1', { user: 'bob' }, maxAgeCookie(60_000))
            const { promise, cb } = callback<[unknown, any]>()
            store.load('sid1', cb)
            const [err, sess] = await promise
            assert.equal(err, null)
            assert.ok(sess instanceof session.Session)
            assert.equal(sess.id, 'sid1')
            assert.equal(sess.user, 'bob')
            assert.ok(sess.cookie instanceof session.Cookie)
            assert.ok(sess.cookie.expires instanceof Date)
            assert.equal(sess.cookie.originalMaxAge, 60_000)
            assert.equal(sess.req.sessionID, 'sid1')
            assert.equal(sess.req.sessionStore, store)
          })

          it('calls back with no arguments when the session is missing', async () => {
            const store = createSpyStore(session)
            const { promise, cb } = callback<unknown[]>()
            store.load('missing', cb)
            assert.deepEqual(await promise, [])
          })

          it('passes a get error to the callback', async () => {
            const store = createSpyStore(session)
            store.getError = new Error('get failed')
            const { promise, cb } = callback<unknown[]>()
            store.load('sid1', cb)
            const args = await promise
            assert.equal(args.length, 1)
            assert.equal((args[0] as Error).message, 'get failed')
          })
        })
      })

      describe('createSession(req, data)', () => {
        describe('when given stored data', () => {
          it('sets and returns req.session, turning data.cookie into a Cookie and expires into a Date', () => {
            const store = createSpyStore(session)
            const expires = new Date(Date.now() + 30_000)
            const data: any = { cookie: { originalMaxAge: 12_345, expires: expires.toISOString(), httpOnly: true, path: '/' }, n: 1 }
            const req: Req = { sessionID: 'sid1', sessionStore: store }
            const sess = store.createSession(req, data)
            assert.equal(req.session, sess)
            assert.ok(data.cookie instanceof session.Cookie, 'data.cookie is mutated into a Cookie')
            assert.equal(sess.cookie, data.cookie)
            assert.ok(sess.cookie.expires instanceof Date)
            assert.equal(sess.cookie.expires.getTime(), expires.getTime())
            assert.equal(sess.cookie.originalMaxAge, 12_345, 'originalMaxAge kept as stored')
            assert.equal(sess.n, 1)
          })

          it('accepts a stored _expires key (a raw BSON-serialized cookie)', () => {
            const store = createSpyStore(session)
            const expires = new Date(Date.now() + 30_000)
            const req: Req = { sessionID: 'sid1', sessionStore: store }
            const sess = store.createSession(req, { cookie: { originalMaxAge: 30_000, _expires: expires, httpOnly: true, path: '/' } })
            assert.equal(sess.cookie.expires, expires)
            assert.ok(sess.cookie.maxAge > 29_000 && sess.cookie.maxAge <= 30_000)
          })

          it('throws a TypeError when the data has no cookie', () => {
            const store = createSpyStore(session)
            assert.throws(() => store.createSession({ sessionID: 'x' }, { user: 'bob' }), (err: Error) => {
              assert.ok(err instanceof TypeError)
              assert.match(err.message, /Cannot read prop/)
              return true
            })
          })
        })
      })

      describe('regenerate(req, cb)', () => {
        describe('when called', () => {
          it('destroys the old id, generates a new session and calls back', async () => {
            const store = createSpyStore(session)
            session(withDefaults({ store, genid: () => 'new-id' }))
            store.seed('old-id', { user: 'bob' })
            const req: Req = { sessionID: 'old-id', sessionStore: store, headers: {}, url: '/' }
            const { promise, cb } = callback<unknown[]>()
            store.regenerate(req, cb)
            const [err] = await promise
            assert.equal(err, undefined)
            assert.deepEqual(store.calls, [['destroy', 'old-id']])
            assert.equal(req.sessionID, 'new-id')
            assert.equal(req.session.id, 'new-id')
            assert.equal(req.session.user, undefined)
          })

          it('generates the new session even when destroy failed, and passes the error', async () => {
            const store = createSpyStore(session)
            session(withDefaults({ store, genid: () => 'new-id' }))
            store.destroyError = new Error('destroy failed')
            const req: Req = { sessionID: 'old-id', sessionStore: store, headers: {}, url: '/' }
            const { promise, cb } = callback<unknown[]>()
            store.regenerate(req, cb)
            const [err] = await promise
            assert.equal((err as Error).message, 'destroy failed')
            assert.equal(req.sessionID, 'new-id')
            assert.ok(req.session instanceof session.Session)
          })
        })
      })
    })

    describe('MemoryStore', () => {
      describe('when a session is set', () => {
        it('gives back a fresh copy on every get (JSON round trip)', async () => {
          const store = new session.MemoryStore()
          const sess = storedSession({ n: 1, when: new Date(0), gone: undefined })
          await storeSet(store, 'sid1', sess)
          sess.n = 2
          const a = await storeGet(store, 'sid1')
          const b = await storeGet(store, 'sid1')
          assert.notEqual(a, b)
          assert.equal(a.n, 1)
          assert.equal(a.when, '1970-01-01T00:00:00.000Z')
          assert.equal('gone' in a, false)
          assert.equal(typeof a.cookie.expires, 'string')
        })

        it('serializes synchronously, inside set', async () => {
          const store = new session.MemoryStore()
          const sess = storedSession({ n: 1 })
          const done = storeSet(store, 'sid1', sess)
          sess.n = 2
          await done
          assert.equal((await storeGet(store, 'sid1')).n, 1)
        })

        it('calls back asynchronously', async () => {
          const store = new session.MemoryStore()
          let called = false
          const done = new Promise<void>((resolve) =>
            store.set('sid1', storedSession(), () => {
              called = true
              resolve()
            }),
          )
          assert.equal(called, false)
          await done
          let got = false
          const gotten = new Promise<void>((resolve) =>
            store.get('sid1', () => {
              got = true
              resolve()
            }),
          )
          assert.equal(got, false)
          await gotten
        })

        it('returns plain objects from get, with Object.prototype', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'sid1', storedSession({ n: 1 }))
          const sess = await storeGet(store, 'sid1')
          assert.equal(Object.getPrototypeOf(sess), Object.prototype)
          // eslint-disable-next-line no-prototype-builtins -- the point: code calls it on what stores return
          assert.equal(sess.hasOwnProperty('n'), true)
        })

        it('keeps data keys named prototype and constructor', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'sid1', storedSession({ prototype: 'p', nested: { constructor: 'c', prototype: 'q' } }))
          const sess = await storeGet(store, 'sid1')
          assert.equal(sess.prototype, 'p')
          assert.deepEqual(sess.nested, { constructor: 'c', prototype: 'q' })
        })

        it('keeps the sessions as JSON strings in store.sessions', async () => {
          const store = new session.MemoryStore()
          const sess = storedSession({ n: 1 })
          await storeSet(store, 'sid1', sess)
          assert.equal(typeof store.sessions, 'object')
          assert.equal(store.sessions.sid1, JSON.stringify(sess))
        })

        it('stores the session again after it was destroyed', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'sid1', storedSession({ n: 1 }))
          await new Promise<void>((resolve) => store.destroy('sid1', () => resolve()))
          await storeSet(store, 'sid1', storedSession({ n: 2 }))
          const sess = await storeGet(store, 'sid1')
          assert.ok(sess, 'session stored again')
          assert.equal(sess.n, 2)
        })
      })

      describe('when a session is missing', () => {
        it('calls back get with (null, undefined)', async () => {
          const store = new session.MemoryStore()
          const { promise, cb } = callback<unknown[]>()
          store.get('nope', cb)
          assert.deepEqual(await promise, [null, undefined])
        })

        it('does not create it on touch', async () => {
          const store = new session.MemoryStore()
          await new Promise<void>((resolve) => store.touch('nope', storedSession(), () => resolve()))
          assert.ok(!(await storeGet(store, 'nope')))
          const length = await new Promise<number>((resolve) => store.length((_err: unknown, n: number) => resolve(n)))
          assert.equal(length, 0)
        })
      })

      describe('when a session has expired', () => {
        it('is not returned by get, and get deletes it', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'old', storedSession({}, { originalMaxAge: 0, expires: new Date(Date.now() - 1000).toISOString(), httpOnly: true, path: '/' }))
          assert.ok(!(await storeGet(store, 'old')))
          const length = await new Promise<number>((resolve) => store.length((_err: unknown, n: number) => resolve(n)))
          assert.equal(length, 0)
        })

        it('is pruned from all()', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'old', storedSession({}, { originalMaxAge: 0, expires: new Date(Date.now() - 1000).toISOString(), httpOnly: true, path: '/' }))
          await storeSet(store, 'live', storedSession({ n: 1 }))
          const all = await new Promise<any>((resolve) => store.all((_err: unknown, s: unknown) => resolve(s)))
          assert.deepEqual(Object.keys(all), ['live'])
        })
      })

      describe('when the session is a browser-session one (no expires)', () => {
        it('never expires it, even 30 days later', async () => {
          const store = new session.MemoryStore()
          await storeSet(store, 'sid1', storedSession({ n: 1 }, { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }))
          mock.timers.enable({ apis: ['Date'], now: Date.now() + 30 * 86_400_000 })
          try {
            const sess = await storeGet(store, 'sid1')
            assert.ok(sess, 'still there')
            assert.equal(sess.n, 1)
          } finally {
            mock.timers.reset()
          }
        })
      })

      describe('all, length, clear, destroy and touch', () => {
        describe('when sessions are stored', () => {
          it('all calls back with an object keyed by sid', async () => {
            const store = new session.MemoryStore()
            await storeSet(store, 'a', storedSession({ n: 1 }))
            await storeSet(store, 'b', storedSession({ n: 2 }))
            const all = await new Promise<any>((resolve, reject) => store.all((err: unknown, s: unknown) => (err ? reject(err) : resolve(s))))
            assert.equal(Array.isArray(all), false)
            assert.deepEqual(Object.keys(all).sort(), ['a', 'b'])
            assert.equal(all.a.n, 1)
            assert.equal(all.b.n, 2)
            assert.equal(typeof all.a.cookie, 'object')
          })

          it('length counts the live sessions', async () => {
            const store = new session.MemoryStore()
            const length = () => new Promise<number>((resolve) => store.length((_err: unknown, n: number) => resolve(n)))
            assert.equal(await length(), 0)
            await storeSet(store, 'a', storedSession())
            await storeSet(store, 'b', storedSession())
            assert.equal(await length(), 2)
          })

          it('clear removes every session, with or without a callback', async () => {
            const store = new session.MemoryStore()
            await storeSet(store, 'a', storedSession())
            await new Promise<void>((resolve) => store.clear(() => resolve()))
            assert.ok(!(await storeGet(store, 'a')))
            await storeSet(store, 'b', storedSession())
            store.clear()
            await new Promise((resolve) => setImmediate(resolve))
            assert.ok(!(await storeGet(store, 'b')))
          })

          it('destroy removes a session, with or without a callback', async () => {
            const store = new session.MemoryStore()
            await storeSet(store, 'a', storedSession())
            await storeSet(store, 'b', storedSession())
            await new Promise<void>((resolve) => store.destroy('a', () => resolve()))
            store.destroy('b')
            await new Promise((resolve) => setImmediate(resolve))
            assert.ok(!(await storeGet(store, 'a')))
            assert.ok(!(await storeGet(store, 'b')))
          })

          it('touch replaces the cookie of an existing session and keeps its data', async () => {
            const store = new session.MemoryStore()
            await storeSet(store, 'a', storedSession({ n: 1 }, maxAgeCookie(1_000)))
            const later = maxAgeCookie(90_000)
            await new Promise<void>((resolve) => store.touch('a', { n: 999, cookie: later }, () => resolve()))
            const sess = await storeGet(store, 'a')
            assert.equal(sess.n, 1)
            assert.equal(sess.cookie.expires, later.expires)
            assert.equal(sess.cookie.originalMaxAge, 90_000)
          })

          it('keeps more than 10 000 sessions', async () => {
            const store = new session.MemoryStore()
            const json = storedSession({}, { originalMaxAge: null, expires: null, httpOnly: true, path: '/' })
            for (let i = 0; i <= 10_000; i++) store.set('s' + i, json)
            assert.ok(await storeGet(store, 's0'), 'the oldest session is still there')
            const length = await new Promise<number>((resolve) => store.length((_err: unknown, n: number) => resolve(n)))
            assert.equal(length, 10_001)
          })
        })
      })

      describe('when subclassed', () => {
        it('uses overridden methods of a class extends MemoryStore subclass', async () => {
          const calls: string[] = []
          class LoggingStore extends session.MemoryStore {
            get(sid: string, cb: (err: unknown, sess?: unknown) => void) {
              calls.push('get')
              super.get(sid, cb)
            }
            set(sid: string, sess: unknown, cb: (err?: unknown) => void) {
              calls.push('set')
              super.set(sid, sess, cb)
            }
          }
          const store: any = new LoggingStore()
          await storeSet(store, 'a', storedSession())
          await storeGet(store, 'a')
          assert.deepEqual(calls, ['set', 'get'])
        })

        it('uses overridden methods of a util.inherits subclass calling MemoryStore.call(this)', async () => {
          const calls: string[] = []
          function LoggingStore(this: any) {
            session.MemoryStore.call(this)
          }
          inherits(LoggingStore, session.MemoryStore)
          LoggingStore.prototype.get = function (this: any, sid: string, cb: (err: unknown, sess?: unknown) => void) {
            calls.push('get')
            session.MemoryStore.prototype.get.call(this, sid, cb)
          }
          const store = new (LoggingStore as any)()
          await storeSet(store, 'a', storedSession())
          await storeGet(store, 'a')
          assert.deepEqual(calls, ['get'])
        })
      })
    })

    describe('legacy-style store', () => {
      describe('when used by the middleware', () => {
        it('receives the live Session instance in set', async () => {
          let received: any
          const store = createLegacyStore(session, {
            get(_sid, cb) {
              cb(null, undefined)
            },
            set(_sid, sess, cb) {
              received = sess
              if (cb) cb()
            },
            destroy(_sid, cb) {
              if (cb) cb()
            },
          })
          const mw = session(withDefaults({ store, secret: SECRET }))
          const { req, res } = exchange('/')
          await new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())))
          req.session.user = 'bob'
          req.session.save()
          assert.equal(received, req.session)
          assert.ok(received instanceof session.Session)
          assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(received))), ['cookie', 'user'])
        })
      })
    })
  })
}
