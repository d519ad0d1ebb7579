/**
 * `npm run recipe -- <name>`: runs examples/recipes/<name>/server.ts under the Node that runs this
 * script (npm scripts use the project's Node 24, whatever `node` the machine has). Without a name,
 * or with an unknown one, lists the recipes. Other arguments are passed on.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../examples/recipes/', import.meta.url))
const recipes = readdirSync(dir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(`${dir}${entry.name}/server.ts`))
  .map((entry) => entry.name)
  .sort()
const [name, ...rest] = process.argv.slice(2)

if (name === undefined || !recipes.includes(name)) {
  if (name !== undefined) console.error(`no recipe named "${name}"`)
  console.error(`usage: npm run recipe -- <name>\nrecipes (docs/recipes.md): ${recipes.join(', ')}`)
  process.exit(name === undefined ? 0 : 1)
}

const child = spawn(process.execPath, [`${dir}${name}/server.ts`, ...rest], { stdio: 'inherit' })
// Ctrl-C reaches both processes from the terminal; a signal sent to this one alone is passed on
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 0)))
