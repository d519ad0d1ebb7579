/**
 * Response headers (R19, R20): a response that carries the session cookie is not cacheable unless
 * the app says otherwise; whatever `writeHead` signature the app uses (CVE-2025-7339), its own
 * headers and Set-Cookie lines survive and exactly one session cookie is appended.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { HOSTS, cleanup, cookiePair, type Host, type Req, type Res } from '../http/helpers.ts'
import { rawRequest, target } from './helpers.ts'

afterEach(cleanup)

type Writer = (res: Res) => void

/** Each route starts a session (writes `user`), then answers through one writeHead signature. */
const WRITERS: Array<[string, string, Writer]> = [
  ['an object', '/object', (res) => res.writeHead(200, { 'Set-Cookie': ['a=1', 'b=2; Path=/x'], 'X-App': 'kept', 'Content-Type': 'text/plain' })],
  ['a flat array', '/flat', (res) => res.writeHead(200, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2; Path=/x', 'X-App', 'kept'])],
  ['a nested array', '/nested', (res) => res.writeHead(200, [['Set-Cookie', ['a=1', 'b=2; Path=/x']], ['X-App', 'kept']])],
  ['a status message and an object', '/message', (res) => res.writeHead(200, 'Fine', { 'Set-Cookie': ['a=1', 'b=2; Path=/x'], 'X-App': 'kept' })],
  [
    'setHeader, then a bare writeHead',
    '/set-header',
    (res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2; Path=/x'])
      res.setHeader('X-App', 'kept')
      res.writeHead(200)
    },
  ],
  [
    "Express's res.cookie",
    '/express-cookie',
    (res) => {
      res.set('X-App', 'kept')
      res.cookie('a', '1', { encode: String })
      res.cookie('b', '2', { path: '/x', encode: String })
      res.status(200)
      res.writeHead(200)
    },
  ],
]

function headerTarget(host: Host, options = {}) {
  return target(host, options, {
    routes: (app) => {
      for (const [, path, write] of WRITERS) {
        app.get(path, (req: Req, res: Res) => {
          if (req.query.read === undefined) req.session.user = 'ann'
          else void req.session.user
          write(res)
          res.end('ok')
        })
      }
      app.get('/own-cache-control', (req: Req, res: Res) => {
        req.session.user = 'ann'
        res.set('Cache-Control', 'private, max-age=60')
        res.send('ok')
      })
      app.get('/own-cache-control-writehead', (req: Req, res: Res) => {
        req.session.user = 'ann'
        res.writeHead(200, { 'Cache-Control': 'private, max-age=60' })
        res.end('ok')
      })
    },
  })
}

function sessionLines(lines: string[]): string[] {
  return lines.filter((line) => line.startsWith('sid='))
}

describe('response headers', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('R20: writeHead signatures', () => {
        for (const [label, path] of WRITERS) {
          it(`R20: with ${label}, the app's Set-Cookie lines and headers are intact and exactly one session cookie is appended`, async () => {
            const app = await headerTarget(host)
            const raw = await rawRequest(app.server.url, path)
            assert.equal(raw.status, 200)
            const appCookies = raw.setCookies.filter((line) => !line.startsWith('sid='))
            assert.deepEqual(
              appCookies.map((line) => line.replace(/; Path=\/$/, '')),
              ['a=1', 'b=2; Path=/x'],
            )
            assert.equal(sessionLines(raw.setCookies).length, 1)
            assert.match(raw.head, /\r\nX-App: kept\r\n/i)
            assert.match(raw.head, /\r\nCache-Control: no-store\r\n/i)
            if (path === '/message') assert.match(raw.head, /^HTTP\/1\.1 200 Fine\r\n/)
          })

          it(`R20: with ${label} on a request that needs no session cookie, the app's cookies are intact and none is added`, async () => {
            const app = await headerTarget(host)
            const login = await app.server.request('/login')
            const raw = await rawRequest(app.server.url, `${path}?read=1`, [`Cookie: ${cookiePair(login)}`])
            assert.equal(raw.setCookies.filter((line) => !line.startsWith('sid=')).length, 2)
            assert.deepEqual(sessionLines(raw.setCookies), [])
          })
        }
      })

      describe('R19: Cache-Control', () => {
        it('R19: a response that sets a new session cookie carries Cache-Control: no-store', async () => {
          const app = await headerTarget(host)
          const reply = await app.server.request('/login')
          assert.equal(reply.cookies.length, 1)
          assert.equal(reply.headers['cache-control'], 'no-store')
        })

        it('R19: so does a rolling re-send and the clearing cookie of a logout', async () => {
          const app = await headerTarget(host, { rolling: true })
          const login = await app.server.request('/login')
          const again = await app.server.request('/me', { cookie: cookiePair(login) })
          assert.equal(again.cookies.length, 1)
          assert.equal(again.headers['cache-control'], 'no-store')
          const logout = await app.server.request('/logout', { cookie: cookiePair(login) })
          assert.equal(logout.cookies.length, 1)
          assert.equal(logout.headers['cache-control'], 'no-store')
        })

        it("R19: the app's own Cache-Control (res.set or writeHead) is left as it is", async () => {
          const app = await headerTarget(host)
          for (const path of ['/own-cache-control', '/own-cache-control-writehead']) {
            const reply = await app.server.request(path)
            assert.equal(reply.cookies.length, 1)
            assert.equal(reply.headers['cache-control'], 'private, max-age=60', path)
          }
        })

        it('R19: a response without a session cookie gets no Cache-Control from the library', async () => {
          const app = await headerTarget(host)
          const reply = await app.server.request('/me')
          assert.deepEqual(reply.cookies, [])
          assert.equal(reply.headers['cache-control'], undefined)
        })
      })
    })
  }
})
