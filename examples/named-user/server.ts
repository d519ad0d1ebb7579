/**
 * Remembers a name per browser: `/user/Alice` stores it, `/user` greets it, `/logout` forgets it.
 *
 * Run: `npm run example -- named-user` (add `--compat` for the express-session API), then open
 * http://127.0.0.1:3000/user/Alice and http://127.0.0.1:3000/user.
 */
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from '../../src/index.ts'
import compatSession from '../../src/compat.ts'
import { isMain, sessionSecret, type ExampleOptions } from '../setup.ts'
export type { ExampleOptions }

declare module '../../src/index.ts' {
  interface SessionData {
    user: string
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** The name comes from the URL: escaped, it cannot become markup (or script) in the page. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string)
}

/** Main entry: `destroy()` returns a Promise (Express 4 would not catch its rejection, hence the try). */
async function logOut(req: Request, res: Response, next: NextFunction): Promise<void> {
  try {
    await req.session.destroy()
    res.redirect('/user')
  } catch (err) {
    next(err)
  }
}

/** Compat entry: the callback form, as express-session apps write it. */
function logOutWithCallback(req: Request, res: Response, next: NextFunction): void {
  req.session.destroy((err) => {
    if (err) return next(err)
    res.redirect('/user')
  })
}

/** The example's Express app; `listen` is left to the caller. */
export function createApp(options: ExampleOptions = {}): express.Express {
  const app = (options.express ?? express)()
  const secret = sessionSecret()
  const compat = options.compat === true
  // compat: express-session apps must pass resave and saveUninitialized (the main entry defaults both to false)
  app.use(compat ? compatSession({ secret, resave: false, saveUninitialized: false }) : session({ secret }))

  app.get('/user/:user', (req, res) => {
    req.session.user = req.params.user
    res.send(`Hello, ${escapeHtml(req.params.user)}!`)
  })
  app.get('/user', (req, res) => {
    const user = req.session.user
    if (user) res.send(`Welcome back, ${escapeHtml(user)}! <a href="/logout">Log out</a>`)
    else res.send('user logged out!')
  })
  app.get('/logout', compat ? logOutWithCallback : logOut)
  return app
}

if (isMain(import.meta.url)) {
  const compat = process.argv.includes('--compat')
  const server = createApp({ compat }).listen(Number(process.env.PORT || 3000), '127.0.0.1', (error) => {
    if (error) throw error
    const { port } = server.address() as AddressInfo
    console.log(`named-user example (${compat ? 'compat' : 'main'} entry) listening on http://127.0.0.1:${port}`)
  })
}
