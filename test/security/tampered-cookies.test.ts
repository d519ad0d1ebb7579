/**
 * Tampered, malformed and smuggled session cookies (R3, R6, R8, R9, R25): each gives no session and
 * a `rejected` event naming why, never an exception, and no store read unless a well-formed,
 * correctly signed id was presented.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, type Host, type Reply } from '../http/helpers.ts'
import { randomId, target, userOf, v1Cookie, type TargetApp } from './helpers.ts'

afterEach(cleanup)

/** A target with a logged-in client; the spy and events are reset, so only the attack is seen. */
async function loggedIn(host: Host, options = {}, name = 'sid') {
  const app = await target(host, options)
  const login = await app.server.request('/login')
  const value = cookiePair(login, name).slice(name.length + 1)
  app.spy.reset()
  app.events.created.length = 0
  return { ...app, value, id: idOf(login, name) }
}

/** No session, no cookie, no error, no store read, and exactly the given rejections. */
function assertRefused(app: TargetApp, reply: Reply, reasons: string[]): void {
  assert.equal(reply.status, 200)
  assert.equal(userOf(reply), null)
  assert.deepEqual(reply.cookies, [])
  assert.deepEqual(app.server.errors, [])
  assert.equal(app.spy.count('get'), 0, 'no store read for a cookie that is not a well-formed signed id')
  assert.equal(app.spy.count(), 0)
  assert.deepEqual(
    app.events.rejected.map((e) => e.reason),
    reasons,
  )
}

/** Replaces the character at `index` with another base64url character. */
function flip(value: string, index: number): string {
  const at = index < 0 ? value.length + index : index
  const replacement = value[at] === 'A' ? 'B' : 'A'
  return value.slice(0, at) + replacement + value.slice(at + 1)
}

const MALFORMED: Array<[string, (value: string, id: string) => string]> = [
  ['a truncated MAC (one character short)', (v) => v.slice(0, -1)],
  ['an over-long MAC (one character more)', (v) => v + 'A'],
  ['trailing garbage after a valid value (`<valid>x`)', (v) => v + 'x'],
  ['a dotted suffix after a valid value (`<valid>.x`)', (v) => v + '.x'],
  ['garbage in front of a valid value (`garbage.<valid>`)', (v) => 'garbage.' + v],
  ['an empty value', () => ''],
  ['only the version prefix (`v1.`)', () => 'v1.'],
  ['the version and id without a MAC', (_v, id) => `v1.${id}`],
  ['the version and id with an empty MAC', (_v, id) => `v1.${id}.`],
  ['another format version (`v2.`)', (v) => 'v2' + v.slice(2)],
  ['the value in double quotes', (v) => `"${v}"`],
  ['the value percent-encoded', (v) => encodeURIComponent(v).replace(/\./g, '%2E')],
  ['an id with a forbidden character, correctly signed', (_v, id) => signV1('/' + id.slice(1), 'sid', SECRET)],
  ['an id with a percent escape, correctly signed', (_v, id) => signV1('%41' + id.slice(3), 'sid', SECRET)],
  ['an id of 21 characters, correctly signed', (_v, id) => signV1(id.slice(0, 21), 'sid', SECRET)],
  ['an id of 129 characters, correctly signed', () => signV1('A'.repeat(129), 'sid', SECRET)],
  ['base64 JSON, as a stateless cookie would carry', () => Buffer.from('{"user":"admin"}').toString('base64url')],
]

