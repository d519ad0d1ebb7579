/**
 * Unknown options: express-session ignores them, and so does the compat entry (same behaviour over
 * HTTP); in development the compat entry also says so, once per process. Checked in fresh processes.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { EXPRESS_SESSION, HOSTS, IMPLEMENTATIONS, TESSERA, closeServers, runChild, serve, withDefaults, type Req, type Res } from './helpers.ts'

afterEach(closeServers)

const TWO_CALLS = `
session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, saveUnitialized: true, cookie: { secrue: true } })
session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, header: 'X-Token' })
`

describe('unknown options', () => {
  for (const [impl, session] of IMPLEMENTATIONS) {
    describe(impl, () => {
      for (const host of HOSTS) {
        it(`are ignored on ${host.name}: a misspelt saveUninitialized leaves the default`, async (t) => {
          // the notice is checked in a fresh process below; here it would only add to the output
          t.mock.method(process, 'emitWarning', () => {})
          const middleware = session(withDefaults({ saveUninitialized: false, saveUnitialized: true, cookie: { secrue: true } }))
          const server = await serve(host, middleware, (_req: Req, res: Res) => res.end('ok'))
          const reply = await server.request('/')
          assert.equal(reply.body, 'ok')
          assert.deepEqual(reply.cookies, [])
        })
      }
    })
  }

  it('express-session prints nothing about them', () => {
    const { stderr, status } = runChild(EXPRESS_SESSION, TWO_CALLS)
    assert.equal(status, 0)
    assert.equal(stderr, '')
  })

  it('the compat entry prints one notice per process in development, naming them with the closest known names', () => {
    const { stderr, status } = runChild(TESSERA, TWO_CALLS)
    assert.equal(status, 0)
    assert.equal(stderr.split('[TESSERA_COMPAT_UNKNOWN_OPTION]').length - 1, 1, stderr)
    assert.match(stderr, /`saveUnitialized` \(did you mean `saveUninitialized`\?\), `cookie\.secrue` \(did you mean `cookie\.secure`\?\)/)
    assert.doesNotMatch(stderr, /header/)
  })

  it('the compat entry prints nothing in production', () => {
    const { stderr, status } = runChild(TESSERA, TWO_CALLS, { NODE_ENV: 'production' })
    assert.equal(status, 0)
    assert.doesNotMatch(stderr, /TESSERA_COMPAT_UNKNOWN_OPTION/)
  })
})
