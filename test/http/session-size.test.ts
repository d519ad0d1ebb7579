import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { SessionTooLargeError } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, serve, spyOn, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

const LIMIT = 256

async function sizeApp(host: Host) {
  const spy = spyOn()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store: spy.store, maxSessionBytes: LIMIT }))
    app.get('/small', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('small')
    })
    app.get('/big', (req: Req, res: Res) => {
      req.session.blob = 'x'.repeat(LIMIT)
      res.send('big')
    })
    app.get(
      '/save-big',
      handle(async (req, res) => {
        req.session.blob = 'x'.repeat(LIMIT)
        try {
          await req.session.save()
          res.send('saved')
        } catch (err: any) {
          delete req.session.blob
          res.send(`caught ${err.code}`)
        }
      }),
    )
  })
  return { server, spy }
}

describe('maxSessionBytes', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when a new session grows past it', () => {
        it('fails the request with ERR_TESSERA_SESSION_TOO_LARGE, writes nothing and sends no cookie', async () => {
          const { server, spy } = await sizeApp(host)
          const reply = await server.request('/big')
          assert.equal(reply.status, 500)
          assert.deepEqual(reply.cookies, [])
          assert.ok(server.errors[0] instanceof SessionTooLargeError)
          assert.equal(server.errors[0].code, 'ERR_TESSERA_SESSION_TOO_LARGE')
          assert.equal(server.errors[0].limit, LIMIT)
          assert.equal(spy.count(), 0)
        })
      })

      describe('when a stored session grows past it', () => {
        it('leaves the stored session as it was', async () => {
          const { server, spy } = await sizeApp(host)
          const small = await server.request('/small')
          spy.reset()
          const reply = await server.request('/big', { cookie: cookiePair(small) })
          assert.equal(reply.status, 500)
          assert.equal(server.errors[0]?.code, 'ERR_TESSERA_SESSION_TOO_LARGE')
          assert.equal(spy.count('update'), 0)
          assert.deepEqual({ ...(await peek(spy.store, idOf(small)))?.data }, { user: 'ann' })
        })
      })

      describe('when save() is called on a session past it', () => {
        it('rejects with ERR_TESSERA_SESSION_TOO_LARGE, which the handler can catch', async () => {
          const { server, spy } = await sizeApp(host)
          const reply = await server.request('/save-big')
          assert.equal(reply.body, 'caught ERR_TESSERA_SESSION_TOO_LARGE')
          assert.equal(spy.count(), 0)
        })
      })
    })
  }
})
