/**
 * A bare node:http server answering "ok": what the load generator can drive at most on this machine
 * (its ceiling), measured at the start of a run and printed beside the results. Same IPC as server.ts.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

setTimeout(() => process.exit(3), 300_000).unref()
process.on('disconnect', () => process.exit(0))
const server = createServer((_req, res) => {
  res.end('ok')
}).listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port })
})
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') process.exit(0)
})
