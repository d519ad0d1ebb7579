/**
 * A visit counter per browser: express-session's classic first example, on tessera-session.
 *
 * Run: `npm run example -- views` (add `--compat` for the express-session API), then open
 * http://127.0.0.1:3000 and reload.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import session from '../../src/index.ts'
import compatSession from '../../src/compat.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../setup.ts'
export type { ExampleOptions }

declare module '../../src/index.ts' {
  interface SessionData {
    views: number
  }
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  const secret = sessionSecret()
  // compat: express-session apps must pass resave and saveUninitialized (the main entry defaults both to false)
  app.use(options.compat ? compatSession({ secret, resave: false, saveUninitialized: false }) : session({ secret }))

  app.get('/', (req, res) => {
    if (req.session.views) {
      req.session.views++
      res.send(`Number of views: ${req.session.views}`)
    } else {
      // the first change to the session stores it and sends the cookie
      req.session.views = 1
      res.send('Welcome! This is your first visit.')
    }
  })
  return app
}

if (isMain(import.meta.url)) {
  const compat = process.argv.includes('--compat')
  const server = createApp({ compat }).listen(Number(process.env.PORT || 3000), '127.0.0.1', (error) => {
    if (error) throw error
    const { port } = server.address() as AddressInfo
    console.log(`views example (${compat ? 'compat' : 'main'} entry) listening on http://127.0.0.1:${port}`)
  })
}
