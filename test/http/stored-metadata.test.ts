import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DatabaseSync } from 'node:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import session from '../../src/index.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import { HOSTS, SECRET, cleanup, cookiePair, idOf, recordEvents, serve, storeKeyOf, track, type Req, type Res } from './helpers.ts'

afterEach(cleanup)
const dir = mkdtempSync(join(tmpdir(), 'tessera-meta-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('stored metadata the engine cannot judge a session by', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      for (const [what, json] of [
        ['{}', '{}'],
        ['without absoluteExpiresAt', JSON.stringify({ createdAt: Date.now(), idleTimeout: 1_800_000 })],
      ] as const) {
        it(`${what}: no session, malformed_data raised, and revokedBefore is not skipped`, async () => {
          const path = join(dir, `${host.name}-${what.length}.db`)
          const store = track(new SqliteStore({ path, pruneInterval: false }))
          let epoch = 0
          const middleware = session({ secret: SECRET, store, revokedBefore: () => epoch })
          const events = recordEvents(middleware, ['malformed_data'])
          const server = await serve(host, (app) => {
            app.use(middleware)
            app.get('/login', (req: Req, res: Res) => {
              req.session.user = 'ann'
              res.send('in')
            })
            app.get('/me', (req: Req, res: Res) => res.send(String(req.session.user)))
          })
          const login = await server.request('/login')
          assert.equal((await server.request('/me', { cookie: cookiePair(login) })).body, 'ann')
          const db = new DatabaseSync(path)
          db.prepare('UPDATE sessions SET meta = ? WHERE id = ?').run(json, storeKeyOf(idOf(login)))
          db.close()
          epoch = Date.now() + 1
          assert.equal((await server.request('/me', { cookie: cookiePair(login) })).body, 'undefined')
          assert.equal(events.malformed_data.length, 1)
          assert.equal(events.malformed_data[0].error.code, 'ERR_TESSERA_SESSION_DATA')
        })
      }
    })
  }
})
