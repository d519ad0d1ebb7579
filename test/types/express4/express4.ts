/**
 * Compile-only check (`npm run typecheck` runs it with its own tsconfig, which resolves `express` to
 * the Express 4 type package): the main entry types `req.session` on Express 4's Request too, and its
 * handler is an Express 4 middleware.
 */
import type { Request, RequestHandler } from 'express'
import { expectTypeOf } from 'expect-type'
import session from '../../../src/index.ts'

declare module '../../../src/index.ts' {
  interface SessionData {
    visits: number
  }
}

export function checks(req: Request): void {
  // these are Express 4's types (req.param was removed from Express 5's)
  expectTypeOf<Request>().toHaveProperty('param')
  expectTypeOf(req.session.visits).toEqualTypeOf<number | undefined>()
  expectTypeOf(req.session.save()).toEqualTypeOf<Promise<void>>()
  // @ts-expect-error visits is a number
  req.session.visits = 'many'
  expectTypeOf(session({ secret: 'x' })).toExtend<RequestHandler>()
}
