import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import session, { InvalidOptionError, type SessionOptions } from '../../src/index.ts'
import { HOSTS, SECRET, cleanup, cookiePair, handle, memoryStore, serve, sessionCookie, type Host, type Req, type Res } from './helpers.ts'

afterEach(cleanup)

async function siteDataApp(host: Host, clearSiteData: SessionOptions['clearSiteData']) {
  const middleware = session({ secret: SECRET, store: memoryStore(), clearSiteData })
  const server = await serve(host, (app) => {
    app.use(middleware)
    app.get('/login', (req: Req, res: Res) => {
      req.session.user = 'ann'
      res.send('in')
    })
    app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user ?? 'anonymous')))
    app.get(
      '/logout',
      handle(async (req, res) => {
        if (req.query.own) res.setHeader('Clear-Site-Data', '"cookies"')
        await req.session.destroy()
        res.send('out')
      }),
    )
    app.get(
      '/signin',
      handle(async (req, res) => {
        await req.session.login('u1')
        res.send('signed in')
      }),
    )
    app.get(
      '/regenerate',
      handle(async (req, res) => {
        await req.session.regenerate()
        req.session.fresh = true
        res.send('regenerated')
      }),
    )
  })
  return server
}

describe('clearSiteData', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      describe('when it is off (the default)', () => {
        it('destroy() clears the cookie and sends no Clear-Site-Data', async () => {
          const server = await siteDataApp(host, undefined)
          const login = await server.request('/login')
          const logout = await server.request('/logout', { cookie: cookiePair(login) })
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
          assert.equal(logout.headers['clear-site-data'], undefined)
        })
      })

      describe('when it is true', () => {
        it('the response of destroy() carries Clear-Site-Data: "cache", "cookies", "storage", beside the clearing cookie', async () => {
          const server = await siteDataApp(host, true)
          const login = await server.request('/login')
          assert.equal(login.headers['clear-site-data'], undefined, 'not on a login response')
          const cookie = cookiePair(login)
          assert.equal((await server.request('/me', { cookie })).headers['clear-site-data'], undefined, 'not on an ordinary response')
          const logout = await server.request('/logout', { cookie })
          assert.equal(logout.body, 'out')
          assert.equal(logout.headers['clear-site-data'], '"cache", "cookies", "storage"')
          assert.equal(sessionCookie(logout)?.attributes['max-age'], '0')
          assert.equal((await server.request('/me', { cookie })).body, 'anonymous')
        })

        it('keeps a Clear-Site-Data header the app set itself', async () => {
          const server = await siteDataApp(host, true)
          const login = await server.request('/login')
          const logout = await server.request('/logout?own=1', { cookie: cookiePair(login) })
          assert.equal(logout.headers['clear-site-data'], '"cookies"')
        })

        it('is not sent when login() or regenerate() replace the session (the user is not leaving)', async () => {
          const server = await siteDataApp(host, true)
          const cookie = cookiePair(await server.request('/login'))
          const signin = await server.request('/signin', { cookie })
          assert.ok(sessionCookie(signin)?.value, 'a new session cookie')
          assert.equal(signin.headers['clear-site-data'], undefined)
          const regenerated = await server.request('/regenerate', { cookie: cookiePair(signin) })
          assert.ok(sessionCookie(regenerated)?.value, 'a new session cookie')
          assert.equal(regenerated.headers['clear-site-data'], undefined)
        })
      })

      describe('when it is a list of directives', () => {
        it('sends those, quoted, in order', async () => {
          const server = await siteDataApp(host, ['cookies', 'executionContexts'])
          const login = await server.request('/login')
          const logout = await server.request('/logout', { cookie: cookiePair(login) })
          assert.equal(logout.headers['clear-site-data'], '"cookies", "executionContexts"')
        })
      })

      describe('when it is invalid', () => {
        it('throws ERR_TESSERA_INVALID_OPTION at construction', () => {
          for (const clearSiteData of [[], ['cookies', 'everything'], 'cookies', ['"cookies"'], 1]) {
            assert.throws(
              () => session({ secret: SECRET, clearSiteData: clearSiteData as any }),
              (err: any) => err instanceof InvalidOptionError && err.option === 'clearSiteData',
              JSON.stringify(clearSiteData),
            )
          }
        })
      })
    })
  }
})
