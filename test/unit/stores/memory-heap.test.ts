import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('./fixtures/memory-heap.ts', import.meta.url))
const MB = 1024 * 1024

describe('MemoryStore heap', () => {
  describe('when 200,000 sessions expire and are pruned', () => {
    it('gives the heap back: within 20 MB of where it started', async () => {
      // a child process, so that --expose-gc and the heap figures belong to this test alone
      const { stdout } = await run(process.execPath, ['--expose-gc', SCRIPT], { timeout: 60_000 })
      const figures = JSON.parse(stdout) as { sessions: number; start: number; peak: number; end: number; removed: number; length: number }
      const describe = `start ${(figures.start / MB).toFixed(1)} MB, peak ${(figures.peak / MB).toFixed(1)} MB, end ${(figures.end / MB).toFixed(1)} MB`
      assert.ok(figures.peak - figures.start > 40 * MB, `the sessions really took memory (${describe})`)
      assert.equal(figures.removed, figures.sessions * 0.9, 'every live session was pruned (a tenth had been destroyed)')
      assert.equal(figures.length, 0)
      assert.ok(figures.end - figures.start < 20 * MB, `the heap came back (${describe})`)
    })
  })
})
