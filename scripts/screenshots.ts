/**
 * Regenerates the README's screenshot of the demo's "Your devices" page (docs/images/devices.png):
 * the browser test that signs devices out takes it when UPDATE_SCREENSHOTS=1. Needs Chromium (see
 * test/browser/chromium.ts).
 */
import { spawnSync } from 'node:child_process'

const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-name-pattern=signs one device out', 'test/browser/demo.test.ts'],
  { stdio: 'inherit', env: { ...process.env, UPDATE_SCREENSHOTS: '1' } },
)
process.exit(result.status ?? 1)
