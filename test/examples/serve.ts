import http, { type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import express from 'express'
import { Browser } from './browser.ts'

/** Express 4, from the `express4` alias (it ships no types; its API is the part Express 5 kept). */
export const express4 = createRequire(import.meta.url)('express4') as typeof express

/** The hosts every example runs on; views and login run on both. */
export const HOSTS: ReadonlyArray<{ name: string; express: typeof express }> = [
  { name: 'express 5', express },
  { name: 'express 4', express: express4 },
]

/** The two entries: `import session from 'tessera-session'` and `'tessera-session/compat'`. */
export const ENTRIES: ReadonlyArray<{ name: string; compat: boolean }> = [
  { name: 'main entry', compat: false },
  { name: 'compat entry', compat: true },
]

export interface Served {
  url: string
  /** A new browser with an empty cookie jar. */
  browser(): Browser
  close(): Promise<void>
}

/** Listens on a free port of 127.0.0.1. */
export async function serve(app: RequestListener): Promise<Served> {
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    browser: () => new Browser(url),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
