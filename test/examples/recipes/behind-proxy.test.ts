/**
 * The behind-proxy recipe over HTTP: with `trust proxy` set to the proxy, a request the proxy
 * forwards with `X-Forwarded-Proto: https` gets its `Secure` `__Host-` cookie and the session
 * sticks; without it, the cookie goes out on a request Express believes is plain HTTP, and the
 * TESSERA_SECURE_OVER_HTTP diagnostic names the fix.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../../examples/recipes/behind-proxy/server.ts'
import type { Diagnostic } from '../../../src/index.ts'
import { parseSetCookie } from '../../support/set-cookie.ts'
import { request } from '../../support/request.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

const FORWARDED = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }

describe('behind-proxy recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ express: host.express }))
      })
      after(() => app.close())

      it('trusts the proxy on this host: https, the client address, a Secure __Host- cookie that sticks', async () => {
        const first = await request(`${app.url}/`, { headers: FORWARDED })
        assert.equal(first.body, 'visit 1, over https (req.secure: true), from 203.0.113.7')
        const cookie = parseSetCookie(first.cookies[0] as string)
        assert.equal(cookie.name, '__Host-sid')
        assert.equal(cookie.attributes.secure, true)
        assert.equal(cookie.attributes.path, '/')
        const second = await request(`${app.url}/`, { headers: FORWARDED, cookie: `${cookie.name}=${cookie.value}` })
        assert.match(second.body, /^visit 2,/)
      })
    })
  }

  it('without trust proxy, the same request raises TESSERA_SECURE_OVER_HTTP with the trust proxy fix', async () => {
    const diagnostics: Diagnostic[] = []
    const app = await serve(createApp({ trustProxy: false, onDiagnostic: (diagnostic) => diagnostics.push(diagnostic) }))
    try {
      const reply = await request(`${app.url}/`, { headers: FORWARDED })
      assert.match(reply.body, /over http \(req.secure: false\), from 127\.0\.0\.1$/)
      assert.deepEqual(
        diagnostics.map((d) => [d.code, d.details]),
        [['TESSERA_SECURE_OVER_HTTP', { forwardedProto: 'https', proxy: undefined }]],
      )
      assert.match(diagnostics[0]?.fix ?? '', /app\.set\('trust proxy', 1\)/)
    } finally {
      await app.close()
    }
  })
})
