import type { EventEmitter } from 'node:events'

type Listener = (this: EventEmitter, payload: unknown) => unknown

/**
 * `events.emit(name, payload)`, except that a listener that throws, or returns a promise that
 * rejects, reaches neither the caller nor the other listeners: events are raised from response hooks
 * and from promise chains in the middle of a request, where Node's default (the throw goes to
 * whoever emitted) would break the request or leave a rejection unhandled, which ends the process.
 * The error goes out as a `TESSERA_LISTENER_ERROR` process warning, its `cause` the listener's error.
 */
export function emitSafely(events: EventEmitter, name: string, payload: unknown): void {
  // rawListeners: a copy, as emit() takes one, whose `once` wrappers still remove themselves
  for (const listener of events.rawListeners(name) as Listener[]) {
    let result: unknown
    try {
      result = listener.call(events, payload)
    } catch (err) {
      reportListenerError(name, 'threw', err)
      continue
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      ;(result as PromiseLike<unknown>).then(undefined, (err: unknown) => reportListenerError(name, 'returned a promise that rejected', err))
    }
  }
}

function reportListenerError(name: string, how: string, err: unknown): void {
  const reason = err instanceof Error ? err.message : String(err)
  const warning = new Error(`a '${name}' session event listener ${how}: ${reason}`, { cause: err })
  warning.name = 'TesseraSessionWarning'
  Object.assign(warning, { code: 'TESSERA_LISTENER_ERROR' })
  process.emitWarning(warning)
}
