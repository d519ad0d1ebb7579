import { debuglog } from 'node:util'

/** The debug log, enabled by `NODE_DEBUG=tessera-session`. It never receives ids, cookie values or secrets. */
export const debug = debuglog('tessera-session')
