/**
 * `npm pack` gives a package that works in an empty project: both entries by import and require,
 * and the TypeScript declarations resolve. The package has no runtime dependencies, so installing
 * the tarball needs no registry.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

describe('npm pack', { timeout: 120_000 }, () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-pack-'))
    const tarball = execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop() as string
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }))
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--silent', join(dir, tarball)], { cwd: dir, stdio: 'pipe' })
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('ships only dist/, the README, the LICENSE and package.json', () => {
    const listing = execFileSync(npm, ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' })
    const files = (JSON.parse(listing) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path)
    for (const file of files) assert.match(file, /^(dist\/|README\.md$|LICENSE$|package\.json$)/)
    assert.ok(files.includes('dist/index.js') && files.includes('dist/compat.cjs') && files.includes('dist/index.d.ts'))
  })

  it('works from require() in a CommonJS project', () => {
    writeFileSync(
      join(dir, 'req.cjs'),
      `const session = require('tessera-session'); const compat = require('tessera-session/compat');
       const { MemoryStore } = require('tessera-session/stores/memory');
       if (typeof session !== 'function' || typeof compat !== 'function' || typeof compat.Store !== 'function' || typeof MemoryStore !== 'function') process.exit(1)
       console.log('ok')`,
    )
    assert.equal(execFileSync(process.execPath, ['req.cjs'], { cwd: dir, encoding: 'utf8' }).trim(), 'ok')
  })

  it('works from import in an ES module', () => {
    writeFileSync(
      join(dir, 'imp.mjs'),
      `import session, { MemoryStore } from 'tessera-session'; import compat from 'tessera-session/compat';
       if (typeof session !== 'function' || typeof compat !== 'function' || typeof MemoryStore !== 'function') process.exit(1)
       console.log('ok')`,
    )
    assert.equal(execFileSync(process.execPath, ['imp.mjs'], { cwd: dir, encoding: 'utf8' }).trim(), 'ok')
  })

  it('serves sessions and raises events without @opentelemetry/api, an optional peer the project did not install', () => {
    // a request through the built middleware, from each entry format: the telemetry loader must find nothing and carry on
    const body = (load: string) => `${load}
       let missing = false
       try { resolveApi('@opentelemetry/api') } catch (err) { missing = err.code === 'MODULE_NOT_FOUND' }
       if (!missing) { console.log('@opentelemetry/api is installed'); process.exit(1) }
       const handler = session({ secret: 'a development secret of sufficient length!!' })
       let created = 0
       handler.on('created', () => created++)
       const server = http.createServer((req, res) => handler(req, res, () => { req.session.n = 1; res.end('ok') }))
       server.listen(0, '127.0.0.1', async () => {
         const reply = await fetch('http://127.0.0.1:' + server.address().port + '/')
         server.close()
         console.log(reply.status === 200 && reply.headers.get('set-cookie') !== null && created === 1 ? 'ok' : 'failed')
       })`
    writeFileSync(join(dir, 'absent.cjs'), body(`const session = require('tessera-session'); const http = require('node:http'); const resolveApi = require.resolve`))
    writeFileSync(
      join(dir, 'absent.mjs'),
      body(`import session from 'tessera-session'; import http from 'node:http'; import { createRequire } from 'node:module'; const resolveApi = createRequire(import.meta.url).resolve`),
    )
    for (const script of ['absent.cjs', 'absent.mjs']) assert.equal(execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' }).trim(), 'ok', script)
  })

  it('has declarations TypeScript resolves', () => {
    writeFileSync(
      join(dir, 'check.mts'),
      `import session, { type SessionOptions } from 'tessera-session'
       import compat from 'tessera-session/compat'
       const options: SessionOptions = { secret: 'x' }
       const handler = session(options)
       const legacy = compat({ secret: 'x', resave: false, saveUninitialized: false })
       export { handler, legacy }`,
    )
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'check.mts'], {
      cwd: dir,
      stdio: 'pipe',
    })
  })
})
