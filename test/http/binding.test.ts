import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, memoryStore, peek, recordEvents, serve, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const UA_A = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0'
const UA_B = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/139.0'

async function boundApp(host: Host, binding: SessionOptions['binding'], options: { trustProxy?: boolean } = {}) {
  const store = memoryStore()
  const middleware = session({ secret: SECRET, store, binding })
  const events = recordEvents(middleware, ['binding_mismatch', 'destroyed', 'rejected'])
  const server = await serve(host, (app) => {
    if (options.trustProxy) app.set('trust proxy', true)
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get(
      '/signin',
      handle(async (req, res) => {
        await req.session.login('u1')
        req.session.user = 'ann'
        res.send('signed in')
      }),
    )
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  return { server, store, events }
}

/** A request from a client: its user agent and, behind a trusted proxy, its address. */
function from(cookie: string | undefined, userAgent: string, address?: string) {
  const headers: Record<string, string> = { 'user-agent': userAgent }
  if (address !== undefined) headers['x-forwarded-for'] = address
  return cookie === undefined ? { headers } : { cookie, headers }
}

describe('binding', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when it is off (the default)', () => {
        it('a session used from another user agent works as before, with no event', async () => {
          const { server, events } = await boundApp(host, undefined)
          const login = await server.request('/login', from(undefined, UA_A))
          const me = await server.request('/me', from(cookiePair(login), UA_B))
          assert.equal(me.body, 'ann')
          assert.deepEqual(events.binding_mismatch, [])
        })
      })

      describe("when it binds the user agent with action 'log'", () => {
        it('the same user agent raises nothing', async () => {
          const { server, events } = await boundApp(host, { action: 'log' })
          const login = await server.request('/login', from(undefined, UA_A))
          assert.equal((await server.request('/me', from(cookiePair(login), UA_A))).body, 'ann')
          assert.deepEqual(events.binding_mismatch, [])
        })

        it('another user agent raises binding_mismatch, and the session goes on', async () => {
          const { server, store, events } = await boundApp(host, { action: 'log' })
          const login = await server.request('/login', from(undefined, UA_A))
          const id = idOf(login)
          const me = await server.request('/me', from(cookiePair(login), UA_B))
          assert.equal(me.body, 'ann')
          assert.equal(events.binding_mismatch.length, 1)
          assert.equal(events.binding_mismatch[0].action, 'log')
          assert.equal(typeof events.binding_mismatch[0].idHash, 'string')
          assert.ok(!JSON.stringify(events.binding_mismatch).includes(id), 'the event carries no id')
          assert.deepEqual(events.destroyed, [])
          assert.deepEqual({ ...(await peek(store, id))?.data }, { user: 'ann' })
          assert.equal((await server.request('/me', from(cookiePair(login), UA_A))).body, 'ann')
        })

        it('binds a login() session to the user agent it signed in from', async () => {
          const { server, events } = await boundApp(host, { action: 'log' })
          const signin = await server.request('/signin', from(undefined, UA_A))
          assert.equal((await server.request('/me', from(cookiePair(signin), UA_A))).body, 'ann')
          assert.deepEqual(events.binding_mismatch, [])
          assert.equal((await server.request('/me', from(cookiePair(signin), UA_B))).body, 'ann')
          assert.equal(events.binding_mismatch.length, 1)
        })
      })

      describe("when it binds the user agent with action 'destroy'", () => {
        it('another user agent gets no session, the session is ended (destroyed: binding) and its record deleted', async () => {
          const { server, store, events } = await boundApp(host, { action: 'destroy' })
          const login = await server.request('/login', from(undefined, UA_A))
          const id = idOf(login)
          const cookie = cookiePair(login)
          const me = await server.request('/me', from(cookie, UA_B))
          assert.equal(me.body, 'anonymous')
          assert.ok(
            me.cookies.every((line) => !/^sid=v1\./.test(line)),
            'no session cookie for the other client',
          )
          assert.deepEqual(
            events.binding_mismatch.map((e) => e.action),
            ['destroy'],
          )
          assert.deepEqual(
            events.destroyed.map((e) => e.reason),
            ['binding'],
          )
          assert.equal(events.destroyed[0].idHash, events.binding_mismatch[0].idHash)
          assert.equal(await peek(store, id), null)
          // ended for the original client too: whoever holds the cookie, it is spent
          assert.equal((await server.request('/me', from(cookie, UA_A))).body, 'anonymous')
        })

        it('the same user agent keeps its session', async () => {
          const { server, events } = await boundApp(host, { action: 'destroy' })
          const login = await server.request('/login', from(undefined, UA_A))
          for (let i = 0; i < 3; i++) assert.equal((await server.request('/me', from(cookiePair(login), UA_A))).body, 'ann')
          assert.deepEqual(events.binding_mismatch, [])
          assert.deepEqual(events.destroyed, [])
        })
      })

      describe("when it binds the address by 'prefix' (behind a trusted proxy: X-Forwarded-For)", () => {
        it('an address in the same IPv4 /24 keeps the session; another network does not', async () => {
          const { server, events } = await boundApp(host, { ip: 'prefix', action: 'destroy' }, { trustProxy: true })
          const login = await server.request('/login', from(undefined, UA_A, '203.0.113.5'))
          const cookie = cookiePair(login)
          assert.equal((await server.request('/me', from(cookie, UA_A, '203.0.113.77'))).body, 'ann')
          assert.deepEqual(events.binding_mismatch, [])
          assert.equal((await server.request('/me', from(cookie, UA_A, '198.51.100.5'))).body, 'anonymous')
          assert.deepEqual(
            events.destroyed.map((e) => e.reason),
            ['binding'],
          )
        })

        it('an address in the same IPv6 /48 keeps the session; another /48 does not', async () => {
          const { server, events } = await boundApp(host, { ip: 'prefix', action: 'log' }, { trustProxy: true })
          const login = await server.request('/login', from(undefined, UA_A, '2001:db8:1:2::5'))
          const cookie = cookiePair(login)
          assert.equal((await server.request('/me', from(cookie, UA_A, '2001:db8:1:ffff::9'))).body, 'ann')
          assert.equal((await server.request('/me', from(cookie, UA_A, '2001:0DB8:0001::1'))).body, 'ann', 'the same prefix, spelt otherwise')
          assert.deepEqual(events.binding_mismatch, [])
          assert.equal((await server.request('/me', from(cookie, UA_A, '2001:db8:2::5'))).body, 'ann')
          assert.equal(events.binding_mismatch.length, 1)
        })

        it('uses the client address the proxy reports, not the proxy’s own (req.ip with trust proxy)', async () => {
          const { server, events } = await boundApp(host, { ip: 'prefix', action: 'log' }, { trustProxy: true })
          // every request arrives from 127.0.0.1: only X-Forwarded-For tells the clients apart
          const login = await server.request('/login', from(undefined, UA_A, '203.0.113.5'))
          await server.request('/me', from(cookiePair(login), UA_A, '198.51.100.5'))
          assert.equal(events.binding_mismatch.length, 1)
        })

        it('with the user agent bound too (the default), a new user agent on the same network is a mismatch', async () => {
          const { server, events } = await boundApp(host, { ip: 'prefix', action: 'log' }, { trustProxy: true })
          const login = await server.request('/login', from(undefined, UA_A, '203.0.113.5'))
          await server.request('/me', from(cookiePair(login), UA_B, '203.0.113.5'))
          assert.equal(events.binding_mismatch.length, 1)
        })
      })

      describe("when it binds the full address", () => {
        it('another address in the same /24 is a mismatch; the same address is not', async () => {
          const { server, events } = await boundApp(host, { ip: 'full', userAgent: false, action: 'destroy' }, { trustProxy: true })
          const login = await server.request('/login', from(undefined, UA_A, '203.0.113.5'))
          const cookie = cookiePair(login)
          assert.equal((await server.request('/me', from(cookie, UA_B, '203.0.113.5'))).body, 'ann', 'the user agent is not bound')
          assert.equal((await server.request('/me', from(cookie, UA_A, '::ffff:203.0.113.5'))).body, 'ann', 'the same address, IPv4-mapped')
          assert.equal(events.binding_mismatch.length, 0)
          assert.equal((await server.request('/me', from(cookie, UA_A, '203.0.113.6'))).body, 'anonymous')
          assert.deepEqual(
            events.binding_mismatch.map((e) => e.action),
            ['destroy'],
          )
        })
      })

      describe('when the option is invalid', () => {
        it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
          const invalid: unknown[] = [{}, { action: 'block' }, { action: 'log', ip: 'subnet' }, { action: 'log', userAgent: false }, 'destroy', null]
          for (const binding of invalid) {
            assert.throws(
              () => session({ secret: SECRET, binding: binding as any }),
              (err: any) => err instanceof InvalidOptionError && err.code === 'ERR_TESSERA_INVALID_OPTION' && String(err.option).startsWith('binding'),
              JSON.stringify(binding),
            )
          }
        })
      })
    })
  }
})
