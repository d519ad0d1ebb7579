/**
 * Run by `--baseline` before the rounds (see baseline.ts): loads the library from `BENCH_SOURCES` as
 * the contenders named in the arguments will, and builds the middleware of those that need no
 * service. Exits 0, or 1 with the reason on stderr.
 */
import { rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { contenderByRunId } from './contenders.ts'
import { loadCompat, loadMain, loadStore, openSessionLayer } from './session-layer.ts'

const sources = process.env.BENCH_SOURCES ?? ''
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-probe-'))
try {
  for (const id of process.argv.slice(2)) {
    const c = contenderByRunId(id)
    try {
      if (c.middleware === 'main') await loadMain(sources)
      else await loadCompat(sources)
      if (c.middleware === 'main' && c.store !== 'none') await loadStore(sources, c.store)
      if (c.store === 'memory' || c.store === 'sqlite') {
        const at = { redisUrl: '', databaseUrl: '', prefix: 'probe:', table: 'probe', sqlitePath: join(dir, 'probe.sqlite') }
        const layer = await openSessionLayer(c, at, sources)
        await layer.close()
      }
    } catch (err) {
      // the message and where it arose; the rest of the stack is the harness's own frames
      const stack = ((err as Error).stack ?? String(err)).split('\n').slice(0, 4).join('\n')
      process.stderr.write(`${id}: ${stack}\n`)
      process.exitCode = 1
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
