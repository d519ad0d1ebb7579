/**
 * Cookie attributes (R16, R17, R18): secure production defaults; names, paths and domains that could
 * inject an attribute or a header (CVE-2024-47764) are refused when `session()` is called, or, in the
 * function form, fail the request before any Set-Cookie is written; prefix rules hold.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, memoryStore, parseSetCookie, serve, sessionCookie, type Host, type Req, type Res } from '../http/helpers.ts'
import { inProduction, rawRequest, target, userOf } from './helpers.ts'

afterEach(cleanup)

function refused(options: Partial<SessionOptions>, option?: RegExp): void {
  assert.throws(
    () => session({ secret: SECRET, store: memoryStore(), ...options }),
    (err: any) => err.code === 'ERR_TESSERA_INVALID_OPTION' && err.name === 'InvalidOptionError' && (option === undefined || option.test(err.option)),
  )
}

const INJECTED = 'X-Injected'

const BAD_NAMES: Array<[string, string]> = [
  ['CR/LF and a header', `sid\r\n${INJECTED}: 1`],
  ['a lone LF', 'sid\nx'],
  ['";" and an attribute', 'sid; Domain=evil.example'],
  ['","', 'sid,evil=1'],
  ['a space', 's id'],
  ['a tab', 's\tid'],
  ['"="', 'sid=x'],
  ['non-ASCII', 'sïd'],
  ['U+2028', 'sid\u2028'],
  ['a NUL', 'sid\u0000'],
  ['257 characters', 's'.repeat(257)],
]

const BAD_PATHS: Array<[string, string]> = [
  ['CR/LF and a header', `/\r\n${INJECTED}: 1`],
  ['";" and an attribute', '/; Domain=evil.example'],
  ['non-ASCII', '/café'],
  ['a NUL', '/\u0000'],
  ['no leading "/"', 'app'],
  ['1025 characters', '/' + 'a'.repeat(1024)],
]

const BAD_DOMAINS: Array<[string, string]> = [
  ['CR/LF and a header', `app.example\r\n${INJECTED}: 1`],
  ['";" and an attribute', 'app.example; Secure'],
  ['","', 'a,b.example'],
  ['a space', 'app .example'],
  ['non-ASCII', 'exämple.com'],
  ['"="', 'a=b.example'],
  ['a leading "-" label', '-bad.example'],
  ['an empty label', 'app..example'],
]

describe('cookie options', () => {
  describe('R17: injection through the options is refused at construction', () => {
    for (const [label, name] of BAD_NAMES) {
      it(`R17: a name with ${label}`, () => refused({ name }, /^name$/))
    }
    for (const [label, path] of BAD_PATHS) {
      it(`R17: a cookie.path with ${label}`, () => refused({ cookie: { path } }, /^cookie\.path$/))
    }
    for (const [label, domain] of BAD_DOMAINS) {
      it(`R17: a cookie.domain with ${label}`, () => refused({ cookie: { domain } }, /^cookie\.domain$/))
    }
    it('R17: `key` (the legacy alias of name) is checked the same way', () => refused({ key: 'sid; Path=/x' }, /^name$/))
  })

  describe('R17: attribute consistency', () => {
    const CASES: Array<[string, Partial<SessionOptions>, RegExp]> = [
      ['__Host- without Secure', { name: '__Host-sid', cookie: { secure: false } }, /^cookie\.secure$/],
      ["__Host- with secure: 'auto'", { name: '__Host-sid', cookie: { secure: 'auto' } }, /^cookie\.secure$/],
      ['__Host- with a path other than /', { name: '__Host-sid', cookie: { secure: true, path: '/app' } }, /^cookie$/],
      ['__Host- with a domain', { name: '__Host-sid', cookie: { secure: true, domain: 'app.example' } }, /^cookie$/],
      ['__host- (another case) without Secure', { name: '__host-SID', cookie: { secure: false } }, /^cookie\.secure$/],
      ['__HOST- (upper case) with a domain', { name: '__HOST-sid', cookie: { secure: true, domain: 'app.example' } }, /^cookie$/],
      ['__Secure- without Secure', { name: '__Secure-sid', cookie: { secure: false } }, /^cookie\.secure$/],
      ['__Host-Http- without HttpOnly', { name: '__Host-Http-sid', cookie: { secure: true, httpOnly: false } }, /^cookie\.httpOnly$/],
      ['__Host-Http- without Secure', { name: '__Host-Http-sid', cookie: { secure: false } }, /^cookie\.secure$/],
      ['__Http- without HttpOnly', { name: '__Http-sid', cookie: { secure: true, httpOnly: false } }, /^cookie\.httpOnly$/],
      ['__Http- without Secure', { name: '__Http-sid', cookie: { secure: false } }, /^cookie\.secure$/],
      ['SameSite=None without Secure', { cookie: { sameSite: 'none', secure: false } }, /^cookie\.sameSite$/],
      ['Partitioned without Secure', { cookie: { partitioned: true, secure: false } }, /^cookie\.partitioned$/],
      ['an unknown SameSite', { cookie: { sameSite: 'lax; Domain=evil' as any } }, /^cookie\.sameSite$/],
      ['an unknown Priority', { cookie: { priority: 'high; Domain=evil' as any } }, /^cookie\.priority$/],
      ['maxAge NaN', { cookie: { maxAge: Number.NaN } }, /^cookie\.maxAge$/],
      ['maxAge Infinity', { cookie: { maxAge: Number.POSITIVE_INFINITY } }, /^cookie\.maxAge$/],
      ['maxAge negative', { cookie: { maxAge: -1 } }, /^cookie\.maxAge$/],
      ['maxAge as a string', { cookie: { maxAge: '1000' as any } }, /^cookie\.maxAge$/],
      ['an absolute expires date', { cookie: { expires: new Date(Date.now() + 1e9) } }, /^cookie\.expires$/],
    ]
    for (const [label, options, option] of CASES) {
      it(`R17: ${label} is refused at construction`, () => refused(options, option))
    }
  })

  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('R17: the function form is validated on each request', () => {
        const PER_REQUEST: Array<[string, Partial<SessionOptions>]> = [
          ['a path with CR/LF', { cookie: () => ({ path: `/\r\n${INJECTED}: 1` }) }],
          ['a path with an attribute', { cookie: () => ({ path: '/; Domain=evil.example' }) }],
          ['a domain with an attribute', { cookie: () => ({ domain: 'app.example; Secure; Domain=evil.example' }) }],
          ['a domain with CR/LF', { cookie: () => ({ domain: `app.example\r\n${INJECTED}: 1` }) }],
          ['a non-ASCII domain', { cookie: () => ({ domain: 'exämple.com' }) }],
          ['a __Host- name with a domain', { name: '__Host-sid', cookie: () => ({ secure: true, domain: 'evil.example' }) }],
          ['a __Host- name with a path', { name: '__Host-sid', cookie: () => ({ secure: true, path: '/app' }) }],
          ['a __Secure- name without Secure', { name: '__Secure-sid', cookie: () => ({ secure: false }) }],
        ]
        for (const [label, options] of PER_REQUEST) {
          it(`R17: ${label} fails the request with ERR_TESSERA_INVALID_OPTION and no Set-Cookie (raw response head)`, async () => {
            const app = await target(host, options)
            const raw = await rawRequest(app.server.url, '/login')
            assert.equal(raw.status, 500)
            assert.deepEqual(raw.setCookies, [])
            assert.ok(!raw.head.includes(INJECTED), raw.head)
            assert.ok(!/evil/i.test(raw.head), raw.head)
            assert.equal(app.server.errors[0]?.code, 'ERR_TESSERA_INVALID_OPTION')
            assert.equal(app.spy.count(), 0, 'no store call for a request that cannot have a cookie')
          })
        }

        it('R17: documented: "," is legal in a Path (RFC 6265 path-value) and cannot break out of it: one cookie, one Path', async () => {
          const server = await hostWith(host, session({ secret: SECRET, store: memoryStore(), cookie: { path: '/a,b' } }), '/a,b')
          const raw = await rawRequest(server.url, '/a,b/login')
          assert.equal(raw.status, 200)
          assert.equal(raw.setCookies.length, 1)
          const cookie = parseSetCookie(raw.setCookies[0] as string)
          assert.equal(cookie.attributes.path, '/a,b')
          assert.deepEqual(Object.keys(cookie.attributes).sort(), ['httponly', 'path', 'priority', 'samesite'])
        })

        it('R17: a valid per-request path and domain are emitted exactly, as one cookie', async () => {
          const app = await target(host, { cookie: () => ({ path: '/', domain: 'app.example' }) })
          const raw = await rawRequest(app.server.url, '/login')
          assert.equal(raw.setCookies.length, 1)
          const parsed = parseSetCookie(raw.setCookies[0] as string)
          assert.equal(parsed.attributes.domain, 'app.example')
          assert.equal(parsed.attributes.path, '/')
          assert.deepEqual(Object.keys(parsed.attributes).sort(), ['domain', 'httponly', 'path', 'priority', 'samesite'])
        })
      })

      describe('R16: production defaults', () => {
        it('R16: __Host-sid; Path=/; HttpOnly; Secure; Priority=High; SameSite=Lax, and nothing else (no Domain, not persistent)', async () => {
          const middleware = inProduction(() => session({ secret: SECRET, store: memoryStore() }))
          const server = await hostWith(host, middleware)
          const raw = await rawRequest(server.url, '/login')
          assert.equal(raw.setCookies.length, 1)
          const cookie = parseSetCookie(raw.setCookies[0] as string)
          assert.equal(cookie.name, '__Host-sid')
          assert.deepEqual(cookie.attributes, { path: '/', httponly: true, secure: true, priority: 'High', samesite: 'Lax' })
        })

        it('R16: with a path other than "/" the production name is __Secure-sid, still Secure', async () => {
          const middleware = inProduction(() => session({ secret: SECRET, store: memoryStore(), cookie: { path: '/app' } }))
          const server = await hostWith(host, middleware, '/app')
          const reply = await server.request('/app/login')
          const cookie = sessionCookie(reply, '__Secure-sid')
          assert.equal(cookie?.attributes.secure, true)
          assert.equal(cookie?.attributes.path, '/app')
        })

        it('R16: the development name is sid, never connect.sid; HttpOnly and SameSite=Lax are on there too', async () => {
          const app = await target(host)
          const reply = await app.server.request('/login')
          const cookie = sessionCookie(reply)
          assert.ok(cookie)
          assert.equal(cookie.attributes.httponly, true)
          assert.equal(cookie.attributes.samesite, 'Lax')
          assert.ok(!reply.cookies.some((line) => line.startsWith('connect.sid')))
        })
      })

      describe('R17: a compliant prefixed name', () => {
        it('R17: __Host-sid emits Secure and Path=/ and no Domain', async () => {
          const app = await target(host, { name: '__Host-sid', cookie: { secure: true } })
          const raw = await rawRequest(app.server.url, '/login')
          const cookie = parseSetCookie(raw.setCookies[0] as string)
          assert.equal(cookie.name, '__Host-sid')
          assert.equal(cookie.attributes.secure, true)
          assert.equal(cookie.attributes.path, '/')
          assert.equal(cookie.attributes.domain, undefined)
          assert.ok(/; Path=\/(;|$)/.test(raw.setCookies[0] as string) && /; Secure(;|$)/.test(raw.setCookies[0] as string))
        })

        it('R17: __Host-Http-sid emits Secure, HttpOnly and Path=/ and no Domain', async () => {
          const app = await target(host, { name: '__Host-Http-sid', cookie: { secure: true } })
          const cookie = parseSetCookie((await rawRequest(app.server.url, '/login')).setCookies[0] as string)
          assert.equal(cookie.name, '__Host-Http-sid')
          assert.deepEqual([cookie.attributes.secure, cookie.attributes.httponly, cookie.attributes.path, cookie.attributes.domain], [true, true, '/', undefined])
        })
      })

      describe('R18: size', () => {
        it('R18: the longest name (256) with the longest id (a 120-character genid behind the login tag) stays within 4096 bytes and works', async () => {
          const name = 'n'.repeat(256)
          const app = await target(host, { name, genid: () => 'G'.repeat(120) })
          const reply = await app.server.request('/signin?user=ann')
          const cookie = sessionCookie(reply, name)
          assert.ok(cookie)
          assert.ok(Buffer.byteLength(`${cookie.name}=${cookie.value}`) <= 4096)
          assert.equal(userOf(await app.server.request('/me', { cookie: cookiePair(reply, name) })), 'ann')
        })
      })
    })
  }
})

/** A plain app around a middleware built elsewhere (in production mode), with `/login`. */
function hostWith(host: Host, middleware: ReturnType<typeof session>, prefix = '') {
  return serve(host, (app) => {
    app.use(middleware)
    app.get(`${prefix}/login`, (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
  })
}
