/**
 * Runs the whole test suite with node's test runner, under the Node that runs this script (CI
 * also runs it under Node 22 and 26). Extra arguments are passed to the runner.
 */
import { spawnSync } from 'node:child_process'

const files = ['test/**/*.test.ts', 'test/**/*.test.mjs', 'test/**/*.test.cjs']
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=120000', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
