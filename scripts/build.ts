/**
 * Builds dist/: JavaScript and declarations from src/ (tsc), then one CommonJS file per entry so
 * that `require('tessera-session')` and `require('tessera-session/compat')` return the session
 * factory itself, as `require('express-session')` does (Node >= 22.12 can require ES modules).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
rmSync('dist', { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' })

// declarations keep the sources' `.ts` specifiers; consumers resolve the emitted `.js` names
for (const file of readdirSync('dist', { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.d.ts')) continue
  const path = join('dist', file)
  writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'))
}

for (const entry of ['index', 'compat']) {
  writeFileSync(
    `dist/${entry}.cjs`,
    `'use strict'\n// the factory itself, with the named exports as its properties\nmodule.exports = require('./${entry}.js').default\n`,
  )
}
console.log('built dist/')
