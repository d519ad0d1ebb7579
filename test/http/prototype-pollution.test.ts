import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import session, { toCallbackStore } from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, memoryStore, peek, require, serve, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(() => {
  // belt and braces: a failure here must not leak into the next test
  for (const target of [Object.prototype, Function.prototype] as any[]) delete target.polluted
})
afterEach(cleanup)

const HOSTILE_JSON = JSON.stringify({ ok: 1 })
  .slice(0, -1)
  .concat(',"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"},"nested":{"__proto__":{"polluted":"yes"},"a":1}}')

/** A naive deep merge, the kind that turns an own `__proto__` key into pollution. */
function naiveMerge(target: any, source: any): any {
  for (const key in source) {
    if (typeof source[key] === 'object' && source[key] !== null) naiveMerge((target[key] ??= {}), source[key])
    else target[key] = source[key]
  }
  return target
}

function polluted(): boolean {
  return ({} as any).polluted !== undefined || (function () {} as any).polluted !== undefined
}

async function pollutionApp(host: Host) {
  const store = memoryStore()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store }))
    app.get('/inspect', (req: Req, res: Res) => {
      const data = { ...req.session, cookie: undefined }
      naiveMerge({}, data)
      res.json({
        keys: Object.keys(req.session).filter((k) => k !== 'cookie'),
        nested: req.session.nested,
        methods: typeof req.session.save === 'function' && typeof req.session.destroy === 'function',
        polluted: polluted(),
      })
    })
    app.get('/assign', (req: Req, res: Res) => {
      // an app copying client input into the session by name
      for (const [key, value] of Object.entries(req.query)) req.session[key] = JSON.parse(String(value))
      req.session.ok = 1
      res.json({ polluted: polluted() })
    })
    app.get('/me', (req: Req, res: Res) => res.json({ keys: Object.keys(req.session).filter((k) => k !== 'cookie'), polluted: polluted() }))
  })
  return { server, store }
}

describe('prototype pollution', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when stored data holds __proto__, constructor and prototype keys', () => {
        it('drops them at every depth: nothing is polluted and the session keeps its methods', async () => {
          const { server, store } = await pollutionApp(host)
          const id = randomBytes(32).toString('base64url')
          const now = Date.now()
          const data = JSON.parse(HOSTILE_JSON)
          assert.ok(Object.hasOwn(data, '__proto__'), 'the injected data really has an own __proto__ key')
          await store.create(storeKeyOf(id), { data, meta: { createdAt: now, absoluteExpiresAt: now + 3_600_000, idleTimeout: 1_800_000 }, userId: null, expiresAt: now + 60_000 })

          const reply = await server.request('/inspect', { cookie: `sid=${signV1(id, 'sid', SECRET)}` })
          assert.equal(reply.status, 200)
          const body = JSON.parse(reply.body)
          // `__proto__` and `constructor` never become session keys; a plain `prototype` key is only data
          assert.deepEqual(body.keys.filter((k: string) => k !== 'prototype').sort(), ['nested', 'ok'])
          assert.deepEqual(body.nested, { a: 1 })
          assert.equal(body.methods, true)
          assert.equal(body.polluted, false)
          assert.equal(polluted(), false)
        })
      })

      describe('when express-session reads, through toCallbackStore, a record with a top-level __proto__ key', () => {
        it('does not inherit the injected values into its session', async () => {
          const store = memoryStore()
          const expressSession = require('express-session') as (options: object) => any
          const signature = require('express-session/node_modules/cookie-signature') as { sign(v: string, s: string): string }
          const server = await serve(host, (app) => {
            app.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false, store: toCallbackStore(store) }))
            app.get('/me', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, isAdmin: req.session.isAdmin ?? null, polluted: polluted() }))
          })
          const id = randomBytes(24).toString('base64url')
          const now = Date.now()
          await store.create(id, { data: JSON.parse('{"user":"eve","__proto__":{"isAdmin":true}}'), meta: null, userId: null, expiresAt: now + 60_000 })
          const reply = await server.request('/me', { cookie: `connect.sid=${encodeURIComponent('s:' + signature.sign(id, SECRET))}` })
          assert.deepEqual(JSON.parse(reply.body), { user: 'eve', isAdmin: null, polluted: false })
        })
      })

      describe('when a handler assigns __proto__, constructor or prototype on req.session', () => {
        it('does not crash, pollutes nothing, and a later request gets none of them', async () => {
          const { server, store } = await pollutionApp(host)
          const query = `__proto__=${encodeURIComponent('{"polluted":"yes"}')}&constructor=${encodeURIComponent('{"prototype":{"polluted":"yes"}}')}&prototype=${encodeURIComponent('{"polluted":"yes"}')}`
          const reply = await server.request(`/assign?${query}`)
          assert.equal(reply.status, 200)
          assert.deepEqual(JSON.parse(reply.body), { polluted: false })
          const me = await server.request('/me', { cookie: cookiePair(reply) })
          assert.equal(me.status, 200)
          const after = JSON.parse(me.body)
          assert.equal(after.polluted, false)
          assert.deepEqual(after.keys.filter((k: string) => k !== 'prototype'), ['ok'])
          assert.equal((await peek(store, idOf(reply)))?.data.ok, 1)
          assert.equal(polluted(), false)
        })
      })
    })
  }
})
