/**
 * Size limits (R9, R18, R23): an over-long session cookie is refused before any HMAC or store read;
 * a session over `maxSessionBytes` is refused before anything is written, whether new or growing.
 */
import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { MemoryStore } from '../../src/index.ts'
import { HOSTS, cleanup, cookiePair, type Host, type Req, type Res } from '../http/helpers.ts'
import { target, userOf, v1Cookie, randomId } from './helpers.ts'

afterEach(cleanup)

/**
 * Counts `crypto.createHmac` calls made while `run` runs (the server is in this process). The
 * library imports `createHmac` by name, so the built-in module's named exports are re-synced.
 */
async function countHmacs(t: TestContext, run: () => Promise<void>): Promise<number> {
  const mocked = t.mock.method(crypto, 'createHmac')
  syncBuiltinESMExports()
  try {
    await run()
    return mocked.mock.callCount()
  } finally {
    mocked.mock.restore()
    syncBuiltinESMExports()
  }
}

function sizedTarget(host: Host, maxSessionBytes: number) {
  return target(
    host,
    { maxSessionBytes },
    {
      routes: (app) => {
        app.get('/big', (req: Req, res: Res) => {
          req.session.blob = String(req.query.char ?? 'x').repeat(Number(req.query.n))
          res.send('stored')
        })
        app.get('/blob', (req: Req, res: Res) => res.json({ user: req.session.user ?? null, blob: req.session.blob?.length ?? null }))
      },
    },
  )
}

describe('size limits', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('R9: an oversized session cookie', () => {
        it('R9: a 5 KB value is rejected as oversize before any HMAC is computed or the store is read', async (t) => {
          const app = await target(host)
          const login = await app.server.request('/login')
          app.spy.reset()
          let reply: Awaited<ReturnType<typeof app.server.request>> | undefined
          const hmacs = await countHmacs(t, async () => {
            reply = await app.server.request('/me', { cookie: `${cookiePair(login)}${'A'.repeat(5 * 1024)}` })
          })
          assert.equal(userOf(reply as { body: string }), null)
          assert.equal(hmacs, 0)
          assert.equal(app.spy.count(), 0)
          assert.deepEqual(
            app.events.rejected.map((e) => e.reason),
            ['oversize'],
          )
        })

        it('R9: the control: a well-formed cookie seen for the first time costs HMACs (so the count above means something)', async (t) => {
          const app = await target(host)
          // not one the middleware issued or verified before: those are remembered and skip the HMAC
          const hmacs = await countHmacs(t, async () => {
            await app.server.request('/me', { cookie: `sid=${v1Cookie(randomId())}` })
          })
          assert.ok(hmacs >= 1)
        })

        it('a cookie value this middleware issued is recognised without an HMAC; a one-character change is not', async (t) => {
          const app = await target(host)
          const login = await app.server.request('/login')
          const pair = cookiePair(login)
          const remembered = await countHmacs(t, async () => {
            assert.equal(userOf(await app.server.request('/me', { cookie: pair })), 'ann')
          })
          assert.equal(remembered, 0)
          const flipped = pair.slice(0, -1) + (pair.endsWith('A') ? 'B' : 'A')
          const tampered = await countHmacs(t, async () => {
            assert.equal(userOf(await app.server.request('/me', { cookie: flipped })), null)
          })
          assert.ok(tampered >= 1)
        })

        it('R9: our cookie is still found, once, at the end of a 12 KB Cookie header of other pairs', async () => {
          const app = await target(host)
          const login = await app.server.request('/login')
          const filler = Array.from({ length: 1200 }, (_, i) => `c${i}=v`).join('; ')
          const reply = await app.server.request('/me', { cookie: `${filler}; ${cookiePair(login)}` })
          assert.equal(userOf(reply), 'ann')
        })
      })

      describe('R23: maxSessionBytes', () => {
        it('R23: a new session over the limit fails with ERR_TESSERA_SESSION_TOO_LARGE: nothing created, no cookie', async () => {
          const app = await sizedTarget(host, 1000)
          const reply = await app.server.request('/big?n=2000')
          assert.equal(reply.status, 500)
          assert.deepEqual(reply.cookies, [])
          assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_SESSION_TOO_LARGE')
          assert.equal(app.spy.count('create'), 0)
          assert.equal(await app.spy.store.length(), 0)
        })

        it('R23: a stored session growing over the limit is not written: the stored data is unchanged, no cookie', async () => {
          const app = await sizedTarget(host, 1000)
          const login = await app.server.request('/login')
          const key = app.spy.of('create')[0]?.args[0] as string
          app.spy.reset()
          const reply = await app.server.request('/big?n=2000', { cookie: cookiePair(login) })
          assert.equal(reply.status, 500)
          assert.deepEqual(reply.cookies, [])
          assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_SESSION_TOO_LARGE')
          assert.equal(app.spy.count('update') + app.spy.count('create') + app.spy.count('touch'), 0)
          assert.deepEqual({ ...(await MemoryStore.prototype.get.call(app.spy.store, key))?.data }, { user: 'ann' })
          assert.deepEqual(JSON.parse((await app.server.request('/blob', { cookie: cookiePair(login) })).body), { user: 'ann', blob: null })
        })

        it('R23: the control: a session under the limit is stored', async () => {
          const app = await sizedTarget(host, 1000)
          const reply = await app.server.request('/big?n=500')
          assert.equal(reply.status, 200)
          assert.equal(app.spy.count('create'), 1)
        })

        it(
          'R23: the limit counts bytes: 400 "€" (1200 bytes of UTF-8) exceed maxSessionBytes 1000',
          async () => {
            const app = await sizedTarget(host, 1000)
            const reply = await app.server.request(`/big?n=400&char=${encodeURIComponent('€')}`)
            assert.equal(reply.status, 500)
            assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_SESSION_TOO_LARGE')
            assert.equal(app.spy.count('create'), 0)
          },
        )
      })
    })
  }
})
