import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { relationOf, siteOf, type RequestHeaders } from '../../src/engine/site.ts'

describe('siteOf', () => {
  const rows: Array<[string, string]> = [
    ['api.example.com', 'example.com'],
    ['example.com', 'example.com'],
    ['a.b.example.com', 'example.com'],
    ['shop.example.co.uk', 'example.co.uk'],
    ['localhost', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '[::1]'],
    ['API.Example.COM', 'example.com'],
  ]
  for (const [hostname, site] of rows) it(`${hostname} → ${site}`, () => assert.equal(siteOf(hostname), site))
})

describe('relationOf', () => {
  const base: RequestHeaders = { origin: undefined, secFetchSite: undefined, hosts: ['api.example.com'] }
  const rows: Array<[string, Partial<RequestHeaders>, ReturnType<typeof relationOf>]> = [
    ['no Origin', {}, undefined],
    ['an Origin that is not a URL', { origin: 'not a url' }, undefined],
    ['the same origin', { origin: 'https://api.example.com' }, undefined],
    ['the same origin, with its default port spelt out in Host', { origin: 'https://api.example.com', hosts: ['api.example.com:443'] }, undefined],
    ['another origin of the same site', { origin: 'https://app.example.com' }, { origin: 'https://app.example.com', relation: 'same-site' }],
    ['another port of the same host', { origin: 'http://api.example.com:8080' }, { origin: 'http://api.example.com:8080', relation: 'same-site' }],
    ['another site', { origin: 'https://front.example.net' }, { origin: 'https://front.example.net', relation: 'cross-site' }],
    ['an opaque origin', { origin: 'null' }, { origin: 'null', relation: 'cross-site' }],
    ['the proxy rewrote Host, X-Forwarded-Host is ours', { origin: 'https://www.example.org', hosts: ['127.0.0.1:3000', 'www.example.org'] }, undefined],
    ['Sec-Fetch-Site: same-origin wins over the hosts', { origin: 'https://front.example.net', secFetchSite: 'same-origin' }, undefined],
    ['Sec-Fetch-Site: none (typed in the address bar)', { origin: 'https://front.example.net', secFetchSite: 'none' }, undefined],
    ['Sec-Fetch-Site: cross-site wins over the hosts', { origin: 'https://app.example.com', secFetchSite: 'cross-site' }, { origin: 'https://app.example.com', relation: 'cross-site' }],
    ['the origin is serialized by the URL parser', { origin: 'HTTPS://Front.Example.NET:443' }, { origin: 'https://front.example.net', relation: 'cross-site' }],
    ['no usable Host', { origin: 'https://front.example.net', hosts: [] }, undefined],
  ]
  for (const [name, headers, expected] of rows) it(name, () => assert.deepEqual(relationOf({ ...base, ...headers }), expected))
})
