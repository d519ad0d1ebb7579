/**
 * Every built-in store also works under express-session itself, through the one adapter that gives
 * it express-session's callback face (`toCallbackStore`), and under the compat entry the same way.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import compat from '../../src/compat.ts'
import { toCallbackStore } from '../../src/stores/legacy.ts'
import { MemoryStore } from '../../src/stores/memory.ts'
import { SqliteStore } from '../../src/stores/sqlite.ts'
import type { SessionStore } from '../../src/stores/contract.ts'
import { listen } from '../support/http.ts'

const require = createRequire(import.meta.url)
const expressSession = require('express-session') as typeof compat
const dir = mkdtempSync(join(tmpdir(), 'tessera-under-es-'))
after(() => rmSync(dir, { recursive: true, force: true }))

export const builtInStores: Array<[string, () => SessionStore]> = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore({ path: join(dir, `s-${Math.random().toString(36).slice(2)}.db`), pruneInterval: false })],
]

const factories: Array<[string, typeof compat]> = [
  ['express-session', expressSession],
  ['the compat entry', compat],
]

for (const [storeName, makeStore] of builtInStores) {
  for (const [label, factory] of factories) {
    describe(`${storeName} store under ${label}`, () => {
      it('keeps a session through login, read, modify and logout', async () => {
        const store = makeStore()
        const app = express()
        app.use(factory({ secret: 'keyboard cat', store: toCallbackStore(store), resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }))
        app.get('/login', (req: any, res) => {
          req.session.regenerate((err: unknown) => {
            if (err) return res.status(500).end()
            req.session.user = 'ann'
            res.send('in')
          })
        })
        app.get('/me', (req: any, res) => res.json({ user: req.session.user ?? null, n: req.session.n ?? 0 }))
        app.get('/inc', (req: any, res) => {
          req.session.n = (req.session.n ?? 0) + 1
          res.send(String(req.session.n))
        })
        app.get('/logout', (req: any, res) => req.session.destroy(() => res.send('out')))
        const client = await listen(app)
        try {
          assert.equal((await client.get('/login')).text, 'in')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', n: 0 })
          assert.equal((await client.get('/inc')).text, '1')
          assert.equal((await client.get('/inc')).text, '2')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: 'ann', n: 2 })
          assert.equal((await client.get('/logout')).text, 'out')
          assert.deepEqual(JSON.parse((await client.get('/me')).text), { user: null, n: 0 })
        } finally {
          await client.close()
          await store.close?.()
        }
      })
    })
  }
}
