/**
 * A login overtaken by a revocation of its user: the store's create answers 'revoked' (Redis Cluster can,
 * test/stores/redis-cluster.test.ts shows when). A small fault store answers it here.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import type { CreateResult, NewSession } from '../../src/stores/contract.ts'
import { MemoryStore } from '../../src/stores/memory.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, recordEvents, serve, sessionCookie, track, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

/** A store whose creates for `revokedUser` answer 'revoked', writing nothing, as a revocation's tombstone makes them. */
class RevokingStore extends MemoryStore {
  revokedUser: string | undefined
  override async create(id: string, session: NewSession): Promise<CreateResult> {
    if (session.userId !== null && session.userId === this.revokedUser) return 'revoked'
    return super.create(id, session)
  }
}

describe('a login a revocation of its user overtook', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('is revoked with the user\'s other sessions: no error, no cookie for it, a destroyed event with reason revoked', async () => {
        const store = track(new RevokingStore())
        const middleware = session({ secret: SECRET, store })
        const events = recordEvents(middleware, ['destroyed', 'created'])
        const errors: unknown[] = []
        const server = await serve(host, (app) => {
          app.use(middleware)
          app.get('/seed', (req: Req, res: Res) => {
            req.session.cart = ['apple']
            res.send('seeded')
          })
          app.get(
            '/login',
            handle(async (req, res) => {
              await req.session.login('ann')
              if (req.query.save) await req.session.save()
              res.send('in')
            }),
          )
          app.get('/me', (req: Req, res: Res) => res.send(String(req.session.userId ?? req.session.cart ?? 'nobody')))
          app.use((err: unknown, _req: Req, res: Res, _next: unknown) => {
            errors.push(err)
            res.status(500).send('error')
          })
        })
        const seeded = await server.request('/seed')
        store.revokedUser = 'ann'
        for (const path of ['/login', '/login?save=1']) {
          const reply = await server.request(path, { cookie: cookiePair(seeded) })
          assert.equal(reply.status, 200, path)
          assert.equal(reply.body, 'in')
          // no cookie names an id that does not exist
          assert.equal(sessionCookie(reply), undefined, path)
        }
        assert.deepEqual(errors, [])
        assert.deepEqual(events.destroyed.map((e) => e.reason), ['revoked', 'revoked'])
        // the session the login replaced went too: the old cookie leads nowhere
        assert.equal((await server.request('/me', { cookie: cookiePair(seeded) })).body, 'nobody')
        // a login after the revocation is an ordinary one
        store.revokedUser = undefined
        const after = await server.request('/login')
        assert.ok(sessionCookie(after))
      })
    })
  }
})
