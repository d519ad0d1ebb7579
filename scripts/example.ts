/**
 * Starts one of the runnable examples under the Node that runs this script: through npm that is the
 * project's Node 24 (the `node` devDependency), whatever `node` the machine has.
 *
 * `npm run example -- views` (or login, named-user, demo); add `--compat` for the express-session API.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const EXAMPLES = join(import.meta.dirname, '..', 'examples')

/** The examples: each folder of examples/ with a server.ts. */
function examples(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES, entry.name, 'server.ts')))
    .map((entry) => entry.name)
    .sort()
}

const [name, ...rest] = process.argv.slice(2)
const known = examples()
// only a name from the list: the argument never becomes a path of its own
if (name === undefined || !known.includes(name)) {
  console.error(`usage: npm run example -- <name> [--compat]\nexamples: ${known.join(', ')}`)
  process.exit(2)
}
const child = spawn(process.execPath, [join(EXAMPLES, name, 'server.ts'), ...rest], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)))
