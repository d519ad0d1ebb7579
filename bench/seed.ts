/**
 * Creates sessions through the server itself, as browsers would: a GET of the login route per
 * session, with no cookie, keeping the `name=value` of the Set-Cookie each answer carries.
 */
import { Agent, request } from 'node:http'
import type { Contender, Scenario } from './contenders.ts'

function login(agent: Agent, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/login', agent, timeout: 10_000 }, (res) => {
      res.resume()
      res.on('end', () => {
        const cookie = res.headers['set-cookie']?.[0]?.split(';', 1)[0]
        if (res.statusCode !== 200 || cookie === undefined) reject(new Error(`login answered ${res.statusCode} without a session cookie`))
        else resolve(cookie)
      })
    })
    req.on('timeout', () => req.destroy(new Error('login timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** `count` distinct session cookies, created `concurrency` at a time. */
export async function seedSessions(port: number, count: number, concurrency = 8): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const cookies: string[] = []
  try {
    const workers = Array.from({ length: concurrency }, async () => {
      while (cookies.length < count) {
        cookies.push('')
        const slot = cookies.length - 1
        cookies[slot] = await login(agent, port)
      }
    })
    await Promise.all(workers)
  } finally {
    agent.destroy()
  }
  if (new Set(cookies).size !== count) throw new Error(`seeding gave ${new Set(cookies).size} distinct cookies, not ${count}`)
  return cookies
}

/**
 * The cookies a contender's load rotates through: real sessions when it has a session layer and a
 * scenario reads one, otherwise the same number of meaningless cookie headers, so that bare Express
 * parses as many bytes and the ratio isolates the session work.
 */
export async function cookiesFor(contender: Contender, port: number, scenarios: readonly Scenario[], count: number): Promise<string[]> {
  const hasSessions = contender.middleware !== 'bare' && contender.middleware !== 'round-trip'
  if (hasSessions && scenarios.some((s) => s === 'read' || s === 'write')) return seedSessions(port, count)
  return Array.from({ length: count }, (_, i) => `connect.sid=s%3Abare${i}`)
}
