import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, idOf, peek, serve, sessionCookie, spyOn, storeKeyOf, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

type Form = 'promise' | 'callback'
const FORMS: Form[] = ['promise', 'callback']

/** Calls `method` in the given form; resolves the error the callback got (or the rejection), and what the call returned. */
function call(req: Req, method: string, form: Form): Promise<{ err: any; returned: unknown }> {
  if (form === 'promise') {
    let returned: unknown
    try {
      returned = req.session[method]()
    } catch (err) {
      return Promise.resolve({ err, returned: undefined })
    }
    return (returned as Promise<void>).then(
      () => ({ err: undefined, returned }),
      (err: unknown) => ({ err, returned }),
    )
  }
  return new Promise((resolve) => {
    const returned = req.session[method]((err: unknown) => resolve({ err, returned }))
  })
}

async function methodsApp(host: Host, form: Form) {
  const spy = spyOn()
  const server = await serve(host, (app) => {
    app.use(session({ secret: SECRET, store: spy.store }))
    app.get('/seed', (req: Req, res: Res) => {
      req.session.count = 1
      res.send('seeded')
    })
    app.get(
      '/save',
      handle(async (req, res) => {
        req.session.count = 1
        const session = req.session
        const { err, returned } = await call(req, 'save', form)
        const stored = await peek(spy.store, req.sessionID)
        req.session.after = true
        res.json({ err: err?.code ?? null, returnedSession: returned === session, storedBeforeResponse: { ...stored?.data } })
      }),
    )
    app.get('/save-unawaited', (req: Req, res: Res) => {
      req.session.count = 1
      // express-session code often does this: save, then answer without waiting for it
      if (form === 'promise') void req.session.save()
      else req.session.save(() => {})
      req.session.later = true
      res.send('sent')
    })
    app.get(
      '/save-only',
      handle(async (req, res) => {
        req.session.count = 1
        await call(req, 'save', form)
        res.send('saved')
      }),
    )
    app.get(
      '/reload',
      handle(async (req, res) => {
        req.session.count = 99
        await spy.store.update(storeKeyOf(req.sessionID), { set: { count: 2 }, unset: [], whole: { count: 2 } }, Date.now() + 60_000)
        const { err } = await call(req, 'reload', form)
        res.json({ err: err?.code ?? null, count: req.session.count })
      }),
    )
    app.get(
      '/reload-new',
      handle(async (req, res) => {
        req.session.count = 1
        const { err } = await call(req, 'reload', form)
        res.json({ err: err?.code ?? null })
      }),
    )
    app.get(
      '/destroy',
      handle(async (req, res) => {
        const { err } = await call(req, 'destroy', form)
        res.json({ err: err?.code ?? null, session: req.session })
      }),
    )
    app.get(
      '/regenerate',
      handle(async (req, res) => {
        const before = req.sessionID
        const { err } = await call(req, 'regenerate', form)
        req.session.fresh = true
        res.json({ err: err?.code ?? null, before, after: req.sessionID, count: req.session.count ?? null })
      }),
    )
  })
  return { server, spy }
}

describe('session methods', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const form of FORMS) {
        describe(`when called in the ${form} form`, () => {
          it('save() writes before the response, and later changes still reach the store at the end', async () => {
            const { server, spy } = await methodsApp(host, form)
            const reply = await server.request('/save')
            const body = JSON.parse(reply.body)
            assert.equal(body.err, null)
            assert.deepEqual(body.storedBeforeResponse, { count: 1 })
            if (form === 'callback') assert.equal(body.returnedSession, true, 'the callback form returns the session')
            assert.deepEqual({ ...(await peek(spy.store, idOf(reply)))?.data }, { count: 1, after: true })
            assert.equal(spy.count('create'), 1)
          })

          it('save() not waited for before the response: creates the session once, writes the later change and sends the cookie', async () => {
            const { server, spy } = await methodsApp(host, form)
            const reply = await server.request('/save-unawaited')
            assert.equal(reply.status, 200)
            assert.deepEqual(server.errors, [])
            assert.equal(spy.count('create'), 1)
            assert.deepEqual({ ...(await peek(spy.store, idOf(reply)))?.data }, { count: 1, later: true })
          })

          it('save() of a new session, with nothing changed after it: one create and no other write', async () => {
            const { server, spy } = await methodsApp(host, form)
            const reply = await server.request('/save-only')
            assert.ok(idOf(reply))
            assert.deepEqual(
              spy.calls.map((c) => c.method),
              ['create'],
            )
          })

          it('reload() replaces req.session with the stored copy', async () => {
            const { server } = await methodsApp(host, form)
            const seed = await server.request('/seed')
            const reply = await server.request('/reload', { cookie: cookiePair(seed) })
            assert.deepEqual(JSON.parse(reply.body), { err: null, count: 2 })
          })

          it('reload() of a session never saved fails with ERR_TESSERA_SESSION_GONE', async () => {
            const { server } = await methodsApp(host, form)
            const reply = await server.request('/reload-new')
            assert.deepEqual(JSON.parse(reply.body), { err: 'ERR_TESSERA_SESSION_GONE' })
          })

          it('destroy() deletes the session and clears the cookie', async () => {
            const { server, spy } = await methodsApp(host, form)
            const seed = await server.request('/seed')
            const reply = await server.request('/destroy', { cookie: cookiePair(seed) })
            assert.deepEqual(JSON.parse(reply.body), { err: null, session: null })
            assert.equal(await peek(spy.store, idOf(seed)), null)
            assert.equal(sessionCookie(reply)?.attributes['max-age'], '0')
          })

          it('regenerate() gives a new, empty session under a new id', async () => {
            const { server, spy } = await methodsApp(host, form)
            const seed = await server.request('/seed')
            const reply = await server.request('/regenerate', { cookie: cookiePair(seed) })
            const body = JSON.parse(reply.body)
            assert.equal(body.err, null)
            assert.equal(body.before, idOf(seed))
            assert.notEqual(body.after, body.before)
            assert.equal(body.count, null)
            assert.equal(idOf(reply), body.after)
            assert.equal(await peek(spy.store, body.before), null)
            assert.deepEqual({ ...(await peek(spy.store, body.after))?.data }, { fresh: true })
          })
        })
      }

      it('req.session.id is the session id, read-only, and neither an own key nor serialized; a stored "id" key does not shadow it', async () => {
        const spy = spyOn()
        const server = await serve(host, (app) => {
          app.use(session({ secret: SECRET, store: spy.store }))
          app.get('/seed', (req: Req, res: Res) => {
            req.session.user = 'ann'
            res.send('seeded')
          })
          app.get('/id', (req: Req, res: Res) => {
            let assignment = 'allowed'
            try {
              ;(req.session as { id: string }).id = 'forged'
            } catch (err) {
              assignment = (err as Error).name
            }
            res.json({ same: req.session.id === req.sessionID, keys: Object.keys(req.session), json: JSON.parse(JSON.stringify(req.session)), assignment })
          })
        })
        const seed = await server.request('/seed')
        assert.equal(await spy.store.update(storeKeyOf(idOf(seed)), { set: { id: 'stored' }, unset: [], whole: { user: 'ann', id: 'stored' } }, Date.now() + 60_000), 'ok')
        const body = JSON.parse((await server.request('/id', { cookie: cookiePair(seed) })).body)
        assert.equal(body.same, true)
        assert.deepEqual(body.keys.sort(), ['cookie', 'user'])
        assert.equal(body.json.id, undefined)
        assert.equal(body.json.user, 'ann')
        assert.equal(body.assignment, 'TypeError')
      })
    })
  }
})
