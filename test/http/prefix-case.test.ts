import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { signV1 } from '../../src/signing.ts'
import { HOSTS, SECRET, cleanup, idOf, memoryStore, recordEvents, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

/** A session cookie named `name` (Secure, as its prefix requires: the requests are plain HTTP, the harness sends cookies itself). */
async function namedApp(host: Host, name: string) {
  const middleware = session({ secret: SECRET, store: memoryStore(), name, cookie: { secure: true } })
  const events = recordEvents(middleware, ['rejected'])
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
  })
  return { server, events }
}

async function loggedIn(host: Host, name: string) {
  const app = await namedApp(host, name)
  const login = await app.server.request('/login')
  const value = sessionCookie(login, name)?.value
  assert.ok(value, `a ${name} cookie`)
  return { ...app, value, id: idOf(login, name) }
}

describe('cookie names in another letter case', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when our name starts with __ (a prefix browsers match in any case)', () => {
        for (const [ours, variants] of [
          ['__Host-sid', ['__host-sid', '__HOST-SID', '__Host-SID', '__hOsT-sId']],
          ['__Secure-sid', ['__secure-sid', '__SECURE-sid']],
        ] as const) {
          it(`rejects ${variants.join(', ')} for ${ours} (rejected: prefix), even with a valid value`, async () => {
            const { server, events, value } = await loggedIn(host, ours)
            assert.equal((await server.request('/me', { cookie: `${ours}=${value}` })).body, 'ann', 'our own name works')
            for (const variant of variants) {
              const reply = await server.request('/me', { cookie: `${variant}=${value}` })
              assert.equal(reply.body, 'anonymous', variant)
              assert.deepEqual(reply.cookies, [], variant)
            }
            assert.deepEqual(
              events.rejected.map((e) => e.reason),
              variants.map(() => 'prefix'),
            )
          })
        }

        it('rejects a variant among other cookies, with blanks around its name', async () => {
          const { server, events, value } = await loggedIn(host, '__Host-sid')
          const reply = await server.request('/me', { cookie: `theme=dark;  __host-sid =${value}; lang=en` })
          assert.equal(reply.body, 'anonymous')
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['prefix'],
          )
        })

        it('rejects a variant whose value was signed for the variant name', async () => {
          const { server, events, id } = await loggedIn(host, '__Host-sid')
          const reply = await server.request('/me', { cookie: `__host-sid=${signV1(id, '__host-sid', SECRET)}` })
          assert.equal(reply.body, 'anonymous')
          assert.deepEqual(
            events.rejected.map((e) => e.reason),
            ['prefix'],
          )
        })

        it('uses our exactly named cookie when a variant comes with it', async () => {
          const { server, events, value } = await loggedIn(host, '__Host-sid')
          const reply = await server.request('/me', { cookie: `__host-sid=forged; __Host-sid=${value}` })
          assert.equal(reply.body, 'ann')
          assert.deepEqual(events.rejected, [])
        })

        it('ignores names that only contain ours, or start with it', async () => {
          const { server, events, value } = await loggedIn(host, '__Host-sid')
          for (const cookie of [`x__host-sid=${value}`, `__host-sidx=${value}`, `theme=__host-sid=${value}`]) {
            assert.equal((await server.request('/me', { cookie })).body, 'anonymous', cookie)
          }
          assert.deepEqual(events.rejected, [])
        })
      })

      describe('when our name has no __ prefix', () => {
        it('ignores a name in another case, without a rejection (it is just another cookie)', async () => {
          const { server, events, value } = await loggedIn(host, 'sid')
          const reply = await server.request('/me', { cookie: `SID=${value}` })
          assert.equal(reply.body, 'anonymous')
          assert.deepEqual(events.rejected, [])
        })
      })
    })
  }
})
