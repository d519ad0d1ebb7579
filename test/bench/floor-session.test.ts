/**
 * The floor-memory reference contender does what the benchmark's routes need of a session, on a
 * real Express app: a login sets a signed cookie, the cookie brings the session back, a write
 * lasts, a forged or unknown cookie is no session, and a request that stores nothing sets no cookie.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express, { type Request } from 'express'
import { findCookie, floorSession } from '../../bench/floor-session.ts'

describe('floor-memory', () => {
  describe('findCookie', () => {
    const rows: Array<[string | undefined, string | undefined]> = [
      [undefined, undefined],
      ['', undefined],
      ['sid=abc.def', 'abc.def'],
      ['sid=abc.def; other=1', 'abc.def'],
      ['a=1; sid=abc.def', 'abc.def'],
      ['a=1; sid=abc.def; b=2', 'abc.def'],
      ['xsid=abc.def', undefined],
      ['a=1; xsid=abc', undefined],
      ['sid=', ''],
    ]
    for (const [header, expected] of rows) it(`${JSON.stringify(header)} → ${JSON.stringify(expected)}`, () => assert.equal(findCookie(header), expected))
  })

  describe('on an Express app', () => {
    let server: Server
    let base: string
    before(async () => {
      const app = express()
      app.use(floorSession('a test secret that is long enough for the floor') as unknown as express.RequestHandler)
      const session = (req: Request) => (req as unknown as { session: { user?: string; counter?: number } }).session
      app.get('/anonymous', (_req, res) => void res.send('ok'))
      app.get('/login', (req, res) => {
        session(req).user = 'ann'
        res.send('ok')
      })
      app.get('/write', (req, res) => {
        const s = session(req)
        if (s.user === undefined) return void res.status(404).send('no session')
        s.counter = (s.counter ?? 0) + 1
        res.send(String(s.counter))
      })
      server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    after(() => server.close())

    it('sets no cookie when the route stores nothing', async () => {
      const res = await fetch(`${base}/anonymous`)
      assert.equal(res.headers.get('set-cookie'), null)
    })

    it('creates a session at login, brings it back by its cookie, and keeps a write', async () => {
      const login = await fetch(`${base}/login`)
      const cookie = login.headers.get('set-cookie')?.split(';', 1)[0] ?? ''
      assert.match(cookie, /^sid=[\w-]{43}\.[\w-]{43}$/)
      assert.equal(await (await fetch(`${base}/write`, { headers: { cookie } })).text(), '1')
      const second = await fetch(`${base}/write`, { headers: { cookie: `other=x; ${cookie}` } })
      assert.equal(await second.text(), '2')
      assert.equal(second.headers.get('set-cookie'), null)
    })

    it('treats a cookie with a wrong signature as no session', async () => {
      const login = await fetch(`${base}/login`)
      const cookie = login.headers.get('set-cookie')?.split(';', 1)[0] ?? ''
      const forged = `${cookie.slice(0, -2)}${cookie.endsWith('AA') ? 'BB' : 'AA'}`
      assert.equal((await fetch(`${base}/write`, { headers: { cookie: forged } })).status, 404)
      assert.equal((await fetch(`${base}/write`, { headers: { cookie: 'sid=nodot' } })).status, 404)
    })
  })
})
