/**
 * Secrecy of ids in logs and events (R25, OWASP-26, ASVS 16.2.5): after a flow that raises every
 * event, no session id, cookie value or secret appears in any event payload (errors included), nor
 * anywhere a child process running with NODE_DEBUG=tessera-session prints; payloads identify
 * sessions only by `idHash`, a keyed hash.
 */
import { afterEach, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { SessionDataError, type SessionStore } from '../../src/index.ts'
import { kContractStore } from '../../src/stores/contract.ts'
import { HOSTS, OTHER_SECRET, SECRET, cleanup, cookiePair, freezeClock, gate, handle, laggingStore, memoryStore, request, sessionCookie, type Host, type Reply, type Req, type Res } from '../http/helpers.ts'
import { EVENT_NAMES, target, type Events } from './helpers.ts'

afterEach(cleanup)

const MINUTE = 60_000

/** A store that can be switched to fail, or to hold unreadable data. */
function switchable(inner: SessionStore) {
  let mode: 'reject' | 'corrupt' | undefined
  const guard = <T>(run: () => Promise<T>): Promise<T> => {
    if (mode === 'reject') return Promise.reject(new Error('store offline'))
    if (mode === 'corrupt') return Promise.reject(new SessionDataError('record is not valid JSON'))
    return run()
  }
  const store: SessionStore = {
    [kContractStore]: true,
    get: (id, options) => guard(() => inner.get(id, options)),
    create: (id, value) => guard(() => inner.create(id, value)),
    update: (id, patch, expiresAt, options) => inner.update(id, patch, expiresAt, options),
    touch: (id, expiresAt) => inner.touch(id, expiresAt),
    destroy: (id) => inner.destroy(id),
  }
  return { store, set: (next: typeof mode) => void (mode = next) }
}

/** Everything that must never be printed: ids, whole cookie values, their MACs, the secrets. */
class Needles {
  readonly values = new Set<string>([SECRET, OTHER_SECRET])
  add(...values: string[]): void {
    for (const value of values) if (value.length >= 16) this.values.add(value)
  }
  /** Records the id and cookie of every session cookie in a reply. */
  fromReply(reply: Reply, name = 'sid'): void {
    const cookie = sessionCookie(reply, name)
    if (!cookie || cookie.value === '') return
    const value = decodeURIComponent(cookie.value)
    this.add(cookie.value, value, ...value.replace(/^(v1\.|s:)/, '').split('.'))
  }
  assertAbsent(text: string, where: string): void {
    for (const needle of this.values) assert.ok(!text.includes(needle), `${where} contains a secret value: ${needle.slice(0, 12)}…`)
  }
}

function flip(value: string): string {
  return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')
}

/** Drives a flow that raises every event but binding_mismatch; returns the ids and cookies it saw. */
async function fullFlow(t: TestContext, host: Host): Promise<{ events: Events; needles: Needles }> {
  const clock = freezeClock(t)
  const switcher = switchable(laggingStore(60 * MINUTE, memoryStore()))
  const needles = new Needles()
  const reached = gate()
  const release = gate()
  const app = await target(
    host,
    { store: switcher.store, secret: [SECRET, OTHER_SECRET], idleTimeout: 10 * MINUTE, cookie: { secure: true } },
    {
      routes: (express) => {
        express.get('/id', (req: Req, res: Res) => {
          req.session.user = 'ann'
          res.send(req.sessionID)
        })
        express.get(
          '/slow',
          handle(async (req: Req, res: Res) => {
            void req.session.user
            reached.open()
            await release.promise
            req.session.user = 'late'
            res.send('late')
          }),
        )
      },
    },
  )
  const send = async (path: string, cookie?: string): Promise<Reply> => {
    const reply = await app.server.request(path, cookie === undefined ? {} : { cookie })
    needles.fromReply(reply)
    if (path === '/id') needles.add(reply.body)
    return reply
  }

  const first = await send('/id')
  const cookie = cookiePair(first)
  const signedIn = await send('/signin', cookie)
  await send('/me', cookie)
  const current = cookiePair(signedIn)
  const value = current.slice(4)
  await send('/me', `sid=${flip(value)}`)
  await send('/me', `sid=${value}x`)
  await send('/me', `${current}; ${current}`)
  await send('/me', `${current}${'A'.repeat(600)}`)
  clock.advance(11 * MINUTE)
  await send('/me', current)

  const doomed = cookiePair(await send('/id'))
  const slow = send('/slow', doomed)
  await reached.promise
  await send('/logout', doomed)
  release.open()
  await slow

  const corrupt = cookiePair(await send('/id'))
  switcher.set('corrupt')
  await send('/me', corrupt)
  switcher.set('reject')
  await send('/id')
  await send('/me', cookiePair(first))
  switcher.set(undefined)
  return { events: app.events, needles }
}

describe('secrecy of ids', () => {
  for (const host of HOSTS) {
    describe(host.name, () => {
      it('R25: no event payload (errors and causes included) holds an id, a cookie value or a secret', async (t) => {
        const { events, needles } = await fullFlow(t, host)
        for (const name of EVENT_NAMES) {
          if (name === 'binding_mismatch') continue
          assert.ok(events[name].length > 0, `the flow raised no ${name} event`)
        }
        for (const name of EVENT_NAMES) {
          for (const payload of events[name]) {
            const error = payload.error as Error | undefined
            const text = inspect(payload, { depth: 10 }) + JSON.stringify(payload) + (error ? `${error.message} ${error.stack} ${inspect(error.cause)}` : '')
            needles.assertAbsent(text, `${name} event`)
          }
        }
      })

      it('R25: idHash is a keyed hash: stable for one session, different from the id and from its plain SHA-256', async () => {
        const app = await target(host)
        const login = await app.server.request('/login')
        const id = sessionCookie(login)?.value.split('.')[1] as string
        await app.server.request('/logout', { cookie: cookiePair(login) })
        await app.server.request('/me', { cookie: cookiePair(login) })
        const created = app.events.created[0]?.idHash as string
        assert.equal(app.events.destroyed[0]?.idHash, created)
        assert.equal(app.events.rejected[0]?.idHash, created)
        assert.ok(!id.includes(created) && !created.includes(id.slice(0, 8)))
        const plain = createHash('sha256').update(id).digest()
        for (const encoding of ['base64url', 'hex', 'base64'] as const) assert.ok(!plain.toString(encoding).startsWith(created.slice(0, 12)))
        // another app with another secret gives the same id another hash (the key matters)
        const other = await target(host, { secret: OTHER_SECRET, store: app.spy.store })
        await other.server.request('/me', { cookie: `sid=${sessionCookie(login)?.value}` })
        assert.equal(other.events.rejected[0]?.reason, 'bad_mac')
      })
    })
  }

  it('R25: with NODE_DEBUG=tessera-session a full flow prints no id, cookie value or secret (stdout, stderr, logged events)', { timeout: 20_000 }, async () => {
    const weak = 'weak second secret'
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/debug-flow.ts', import.meta.url))], {
      env: { ...process.env, NODE_DEBUG: 'tessera-session', NODE_ENV: 'development', TESSERA_SECRET: SECRET, TESSERA_WEAK_SECRET: weak },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout} ${stderr}`)), 15_000)
        child.stdout.on('data', () => {
          const match = /listening (\d+)/.exec(stdout)
          if (match) {
            clearTimeout(timer)
            resolve(Number(match[1]))
          }
        })
        child.on('exit', () => reject(new Error(`exited early: ${stderr}`)))
      })
      const base = `http://127.0.0.1:${port}`
      const needles = new Needles()
      needles.add(weak)
      const send = async (path: string, cookie?: string, name = 'sid'): Promise<Reply> => {
        const reply = await request(base + path, cookie === undefined ? {} : { cookie })
        needles.fromReply(reply, name)
        if (/login|signin/.test(path)) needles.add(reply.body)
        return reply
      }

      const compat = await send('/compat/login', undefined, 'compat.sid')
      const compatCookie = cookiePair(compat, 'compat.sid')
      await send('/compat/me', compatCookie, 'compat.sid')
      await send('/compat/me', flip(compatCookie), 'compat.sid')
      await send('/compat/logout', compatCookie, 'compat.sid')

      const first = await send('/login')
      const cookie = cookiePair(first)
      const signedIn = await send('/signin', cookie)
      const current = cookiePair(signedIn)
      await send('/me', cookie)
      await send('/me', flip(current))
      await send('/me', `${current}x`)
      await send('/me', `${current}; ${current}`)
      await send('/me', `${current}${'A'.repeat(600)}`)
      await send('/advance?ms=120000')
      await send('/me', current)

      const doomed = cookiePair(await send('/login'))
      const slow = send('/slow', doomed)
      for (let i = 0; i < 200 && (await send('/waiting')).body !== 'true'; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      await send('/logout', doomed)
      await send('/release')
      await slow

      const corrupt = cookiePair(await send('/login'))
      await send('/fault?kind=corrupt')
      await send('/me', corrupt)
      await send('/fault?kind=reject')
      await send('/login')
      await send('/fault')
      await send('/quit')
      assert.equal(await exited, 0)

      // the flow did log: debug lines, a warning, and the events an app would write to its log
      assert.match(stderr, /TESSERA-SESSION \d+:/)
      assert.match(stderr, /TESSERA_WEAK_SECRET|shorter than 32 bytes/)
      for (const name of ['created', 'rotated', 'rejected', 'destroyed', 'conflict', 'store_error', 'insecure_transport', 'malformed_data']) {
        assert.match(stdout, new RegExp(`^EVENT ${name} `, 'm'), `no ${name} event was logged`)
      }
      needles.assertAbsent(stdout, 'stdout')
      needles.assertAbsent(stderr, 'stderr')
    } finally {
      if (child.exitCode === null) child.kill()
    }
  })
})
