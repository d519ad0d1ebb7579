/**
 * Prototype pollution (R23, ASVS 15.3.6): hostile keys in stored data, or assigned by handlers,
 * never reach a prototype, never crash a request, and never come back as data on a later request.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore } from '../../src/index.ts'
import { HOSTS, cleanup, cookiePair, type Host, type Req, type Res } from '../http/helpers.ts'
import { target } from './helpers.ts'

const HOSTILE = '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"save":"x","cookie":{"domain":"evil.example"},"prefs":{"theme":"dark","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}}'

function polluted(): boolean {
  return ({} as any).admin !== undefined || (Object.prototype as any).admin !== undefined || (function () {} as any).admin !== undefined
}

afterEach(() => {
  // a failure here must not leak into the next test
  for (const object of [Object.prototype, Function.prototype] as any[]) delete object.admin
})
afterEach(cleanup)

/** The kind of deep merge applications write, which turns an own `__proto__` key into pollution. */
function naiveMerge(into: any, from: any): any {
  for (const key in from) {
    if (typeof from[key] === 'object' && from[key] !== null) naiveMerge((into[key] ??= {}), from[key])
    else into[key] = from[key]
  }
  return into
}

function pollutionTarget(host: Host, options = {}) {
  return target(host, options, {
    routes: (app) => {
      app.get('/inspect', (req: Req, res: Res) => {
        const prefs = naiveMerge({}, req.session.prefs ?? {})
        const merged = naiveMerge({}, { ...req.session, cookie: undefined })
        res.json({
          admin: req.session.admin ?? null,
          prefsAdmin: prefs.admin ?? null,
          mergedAdmin: merged.admin ?? null,
          theme: req.session.prefs?.theme ?? null,
          methods: typeof req.session.save === 'function' && typeof req.session.destroy === 'function',
          cookieDomain: req.session.cookie.domain ?? null,
          polluted: polluted(),
        })
      })
      app.get('/assign', (req: Req, res: Res) => {
        const value = JSON.parse(String(req.query.value))
        req.session[String(req.query.key)] = value
        req.session.marker = 1
        res.json({ polluted: polluted() })
      })
    },
  })
}

const CLEAN = { admin: null, prefsAdmin: null, mergedAdmin: null, theme: 'dark', methods: true, cookieDomain: null, polluted: false }

describe('prototype pollution', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R23: __proto__ and constructor.prototype injected into the stored record (at the top and nested) pollute nothing and give no data', async () => {
        const app = await pollutionTarget(host)
        const login = await app.server.request('/login')
        const key = app.spy.of('create')[0]?.args[0] as string
        // someone with write access to the store (or a compromised replica) plants the keys
        const data = JSON.parse(HOSTILE)
        assert.ok(Object.hasOwn(data, '__proto__'))
        await MemoryStore.prototype.update.call(app.spy.store, key, { set: data, unset: [], whole: data }, Date.now() + 60_000)
        const reply = await app.server.request('/inspect', { cookie: cookiePair(login) })
        assert.equal(reply.status, 200)
        assert.deepEqual(JSON.parse(reply.body), CLEAN)
        assert.equal(polluted(), false)
      })

      it(
        'R23: the same record from an express-session callback store (which parses its own JSON) pollutes nothing either',
        async () => {
          const records = new Map<string, string>()
          // connect-redis-like: JSON strings in, JSON.parse out
          const callbackStore = {
            get: (sid: string, cb: (err: unknown, value?: unknown) => void) => setImmediate(() => cb(null, records.has(sid) ? JSON.parse(records.get(sid) as string) : undefined)),
            set: (sid: string, value: unknown, cb?: (err?: unknown) => void) => {
              records.set(sid, JSON.stringify(value))
              setImmediate(() => cb?.())
            },
            destroy: (sid: string, cb?: (err?: unknown) => void) => {
              records.delete(sid)
              setImmediate(() => cb?.())
            },
            on: () => undefined,
          }
          const app = await pollutionTarget(host, { store: callbackStore as any })
          const login = await app.server.request('/login')
          const [sid, json] = [...records][0] as [string, string]
          records.set(sid, json.slice(0, -1) + ',' + HOSTILE.slice(1))
          const reply = await app.server.request('/inspect', { cookie: cookiePair(login) })
          assert.equal(reply.status, 200)
          assert.equal(polluted(), false)
          assert.deepEqual(JSON.parse(reply.body), CLEAN)
        },
      )

      const ASSIGNMENTS: Array<[string, string, string]> = [
        ['__proto__', '__proto__', '{"admin":true}'],
        ['constructor', 'constructor', '{"prototype":{"admin":true}}'],
        ['prototype', 'prototype', '{"admin":true}'],
        ['a nested __proto__', 'prefs', '{"theme":"dark","__proto__":{"admin":true}}'],
        ['a method name (save)', 'save', '{"admin":true}'],
        ['hasOwnProperty', 'hasOwnProperty', '"x"'],
        ['cookie', 'cookie', '{"domain":"evil.example"}'],
      ]
      for (const [label, key, value] of ASSIGNMENTS) {
        it(`R23: a handler assigning ${label} on req.session: no crash, nothing polluted, the next request sees no admin`, async () => {
          const app = await pollutionTarget(host)
          const reply = await app.server.request(`/assign?key=${encodeURIComponent(key)}&value=${encodeURIComponent(value)}`)
          assert.equal(reply.status, 200)
          assert.deepEqual(JSON.parse(reply.body), { polluted: false })
          const next = JSON.parse((await app.server.request('/inspect', { cookie: cookiePair(reply) })).body)
          assert.equal(next.admin, null)
          assert.equal(next.prefsAdmin, null)
          assert.equal(next.mergedAdmin, null)
          assert.equal(next.methods, true)
          assert.equal(next.cookieDomain, null)
          assert.equal(next.polluted, false)
          assert.equal(polluted(), false)
        })
      }
    })
  }
})
