/**
 * Every recipe runs as docs/recipes.md says: `npm run recipe -- <name>` (scripts/recipe.ts under the
 * project's Node), listening on the ports given, answering its first page. One of them goes through
 * npm itself, with a PATH whose `node` is not the project's.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startChild } from '../../support/child-app.ts'
import { redisSkip } from '../../support/services.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const script = `${root}scripts/recipe.ts`
/** Each recipe and the page that shows it works. */
const RECIPES: Record<string, string> = {
  'api-token': '/api/me',
  'behind-proxy': '/',
  'cross-origin-spa': '/api/todos',
  'oauth-form-post': '/',
  passport: '/login',
  'remember-me': '/',
  'store-migration': '/',
  'two-apps': '/shop',
}
const FREE_PORTS = { PORT: '0', PROVIDER_PORT: '0', SPA_PORT: '0', BEFORE_PORT: '0' }

describe('recipes', async () => {
  const redis = await redisSkip()

  it('are all listed here and in docs/recipes.md', () => {
    const dirs = readdirSync(`${root}examples/recipes`).sort()
    assert.deepEqual(dirs, Object.keys(RECIPES).sort())
    const docs = readFileSync(`${root}docs/recipes.md`, 'utf8')
    for (const name of dirs) assert.ok(docs.includes(`npm run recipe -- ${name}`), `docs/recipes.md shows how to run ${name}`)
  })

  for (const [name, page] of Object.entries(RECIPES)) {
    it(`${name} runs`, { skip: name === 'store-migration' ? redis : false }, async () => {
      const app = await startChild([script, name], { env: FREE_PORTS })
      try {
        const reply = await fetch(app.url + page)
        assert.equal(reply.status, 200, await reply.text())
      } finally {
        await app.stop()
      }
    })
  }

  it("npm run recipe -- two-apps starts it with the project's Node, whatever node the machine has", async () => {
    // npm runs on the machine's node; its scripts find the project's Node first on their PATH
    const app = await startChild(['run', '--silent', 'recipe', '--', 'two-apps'], { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', env: FREE_PORTS })
    try {
      assert.equal((await fetch(`${app.url}/shop`)).status, 200)
    } finally {
      await app.stop()
    }
  })

  it('without a name, lists them; with an unknown one, fails', () => {
    const listed = spawnSync(process.execPath, [script], { encoding: 'utf8' })
    assert.equal(listed.status, 0)
    for (const name of Object.keys(RECIPES)) assert.ok(listed.stderr.includes(name))
    assert.equal(spawnSync(process.execPath, [script, 'nope'], { encoding: 'utf8' }).status, 1)
  })
})
