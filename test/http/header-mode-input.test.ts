/**
 * Header mode against what a client (or an attacker) may send in the id's header: repeated headers,
 * malformed, oversized, unsigned or cookie-style values all mean "no session" (a `rejected` event,
 * never an error, never a crash) and are not answered in the header; and the options that still
 * apply in header mode (binding, timeouts, rolling, secret rotation) still do.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import session, { type SessionOptions } from '../../src/index.ts'
import { signLegacy, signV1 } from '../../src/signing.ts'
import { HOSTS, OTHER_SECRET, SECRET, V1_VALUE, cleanup, freezeClock, memoryStore, recordEvents, serve, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const HEADER = 'X-Session-Token'
const FIELD = 'x-session-token'
const MINUTE = 60_000

async function app(host: Host, options: Partial<SessionOptions> = {}) {
  const middleware = session({ secret: SECRET, store: memoryStore(), header: HEADER, ...options })
  const events = recordEvents(middleware, ['rejected', 'binding_mismatch', 'expired'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/me', (req: Req, res: Res) => res.json({ note: req.session.note ?? null }))
    app.get('/note', (req: Req, res: Res) => {
      req.session.note = 'kept'
      res.send('noted')
    })
    app.get('/logout', (req: Req, res: Res, next: (err?: unknown) => void) => {
      req.session.destroy().then(() => res.send('out'), next)
    })
  })
  return { server, events }
}

function tokenOf(reply: { headers: Record<string, unknown> }): string | undefined {
  return reply.headers[FIELD] as string | undefined
}

const ID = randomBytes(32).toString('base64url')

describe('header mode: what the id header may hold', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when the header is repeated', () => {
        it('gives no session (duplicate), even when both copies are the same valid token, and answers nothing in the header', async () => {
          const { server, events } = await app(host)
          const token = tokenOf(await server.request('/note')) as string
          for (const values of [
            [token, token],
            [token, ''],
            ['', token],
          ]) {
            // an array value sends the header once per element: two lines on the wire
            const reply = await server.request('/me', { headers: { [HEADER]: values as unknown as string } })
            assert.equal(reply.status, 200)
            assert.deepEqual(JSON.parse(reply.body), { note: null })
            assert.equal(tokenOf(reply), undefined)
          }
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['duplicate', 'duplicate', 'duplicate'],
          )
        })

        it('gives no session for two tokens joined in one line by a proxy', async () => {
          const { server, events } = await app(host)
          const token = tokenOf(await server.request('/note')) as string
          const reply = await server.request('/me', { headers: { [HEADER]: `${token}, ${token}` } })
          assert.deepEqual(JSON.parse(reply.body), { note: null })
          assert.deepEqual(events.rejected.map((e) => e.reason), ['duplicate'])
        })
      })

      describe('when the value is not a token of this instance', () => {
        const rows: Array<[string, () => string, string]> = [
          ['a bare id (unsigned)', () => ID, 'malformed'],
          ['a v1 value with a forged MAC', () => `v1.${ID}.${'A'.repeat(43)}`, 'bad_mac'],
          ['a value signed by another secret', () => signV1(ID, 'header:x-session-token', OTHER_SECRET), 'bad_mac'],
          ['a value signed for the cookie', () => signV1(ID, 'sid', SECRET), 'bad_mac'],
          ['a cookie-style value', () => `sid=${signV1(ID, 'header:x-session-token', SECRET)}`, 'malformed'],
          ["express-session's format", () => encodeURIComponent('s:' + signLegacy(ID, SECRET)), 'malformed'],
          ['a value with whitespace inside', () => `v1.${ID.slice(0, 20)} ${ID.slice(20)}.${'A'.repeat(43)}`, 'malformed'],
          ['a huge value', () => 'v1.' + 'A'.repeat(8_000), 'oversize'],
          ['bytes outside ASCII', () => `v1.${ID}\u00e9.${'A'.repeat(43)}`, 'malformed'],
        ]
        for (const [name, value, reason] of rows) {
          it(`${name}: no session (${reason}), no header in the answer, the app serves the request`, async () => {
            const { server, events } = await app(host)
            const reply = await server.request('/me', { headers: { [HEADER]: value() } })
            assert.equal(reply.status, 200)
            assert.deepEqual(JSON.parse(reply.body), { note: null })
            assert.equal(tokenOf(reply), undefined)
            assert.deepEqual(reply.cookies, [])
            assert.deepEqual(events.rejected.map((e) => e.reason), [reason])
            // a session the request starts gets a fresh id of its own, never the one sent
            const fresh = tokenOf(await server.request('/note', { headers: { [HEADER]: value() } })) as string
            assert.match(fresh, V1_VALUE)
            assert.ok(!fresh.includes(ID))
          })
        }

        it('takes a token surrounded by whitespace (HTTP strips it) as the token', async () => {
          const { server } = await app(host)
          const token = tokenOf(await server.request('/note')) as string
          assert.deepEqual(JSON.parse((await server.request('/me', { headers: { [HEADER]: `  ${token}\t` } })).body), { note: 'kept' })
        })

        it('takes an empty header (what destroy() answers) as no token: no rejection, no answer', async () => {
          const { server, events } = await app(host)
          const reply = await server.request('/me', { headers: { [HEADER]: '' } })
          assert.deepEqual(JSON.parse(reply.body), { note: null })
          assert.equal(tokenOf(reply), undefined)
          assert.deepEqual(events.rejected, [])
        })

        it('matches the header name in any case', async () => {
          const { server } = await app(host)
          const token = tokenOf(await server.request('/note')) as string
          assert.deepEqual(JSON.parse((await server.request('/me', { headers: { 'X-SESSION-TOKEN': token } })).body), { note: 'kept' })
        })
      })

      describe('options that still apply', () => {
        it('binding: a token used from another user agent is refused (action destroy) and answered empty', async () => {
          const { server, events } = await app(host, { binding: { userAgent: true, action: 'destroy' } })
          const token = tokenOf(await server.request('/note', { headers: { 'User-Agent': 'phone/1' } })) as string
          assert.deepEqual(JSON.parse((await server.request('/me', { headers: { [HEADER]: token, 'User-Agent': 'phone/1' } })).body), { note: 'kept' })
          const stolen = await server.request('/me', { headers: { [HEADER]: token, 'User-Agent': 'elsewhere/2' } })
          assert.deepEqual(JSON.parse(stolen.body), { note: null })
          assert.equal(tokenOf(stolen), '')
          assert.deepEqual(events.binding_mismatch.map((e) => e.action), ['destroy'])
        })

        it('idleTimeout: a token idle too long is refused and answered empty', async (t) => {
          const clock = freezeClock(t)
          const { server, events } = await app(host, { idleTimeout: 10 * MINUTE })
          const token = tokenOf(await server.request('/note')) as string
          clock.advance(10 * MINUTE + 1)
          const reply = await server.request('/me', { headers: { [HEADER]: token } })
          assert.deepEqual(JSON.parse(reply.body), { note: null })
          assert.equal(tokenOf(reply), '')
          assert.ok(events.rejected.length + events.expired.length > 0)
        })

        it('clearSiteData: destroy() sends Clear-Site-Data beside the empty header', async () => {
          const { server } = await app(host, { clearSiteData: ['storage'] })
          const token = tokenOf(await server.request('/note')) as string
          const out = await server.request('/logout', { headers: { [HEADER]: token } })
          assert.equal(tokenOf(out), '')
          assert.equal(out.headers['clear-site-data'], '"storage"')
        })

        it('rolling: the token is sent back on every response that has a session', async () => {
          const { server } = await app(host, { rolling: true })
          const token = tokenOf(await server.request('/note')) as string
          assert.equal(tokenOf(await server.request('/me', { headers: { [HEADER]: token } })), token)
        })

        it('a token signed by a retired secret is re-signed with the first one and sent back', async () => {
          const store = memoryStore()
          const before = session({ secret: OTHER_SECRET, store, header: HEADER })
          const oldServer = await serve(host, (a) => {
            a.use(before)
            a.get('/note', (req: Req, res: Res) => {
              req.session.note = 'kept'
              res.send('noted')
            })
          })
          const old = tokenOf(await oldServer.request('/note')) as string
          const { server } = await app(host, { secret: [SECRET, OTHER_SECRET], store })
          const reply = await server.request('/me', { headers: { [HEADER]: old } })
          assert.deepEqual(JSON.parse(reply.body), { note: 'kept' })
          const resigned = tokenOf(reply) as string
          assert.match(resigned, V1_VALUE)
          assert.notEqual(resigned, old)
          assert.equal(resigned.split('.')[1], old.split('.')[1], 'the same id')
        })
      })
    })
  }
})
