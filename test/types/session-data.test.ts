/**
 * Compile-time checks (tsc --noEmit runs them; node runs this file as an empty test): session data
 * is typed by declaration merging on SessionData, methods are typed in Promise and callback forms,
 * and express-session stores are accepted by both entries.
 */
import { test } from 'node:test'
import { expectTypeOf } from 'expect-type'
import type { Request, RequestHandler } from 'express'
import session, { MemoryStore, migrateStore, toCallbackStore, type DiagnosticCode, type SessionStore, type SessionHandler, type TouchResult } from '../../src/index.ts'
import compat from '../../src/compat.ts'
import { RedisStore } from 'connect-redis'
import type { createClient } from 'redis'

declare module '../../src/index.ts' {
  interface SessionData {
    userId: string
    cart: string[]
  }
}

test('types compile', () => {})

export function checks(req: Request, client: ReturnType<typeof createClient>): void {
  // declaration merging: known keys are typed (and optional), unknown keys are `unknown`
  expectTypeOf(req.session.userId).toEqualTypeOf<string | undefined>()
  expectTypeOf(req.session.cart).toEqualTypeOf<string[] | undefined>()
  // @ts-expect-error userId is a string
  req.session.userId = 42
  expectTypeOf(req.sessionID).toBeString()

  // Promise without a callback, the session with one
  expectTypeOf(req.session.save()).toEqualTypeOf<Promise<void>>()
  expectTypeOf(req.session.regenerate()).toEqualTypeOf<Promise<void>>()
  expectTypeOf(req.session.destroy((err) => void err)).not.toEqualTypeOf<Promise<void>>()
  expectTypeOf(req.session.login).parameter(0).toBeString()

  // the handler is an Express middleware with events
  const handler = session({ secret: 'x', store: new MemoryStore() })
  expectTypeOf(handler).toExtend<RequestHandler>()
  expectTypeOf(handler).toEqualTypeOf<SessionHandler>()
  handler.on('expired', (event) => {
    expectTypeOf(event.kind).toEqualTypeOf<'idle' | 'absolute'>()
  })
  // @ts-expect-error no such event
  handler.on('nope', () => {})
  // @ts-expect-error secret is required
  session({})
  // @ts-expect-error idleTimeout is milliseconds
  session({ secret: 'x', idleTimeout: '30m' })

  // describeClient: a description of the request's client, or nothing
  session({ secret: 'x', describeClient: (request) => request.headers['user-agent']?.slice(0, 40) })
  // @ts-expect-error it describes with a string
  session({ secret: 'x', describeClient: () => 42 })
  // header mode: a header name (its checks run when session() is called)
  session({ secret: 'x', header: 'X-Session-Token' })
  // @ts-expect-error a header name is a string
  session({ secret: 'x', header: true })
  // the listing's fields for a "your devices" page
  type Listed = Awaited<ReturnType<SessionHandler['listUserSessions']>>[number]
  expectTypeOf<Listed['lastSeenAt']>().toEqualTypeOf<number | undefined>()
  expectTypeOf<Listed['client']>().toEqualTypeOf<string | undefined>()
  expectTypeOf<Listed['authTime']>().toEqualTypeOf<number | undefined>()
  expectTypeOf<Listed['handle']>().toBeString()

  // a third-party express-session store is accepted by both entries
  const redis = new RedisStore({ client })
  session({ secret: 'x', store: redis })
  compat({ secret: 'x', store: redis, resave: false, saveUninitialized: false })
  expectTypeOf(new MemoryStore()).toExtend<SessionStore>()
  expectTypeOf(compat({})).toExtend<RequestHandler>()

  // touch says whether the session was there; a contract store written before it did (resolving nothing) still fits
  expectTypeOf<TouchResult>().toEqualTypeOf<'ok' | 'gone'>()
  expectTypeOf(new MemoryStore().touch('id', 0)).toEqualTypeOf<Promise<TouchResult>>()
  expectTypeOf<{ touch(id: string, expiresAt: number): Promise<void> }>().toExtend<Pick<SessionStore, 'touch'>>()

  // EventEmitter-based stores: ours, a subclass of Store, the callback face of a built-in store
  class MyStore extends compat.Store {
    override get(): void {}
    override set(): void {}
    override destroy(): void {}
  }
  compat({ store: new compat.MemoryStore() })
  compat({ store: new MyStore() })
  compat({ store: toCallbackStore(new MemoryStore()) })
  session({ secret: 'x', store: new compat.MemoryStore() })
  // @ts-expect-error a store needs get, set and destroy
  session({ secret: 'x', store: { get() {} } })

  // moving from an express-session store to a built-in one gives a store of the contract
  const moving = migrateStore({ from: redis, to: new MemoryStore() })
  expectTypeOf(moving).toEqualTypeOf<SessionStore>()
  session({ secret: 'x', store: moving })
  // @ts-expect-error both stores are required
  migrateStore({ to: new MemoryStore() })

  // a diagnostic's details are typed by its code
  handler.on('diagnostic', (diagnostic) => {
    expectTypeOf(diagnostic.code).toEqualTypeOf<DiagnosticCode>()
    if (diagnostic.code === 'TESSERA_MAXAGE_OVER_ABSOLUTE') expectTypeOf(diagnostic.details.absoluteTimeout).toBeNumber()
    if (diagnostic.code === 'TESSERA_CROSS_SITE_NO_COOKIE') expectTypeOf(diagnostic.details.reason).toEqualTypeOf<'same_site' | 'cors_credentials' | 'not_returned'>()
  })
  // @ts-expect-error an unknown option does not compile either
  session({ secret: 'x', saveUnitialized: true })
}
