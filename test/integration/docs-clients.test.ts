/**
 * The client setups the docs show keep an app alive when the server drops its connection. The first
 * code block of docs/stores/redis.md and of docs/stores/postgres.md runs, as written, in an app
 * process of its own; the test then has the server kill that app's connection (`CLIENT KILL` for
 * Redis, `pg_terminate_backend` for PostgreSQL), checks that the process is still up, and that it
 * serves the session again once the client has reconnected. And every client that README.md,
 * docs/ and examples/ create gets an `'error'` listener in the same code block.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { createClient } from 'redis'
import pg from 'pg'
import { CookieJar } from '../support/http.ts'
import { PG_URL, REDIS_URL, postgresSkip, redisSkip, uniqueName } from '../support/services.ts'

const ROOT = join(import.meta.dirname, '../..')
const SECRET = 'a test secret that is long enough to pass the policy'

/** The code blocks (```js / ```ts) of a Markdown file, in order. */
function codeBlocks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  return [...text.matchAll(/```(?:js|ts|javascript|typescript)\n([\s\S]*?)```/g)].map((match) => match[1] as string)
}

/** Every Markdown file of docs/, and every source file of examples/. */
function walk(dir: string, keep: (name: string) => boolean): string[] {
  const found: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) found.push(...walk(path, keep))
    else if (keep(name)) found.push(path)
  }
  return found
}

/** `import … from 'tessera-session…'` pointed at the sources, so the block runs without a build. */
function fromSources(code: string): string {
  return code.replace(/from 'tessera-session(\/stores\/[a-z]+)?'/g, (_, store: string | undefined) => {
    const file = store === undefined ? 'src/index.ts' : `src${store}.ts`
    return `from '${pathToFileURL(join(ROOT, file)).href}'`
  })
}

interface App {
  child: ChildProcess
  url: string
  /** What the app printed once it was ready (the id of its connection). */
  ready: string
  stderr: string[]
  exited: Promise<number | null>
}

/**
 * Runs a docs code block as the body of an app: `app` and `secret` are defined before it (the block
 * uses them), a login/read/logout route set and a report of `connection` after it.
 */
