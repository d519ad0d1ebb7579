/**
 * The two-apps recipe over HTTP: /shop and /admin each have a cookie of their own name and path, so
 * neither overwrites the other, and a session of one never opens the other.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApp } from '../../../examples/recipes/two-apps/server.ts'
import { parseSetCookie } from '../../support/set-cookie.ts'
import { request } from '../../support/request.ts'
import { HOSTS, serve, type Served } from '../serve.ts'

describe('two-apps recipe', () => {
  for (const host of HOSTS) {
    describe(`on ${host.name}`, () => {
      let app: Served
      before(async () => {
        app = await serve(createApp({ express: host.express }))
      })
      after(() => app.close())

      it('gives each app its own cookie name and path, and each keeps its own session', async () => {
        const shop = parseSetCookie((await request(`${app.url}/shop/cart/apple`, { method: 'POST' })).cookies[0] as string)
        const admin = parseSetCookie((await request(`${app.url}/admin/login`, { method: 'POST' })).cookies[0] as string)
        assert.deepEqual([shop.name, shop.attributes.path], ['shop.sid', '/shop'])
        assert.deepEqual([admin.name, admin.attributes.path], ['admin.sid', '/admin'])
        // a browser sends both cookies where both paths match; here, each under its own path
        const both = `${shop.name}=${shop.value}; ${admin.name}=${admin.value}`
        assert.deepEqual(JSON.parse((await request(`${app.url}/shop`, { cookie: both })).body), { app: 'shop', cart: ['apple'], admin: null })
        assert.deepEqual(JSON.parse((await request(`${app.url}/admin`, { cookie: both })).body), { app: 'admin', admin: 'root', cart: null })
      })

      it('a shop cookie renamed to the admin name does not open an admin session (another secret)', async () => {
        const shop = parseSetCookie((await request(`${app.url}/shop/cart/pear`, { method: 'POST' })).cookies[0] as string)
        const forged = await request(`${app.url}/admin`, { cookie: `admin.sid=${shop.value}` })
        assert.deepEqual(JSON.parse(forged.body), { app: 'admin', admin: null, cart: null })
      })
    })
  }
})