describe('tampered and malformed session cookies', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R9: the untampered cookie is the control: it gives the session with one store read', async () => {
        const app = await loggedIn(host)
        const reply = await app.server.request('/me', { cookie: `sid=${app.value}` })
        assert.equal(userOf(reply), 'ann')
        assert.equal(app.spy.count('get'), 1)
        assert.deepEqual(app.events.rejected, [])
      })

      it('R3: a flipped MAC character is bad_mac (first, middle and last character)', async () => {
        const app = await loggedIn(host)
        const macStart = app.value.lastIndexOf('.') + 1
        for (const index of [macStart, macStart + 20, -1]) {
          app.events.rejected.length = 0
          const reply = await app.server.request('/me', { cookie: `sid=${flip(app.value, index)}` })
          assertRefused(app, reply, ['bad_mac'])
        }
      })

      it('R3: a flipped id character (the MAC left as it was) is bad_mac', async () => {
        const app = await loggedIn(host)
        const reply = await app.server.request('/me', { cookie: `sid=${flip(app.value, 5)}` })
        assertRefused(app, reply, ['bad_mac'])
      })

      for (const [label, mutate] of MALFORMED) {
        it(`R9: ${label} is malformed, with no store read`, async () => {
          const app = await loggedIn(host)
          const reply = await app.server.request('/me', { cookie: `sid=${mutate(app.value, app.id)}` })
          assertRefused(app, reply, ['malformed'])
        })
      }

      it('R9: an express-session value with a wrong or missing MAC is bad_mac, with no store read (no unsigned fallback)', async () => {
        const app = await loggedIn(host)
        for (const value of [`s:${app.id}.${'A'.repeat(43)}`, `s:${app.id}`, `s:${app.id}.`, 's:']) {
          app.events.rejected.length = 0
          const reply = await app.server.request('/me', { cookie: `sid=${encodeURIComponent(value)}` })
          assertRefused(app, reply, ['bad_mac'])
        }
      })

      it('R9: a 5 KB value is oversize, with no store read', async () => {
        const app = await loggedIn(host)
        const reply = await app.server.request('/me', { cookie: `sid=${app.value}${'A'.repeat(5 * 1024)}` })
        assertRefused(app, reply, ['oversize'])
      })

      describe('R8: two cookies named ours (cookie tossing)', () => {
        it('R8: two valid copies (the same value twice) are both refused as duplicate', async () => {
          const app = await loggedIn(host)
          const reply = await app.server.request('/me', { cookie: `sid=${app.value}; sid=${app.value}` })
          assertRefused(app, reply, ['duplicate'])
        })

        it("R8: a tossed valid cookie of the attacker's in front of the victim's is refused as duplicate", async () => {
          const app = await loggedIn(host)
          const attacker = cookiePair(await app.server.request('/login?user=mallory'))
          app.spy.reset()
          const reply = await app.server.request('/me', { cookie: `${attacker}; sid=${app.value}` })
          assertRefused(app, reply, ['duplicate'])
        })

        it('R8: a stale first copy in front of a valid one is refused as duplicate (never first-wins, never last-wins)', async () => {
          const app = await loggedIn(host)
          const stale = v1Cookie(randomId())
          for (const cookie of [`${stale}; sid=${app.value}`, `sid=${app.value}; ${stale}`]) {
            app.events.rejected.length = 0
            const reply = await app.server.request('/me', { cookie })
            assertRefused(app, reply, ['duplicate'])
          }
        })

        it('R8: a copy in a second Cookie header line (HTTP/2-style split headers) is a duplicate too', async () => {
          const app = await loggedIn(host)
          const reply = await new Promise<{ status: number; body: string; cookies: string[] }>((resolve, reject) => {
            const req = http.request(app.server.url + '/me', { headers: { cookie: [`sid=${app.value}`, `sid=${app.value}`] }, agent: false }, (res) => {
              let body = ''
              res.on('data', (chunk: Buffer) => (body += chunk.toString()))
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cookies: res.headers['set-cookie'] ?? [] }))
            })
            req.on('error', reject)
            req.end()
          })
          assert.equal(reply.status, 200)
          assert.equal(userOf(reply), null)
          assert.equal(app.spy.count('get'), 0)
          assert.deepEqual(
            app.events.rejected.map((e) => e.reason),
            ['duplicate'],
          )
        })
      })

      describe('R6: only our cookie name, byte for byte', () => {
        const LOOKALIKES: Array<[string, (value: string) => string]> = [
          ['a percent-encoded name (`%73id`)', (v) => `%73id=${v}`],
          ['U+00A0 before the name', (v) => `\u00a0sid=${v}`],
          ['U+00A0 after the name', (v) => `sid\u00a0=${v}`],
          ['another letter case (`SID`)', (v) => `SID=${v}`],
          ['a name with our name as prefix (`sidx`)', (v) => `sidx=${v}`],
          ['a name with our name as suffix (`xsid`)', (v) => `xsid=${v}`],
          ['the pair without `=` (`sid` alone, then the value)', (v) => `sid; ${v}`],
        ]
        for (const [label, build] of LOOKALIKES) {
          it(`R6: ${label} is not our cookie: no session, no store read`, async () => {
            const app = await loggedIn(host)
            const reply = await app.server.request('/me', { cookie: build(app.value) })
            assertRefused(app, reply, [])
          })
        }

        it('R6: a look-alike name does not shadow the real cookie either (the real one still works)', async () => {
          const app = await loggedIn(host)
          const planted = v1Cookie(randomId())
          const reply = await app.server.request('/me', { cookie: `\u00a0${planted}; %73id=x; sid=${app.value}; SID=y` })
          assert.equal(userOf(reply), 'ann')
          assert.deepEqual(app.events.rejected, [])
        })

        it('R6: blanks (SP, HTAB) around the name and value are trimmed, as browsers do', async () => {
          const app = await loggedIn(host)
          const reply = await app.server.request('/me', { cookie: `a=1;  \tsid \t= ${app.value}\t ; b=2` })
          assert.equal(userOf(reply), 'ann')
        })

        it('R6: a session id in the query string or in another header (X-Session-Id, Authorization) is never accepted', async () => {
          const app = await loggedIn(host)
          const value = encodeURIComponent(app.value)
          const replies = [
            await app.server.request(`/me?sid=${value}&sessionId=${app.id}&session=${value}`),
            await app.server.request('/me', { headers: { 'x-session-id': app.id, 'x-sid': app.value, authorization: `Bearer ${app.value}` } }),
          ]
          for (const reply of replies) assert.equal(userOf(reply), null)
          assert.equal(app.spy.count('get'), 0)
          assert.deepEqual(app.events.rejected, [])
        })

        it('R6: cookies named hasOwnProperty, __proto__, constructor and toString parse without a throw', async () => {
          const app = await loggedIn(host)
          const reply = await app.server.request('/me', { cookie: `hasOwnProperty=1; __proto__=x; constructor=y; toString=z; sid=${app.value}; valueOf=w` })
          assert.equal(reply.status, 200)
          assert.equal(userOf(reply), 'ann')
        })
      })

      describe('R6: a __Host- name in another letter case (prefix bypass attempt)', () => {
        it('R6: `__host-sid` is not `__Host-sid`: no session and a prefix rejection; `__%48ost-sid` is not it either', async () => {
          const app = await loggedIn(host, { name: '__Host-sid', cookie: { secure: true } }, '__Host-sid')
          const value = app.value
          const variant = await app.server.request('/me', { cookie: `__host-sid=${value}` })
          assertRefused(app, variant, ['prefix'])
          app.events.rejected.length = 0
          const encoded = await app.server.request('/me', { cookie: `__%48ost-sid=${value}` })
          assertRefused(app, encoded, [])
        })
      })
    })
  }
})
