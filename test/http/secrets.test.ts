import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { type MemoryStore } from '../../src/index.ts'
import type { Secret } from '../../src/signing.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, OTHER_SECRET, SECRET, cleanup, cookiePair, idOf, memoryStore, recordEvents, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const OLD = OTHER_SECRET
const NEW = SECRET

async function app(host: Host, secret: Secret | Secret[], store: MemoryStore) {
  const middleware = session({ secret, store })
  const events = recordEvents(middleware, ['rejected'])
  const server = await serve(host, (a) => {
    a.use(middleware)
    a.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    a.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
    a.get('/ping', (_req: Req, res: Res) => res.send('pong'))
  })
  return { server, events }
}

describe('secret', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when rotated: [new, old]', () => {
        it('accepts a cookie signed with the old secret and re-issues it, same id, signed with the new one', async () => {
          const store = memoryStore()
          const before = await app(host, OLD, store)
          const login = await before.server.request('/login')
          const id = idOf(login)
          assert.equal(sessionCookie(login)?.value, signV1(id, 'sid', OLD))

          const after = await app(host, [NEW, OLD], store)
          const me = await after.server.request('/me', { cookie: cookiePair(login) })
          assert.equal(me.body, 'ann')
          assert.equal(sessionCookie(me)?.value, signV1(id, 'sid', NEW))

          // the re-issued cookie needs nothing more
          const again = await after.server.request('/me', { cookie: cookiePair(me) })
          assert.equal(again.body, 'ann')
          assert.deepEqual(again.cookies, [])
        })

        it('re-issues the cookie even when the handler never touches req.session', async () => {
          const store = memoryStore()
          const login = await (await app(host, OLD, store)).server.request('/login')
          const after = await app(host, [NEW, OLD], store)
          const ping = await after.server.request('/ping', { cookie: cookiePair(login) })
          assert.equal(sessionCookie(ping)?.value, signV1(idOf(login), 'sid', NEW))
        })

        it('signs new sessions with the first secret', async () => {
          const { server } = await app(host, [NEW, OLD], memoryStore())
          const login = await server.request('/login')
          assert.equal(sessionCookie(login)?.value, signV1(idOf(login), 'sid', NEW))
        })
      })

      describe('when the old secret is retired: [new]', () => {
        it('rejects a cookie signed with the old secret (bad_mac)', async () => {
          const store = memoryStore()
          const login = await (await app(host, OLD, store)).server.request('/login')
          const { server, events } = await app(host, [NEW], store)
          const me = await server.request('/me', { cookie: cookiePair(login) })
          assert.equal(me.body, 'anonymous')
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['bad_mac'],
          )
        })
      })
    })
  }
})
