/**
 * The Cookie class (spec §11), after express-session's test/cookie.js.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { IMPLEMENTATIONS } from './helpers.ts'

/** Asserts `actual` is within `slack` ms below `expected` (time passes between the two readings). */
function near(actual: number, expected: number, slack = 50): void {
  assert.ok(actual <= expected && actual >= expected - slack, `${actual} is not within ${slack} ms below ${expected}`)
}

for (const [impl, session] of IMPLEMENTATIONS) {
  const Cookie = session.Cookie

  describe(impl, () => {
    describe('new Cookie()', () => {
      describe('when given no options', () => {
        it('defaults path to "/", httpOnly to true, maxAge, expires and originalMaxAge to null', () => {
          const cookie = new Cookie()
          assert.equal(cookie.path, '/')
          assert.equal(cookie.httpOnly, true)
          assert.equal(cookie.maxAge, null)
          assert.equal(cookie.expires, null)
          assert.equal(cookie.originalMaxAge, null)
          assert.equal(cookie.secure, undefined)
          assert.equal(cookie.sameSite, undefined)
          assert.equal(cookie.domain, undefined)
          assert.equal(cookie.partitioned, undefined)
          assert.equal(cookie.priority, undefined)
        })

        it('has the own keys path, _expires, originalMaxAge, httpOnly in that order', () => {
          assert.deepEqual(Object.keys(new Cookie()), ['path', '_expires', 'originalMaxAge', 'httpOnly'])
        })

        it('serializes to JSON with a null expires and without undefined keys', () => {
          assert.equal(JSON.stringify(new Cookie()), '{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}')
        })

        it('accepts falsy options as no options', () => {
          for (const value of [undefined, null, 0, '', false]) {
            const cookie = new Cookie(value)
            assert.equal(cookie.path, '/')
          }
        })
      })

      describe('when given a non-object', () => {
        it('throws TypeError "argument options must be a object"', () => {
          for (const value of [42, 'str', true, () => {}]) {
            assert.throws(() => new Cookie(value), { name: 'TypeError', message: 'argument options must be a object' })
          }
        })
      })

      describe('when given options', () => {
        it('copies each option onto the cookie', () => {
          const cookie = new Cookie({ path: '/foo', httpOnly: false, secure: true, domain: 'example.com', sameSite: 'lax', partitioned: true, priority: 'high' })
          assert.equal(cookie.path, '/foo')
          assert.equal(cookie.httpOnly, false)
          assert.equal(cookie.secure, true)
          assert.equal(cookie.domain, 'example.com')
          assert.equal(cookie.sameSite, 'lax')
          assert.equal(cookie.partitioned, true)
          assert.equal(cookie.priority, 'high')
        })

        it('ignores the "data" option', () => {
          const cookie = new Cookie({ data: { path: '/nope', foo: 'bar' }, path: '/foo' })
          assert.equal(cookie.path, '/foo')
          assert.equal(cookie.data.path, '/foo')
          assert.equal(cookie.data.foo, undefined)
        })

        it('copies unknown keys (signed, encode) onto the cookie but never into data or the header', () => {
          const encode = (v: string) => v.toUpperCase()
          const cookie = new Cookie({ signed: true, encode, foo: 'bar' })
          assert.equal(cookie.signed, true)
          assert.equal(cookie.encode, encode)
          assert.equal(cookie.foo, 'bar')
          assert.equal('signed' in cookie.data, false)
          assert.equal('encode' in cookie.data, false)
          assert.equal(cookie.serialize('name', 'value'), 'name=value; Path=/; HttpOnly')
        })
      })
    })

    describe('expires', () => {
      describe('when set to a Date', () => {
        it('sets expires, maxAge (time remaining) and originalMaxAge', () => {
          const expires = new Date(Date.now() + 60_000)
          const cookie = new Cookie({ expires })
          assert.equal(cookie.expires, expires)
          near(cookie.maxAge, 60_000)
          near(cookie.originalMaxAge, 60_000)
        })

        it('recomputes originalMaxAge each time it is set', () => {
          const cookie = new Cookie({ maxAge: 60_000 })
          cookie.expires = new Date(Date.now() + 5_000)
          near(cookie.originalMaxAge, 5_000)
          cookie.expires = null
          assert.equal(cookie.originalMaxAge, null)
          assert.equal(cookie.maxAge, null)
        })
      })

      describe('when set to a string', () => {
        it('returns the string as maxAge and originalMaxAge', () => {
          const cookie = new Cookie()
          cookie.expires = 'Thu, 01 Jan 2099 00:00:00 GMT'
          assert.equal(cookie.maxAge, 'Thu, 01 Jan 2099 00:00:00 GMT')
          assert.equal(cookie.originalMaxAge, 'Thu, 01 Jan 2099 00:00:00 GMT')
        })
      })
    })

    describe('maxAge', () => {
      describe('when set to a number', () => {
        it('sets expires to now + maxAge and reads back the time remaining', () => {
          const before = Date.now()
          const cookie = new Cookie({ maxAge: 60_000 })
          const after = Date.now()
          assert.ok(cookie.expires instanceof Date)
          assert.ok(cookie.expires.getTime() >= before + 60_000 && cookie.expires.getTime() <= after + 60_000)
          near(cookie.maxAge, 60_000)
          near(cookie.originalMaxAge, 60_000)
        })

        it('gives an already-expired cookie for 0', () => {
          const cookie = new Cookie({ maxAge: 0 })
          assert.ok(cookie.expires instanceof Date)
          assert.ok(cookie.maxAge <= 0)
          assert.ok(cookie.originalMaxAge <= 0)
        })

        it('counts down as time passes', async () => {
          const cookie = new Cookie({ maxAge: 1_000 })
          const first = cookie.maxAge
          await new Promise((resolve) => setTimeout(resolve, 15))
          assert.ok(cookie.maxAge < first)
        })
      })

      describe('when set to a Date', () => {
        it('accepts it (deprecated) as the expiry', () => {
          const date = new Date(Date.now() + 30_000)
          const cookie = new Cookie({ maxAge: date })
          assert.equal(cookie.expires, date)
          near(cookie.maxAge, 30_000)
        })
      })

      describe('when set to null', () => {
        it('makes a browser-session cookie', () => {
          const cookie = new Cookie({ maxAge: 60_000 })
          cookie.maxAge = null
          assert.equal(cookie.expires, null)
          assert.equal(cookie.maxAge, null)
        })
      })

      describe('when set to an invalid type', () => {
        it('throws a TypeError matching /maxAge/', () => {
          for (const value of ['42', true, () => 42, {}, []]) {
            assert.throws(() => new Cookie({ maxAge: value }), (err: Error) => err instanceof TypeError && /maxAge/.test(err.message), String(value))
          }
          const cookie = new Cookie()
          assert.throws(() => {
            cookie.maxAge = '1000'
          }, /maxAge/)
        })
      })
    })

    describe('originalMaxAge', () => {
      describe('when given with maxAge', () => {
        it('is overwritten by a later maxAge, kept when it comes after', () => {
          const first = new Cookie({ originalMaxAge: 5_000, maxAge: 1_000 })
          near(first.originalMaxAge, 1_000)
          const second = new Cookie({ maxAge: 1_000, originalMaxAge: 5_000 })
          assert.equal(second.originalMaxAge, 5_000)
          near(second.maxAge, 1_000)
        })
      })
    })

    describe('expires and maxAge together', () => {
      describe('when maxAge comes last', () => {
        it('uses maxAge', () => {
          const cookie = new Cookie({ expires: new Date(Date.now() + 600_000), maxAge: 1_000 })
          near(cookie.maxAge, 1_000)
          near(cookie.originalMaxAge, 1_000)
        })
      })

      describe('when expires comes last', () => {
        it('uses expires', () => {
          const expires = new Date(Date.now() + 600_000)
          const cookie = new Cookie({ maxAge: 1_000, expires })
          assert.equal(cookie.expires, expires)
          near(cookie.maxAge, 600_000)
          near(cookie.originalMaxAge, 600_000)
        })
      })
    })

    describe('data and toJSON()', () => {
      describe('when read', () => {
        it('gives exactly originalMaxAge, partitioned, priority, expires, secure, httpOnly, domain, path, sameSite', () => {
          const expires = new Date(Date.now() + 60_000)
          const cookie = new Cookie({ expires, secure: true, domain: 'example.com', sameSite: 'strict', partitioned: true, priority: 'low' })
          assert.deepEqual(Object.keys(cookie.data), ['originalMaxAge', 'partitioned', 'priority', 'expires', 'secure', 'httpOnly', 'domain', 'path', 'sameSite'])
          assert.equal(cookie.data.expires, expires)
          assert.equal(cookie.data.secure, true)
          assert.equal(cookie.data.domain, 'example.com')
          assert.equal(cookie.data.sameSite, 'strict')
          assert.equal(cookie.data.partitioned, true)
          assert.equal(cookie.data.priority, 'low')
        })

        it('returns a new object each time, detached from the cookie', () => {
          const cookie = new Cookie()
          const data = cookie.data
          assert.notEqual(cookie.data, data)
          data.path = '/changed'
          assert.equal(cookie.path, '/')
        })

        it('makes toJSON() equal to data and JSON carry expires as an ISO string', () => {
          const expires = new Date(Date.now() + 60_000)
          const cookie = new Cookie({ expires, sameSite: true })
          assert.deepEqual(cookie.toJSON(), cookie.data)
          const json = JSON.parse(JSON.stringify(cookie))
          assert.deepEqual(Object.keys(json), ['originalMaxAge', 'expires', 'httpOnly', 'path', 'sameSite'])
          assert.equal(json.expires, expires.toISOString())
          assert.equal(json.sameSite, true)
        })
      })
    })

    describe('serialize(name, value)', () => {
      describe('when the cookie has defaults', () => {
        it('gives "name=value; Path=/; HttpOnly"', () => {
          assert.equal(new Cookie().serialize('name', 'value'), 'name=value; Path=/; HttpOnly')
        })

        it('URI-encodes the value', () => {
          assert.equal(new Cookie().serialize('sid', 's:a+b/c='), 'sid=s%3Aa%2Bb%2Fc%3D; Path=/; HttpOnly')
        })
      })

      describe('when every attribute is set', () => {
        it('emits Domain, Path, Expires, HttpOnly, Secure, Partitioned, Priority, SameSite in that order, never Max-Age', () => {
          const expires = new Date(Date.now() + 60_000)
          const cookie = new Cookie({ maxAge: 60_000, domain: 'example.com', path: '/app', secure: true, partitioned: true, priority: 'medium', sameSite: 'none' })
          cookie.expires = expires
          assert.equal(
            cookie.serialize('sid', 'v'),
            `sid=v; Domain=example.com; Path=/app; Expires=${expires.toUTCString()}; HttpOnly; Secure; Partitioned; Priority=Medium; SameSite=None`,
          )
        })
      })

      describe('when sameSite is set', () => {
        const cases: Array<[unknown, string | undefined]> = [
          [true, 'Strict'],
          ['strict', 'Strict'],
          ['lax', 'Lax'],
          ['none', 'None'],
          ['LaX', 'Lax'],
          ['STRICT', 'Strict'],
          [false, undefined],
        ]
        for (const [value, expected] of cases) {
          it(`maps ${JSON.stringify(value)} to ${expected === undefined ? 'no attribute' : 'SameSite=' + expected}`, () => {
            const header = new Cookie({ sameSite: value }).serialize('n', 'v')
            if (expected === undefined) assert.doesNotMatch(header, /SameSite/)
            else assert.ok(header.endsWith('; SameSite=' + expected), header)
          })
        }

        it('throws "option sameSite is invalid" for any other value, including "auto"', () => {
          for (const value of ['bogus', 'auto', 1]) {
            assert.throws(() => new Cookie({ sameSite: value }).serialize('n', 'v'), { name: 'TypeError', message: 'option sameSite is invalid' })
          }
        })
      })

      describe('when priority is set', () => {
        it('maps low/medium/high case-insensitively and throws "option priority is invalid" otherwise', () => {
          assert.match(new Cookie({ priority: 'low' }).serialize('n', 'v'), /; Priority=Low$/)
          assert.match(new Cookie({ priority: 'Medium' }).serialize('n', 'v'), /; Priority=Medium$/)
          assert.match(new Cookie({ priority: 'HIGH' }).serialize('n', 'v'), /; Priority=High$/)
          assert.throws(() => new Cookie({ priority: 'urgent' }).serialize('n', 'v'), { name: 'TypeError', message: 'option priority is invalid' })
        })
      })

      describe('when a value is invalid', () => {
        it('throws the cookie package messages', () => {
          const badExpires = new Cookie()
          badExpires.expires = new Date(NaN)
          assert.throws(() => badExpires.serialize('n', 'v'), { name: 'TypeError', message: 'option expires is invalid' })
          const stringExpires = new Cookie()
          stringExpires.expires = 'tomorrow'
          assert.throws(() => stringExpires.serialize('n', 'v'), { name: 'TypeError', message: 'option expires is invalid' })
          assert.throws(() => new Cookie({ domain: 'bad domain' }).serialize('n', 'v'), { name: 'TypeError', message: 'option domain is invalid' })
          assert.throws(() => new Cookie({ path: '/a;b' }).serialize('n', 'v'), { name: 'TypeError', message: 'option path is invalid' })
          assert.throws(() => new Cookie().serialize('bad name', 'v'), { name: 'TypeError', message: 'argument name is invalid' })
        })
      })
    })

    describe('Cookie.prototype', () => {
      describe('when enumerated with for…in', () => {
        it('lists the prototype accessors and methods after the own keys', () => {
          const keys: string[] = []
          for (const key in new Cookie()) keys.push(key)
          assert.deepEqual(keys, ['path', '_expires', 'originalMaxAge', 'httpOnly', 'expires', 'maxAge', 'data', 'serialize', 'toJSON'])
        })
      })
    })
  })
}