function startApp(block: string, connection: string): Promise<App> {
  const code = [
    `import express from 'express'`,
    `const app = express()`,
    `const secret = ${JSON.stringify(SECRET)}`,
    fromSources(block),
    `app.get('/login', (req, res) => { req.session.user = 'ann'; res.send('in') })`,
    `app.get('/me', (req, res) => res.send(String(req.session.user ?? 'anonymous')))`,
    `app.get('/logout', (req, res, next) => req.session.destroy().then(() => res.send('out'), next))`,
    `app.use((err, req, res, next) => res.status(err.status ?? 500).send(err.code ?? 'error'))`,
    `const server = app.listen(0, '127.0.0.1', async () => console.log('ready ' + server.address().port + ' ' + (${connection})))`,
  ].join('\n')
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, REDIS_URL, DATABASE_URL: PG_URL }, stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`the app did not start within 20 s: ${stderr.join('\n')}`))
    }, 20_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^ready (\d+) (.+)$/.exec(line)
      if (!match) return
      clearTimeout(timer)
      resolve({ child, url: `http://127.0.0.1:${match[1]}`, ready: match[2] as string, stderr, exited })
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the app exited with ${code} before it was ready: ${stderr.join('\n')}`))
    })
  })
}

async function stop(app: App): Promise<void> {
  if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGTERM')
  await app.exited
}

async function get(app: App, jar: CookieJar, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(app.url + path, { headers: { cookie: jar.header() } })
  jar.store(res.headers.getSetCookie())
  return { status: res.status, text: await res.text() }
}

/**
 * Kills the app's connection from the server side, then: the process is still running, its
 * listener reported the error, and within a bounded number of tries the session reads again.
 */
async function survives(app: App, kill: () => Promise<unknown>): Promise<void> {
  const jar = new CookieJar()
  assert.equal((await get(app, jar, '/login')).text, 'in')
  assert.equal((await get(app, jar, '/me')).text, 'ann')
  const errorsBefore = app.stderr.length
  await kill()
  let reply = { status: 0, text: '' }
  for (let attempt = 0; attempt < 100 && reply.text !== 'ann'; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(app.child.exitCode, null, `the app died: ${app.stderr.join('\n')}`)
    reply = await get(app, jar, '/me')
  }
  assert.equal(reply.text, 'ann', 'the session reads again once the client reconnected')
  assert.ok(app.stderr.length > errorsBefore, "the client's error reached the docs' listener")
  assert.equal(app.child.exitCode, null)
  assert.equal((await get(app, jar, '/logout')).text, 'out')
}

describe("the client setups the docs show survive the server dropping the app's connection", () => {
  describe('docs/stores/redis.md (node-redis)', async () => {
    const skip = await redisSkip()
    const admin = skip ? undefined : createClient({ url: REDIS_URL })
    const prefix = uniqueName('tess:docs') + ':'
    after(async () => {
      if (!admin?.isOpen) return
      for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await admin.del(keys)
      await admin.quit()
    })

    it('CLIENT KILL of its connection: the process stays up and the client reconnects', { skip, timeout: 60_000 }, async () => {
      const redis = admin as NonNullable<typeof admin>
      await redis.connect()
      const block = codeBlocks('docs/stores/redis.md')[0] as string
      const scoped = block.replace('new RedisStore({ client })', `new RedisStore({ client, prefix: ${JSON.stringify(prefix)} })`)
      assert.notEqual(scoped, block, 'the block creates the store as expected')
      const app = await startApp(scoped, `await client.sendCommand(['CLIENT', 'ID'])`)
      try {
        await survives(app, () => redis.sendCommand(['CLIENT', 'KILL', 'ID', app.ready]))
      } finally {
        await stop(app)
      }
    })
  })

  describe('docs/stores/postgres.md (pg.Pool)', async () => {
    const skip = await postgresSkip()
    const admin = skip ? undefined : new pg.Pool({ connectionString: PG_URL, max: 1 })
    const tableName = uniqueName('tess_docs').toLowerCase()
    after(async () => {
      if (!admin) return
      await admin.query(`DROP TABLE IF EXISTS "${tableName}", "${tableName}_tombstones"`)
      await admin.end()
    })

    it('pg_terminate_backend of its idle connection: the process stays up and the pool reconnects', { skip, timeout: 60_000 }, async () => {
      const block = codeBlocks('docs/stores/postgres.md')[0] as string
      const scoped = block.replace('new PostgresStore({ pool })', `new PostgresStore({ pool, tableName: ${JSON.stringify(tableName)} })`)
      assert.notEqual(scoped, block, 'the block creates the store as expected')
      // one connection, so the one the sessions used is the one terminated
      const app = await startApp(scoped.replace('new pg.Pool({ connectionString: process.env.DATABASE_URL })', 'new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 })'), `(await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid`)
      try {
        await survives(app, async () => {
          const { rows } = await (admin as pg.Pool).query('SELECT pg_terminate_backend($1) AS done', [Number(app.ready)])
          assert.equal(rows[0].done, true)
        })
      } finally {
        await stop(app)
      }
    })
  })
})

describe("every client the docs and examples create gets an 'error' listener", () => {
  const files = ['README.md', ...walk('docs', (name) => name.endsWith('.md'))]
  const sources = walk('examples', (name) => /\.(ts|js|mjs|cjs)$/.test(name))
  const CREATES = /\b(createClient|createCluster|new (?:pg\.)?Pool|new (?:IORedis|Redis|Cluster|Valkey))\s*\(/
  const blocks = [...files.flatMap((file) => codeBlocks(file).map((code, i) => ({ where: `${file}, code block ${i + 1}`, code }))), ...sources.map((file) => ({ where: file, code: readFileSync(join(ROOT, file), 'utf8') }))]

  it('finds the client examples it checks', () => {
    assert.ok(blocks.filter(({ code }) => CREATES.test(code)).length >= 3, 'the redis and postgres examples are found')
  })

  for (const { where, code } of blocks) {
    if (!CREATES.test(code)) continue
    it(`${where}: ${CREATES.exec(code)?.[1]} … .on('error', …)`, () => {
      assert.match(code, /\.on\('error',/)
    })
  }
})
