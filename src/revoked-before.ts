import { RevocationCheckError } from './errors.ts'

function noop(): void {}

/**
 * The app's `revokedBefore` function, made safe to ask during a load: it answers an epoch ms number
 * (a `Date` is taken as its time), or throws `RevocationCheckError`. Without this, a throw became a
 * rejection nobody handled (which ends the process) and a promise or NaN compared as "not revoked".
 */
export function checkedRevokedBefore(read: () => number): () => number {
  return function revokedBefore(): number {
    let value: unknown
    try {
      value = read()
    } catch (err) {
      throw new RevocationCheckError('revokedBefore threw: whether the session is revoked is unknown', { cause: err })
    }
    if (value instanceof Date) value = value.getTime()
    if (typeof value === 'number' && !Number.isNaN(value)) return value
    if (typeof (value as PromiseLike<unknown> | null)?.then === 'function') {
      // this request fails now; the promise's rejection, if it comes, must not be left unhandled (it would end the process)
      ;(value as PromiseLike<unknown>).then(undefined, noop)
      throw new RevocationCheckError('revokedBefore returned a promise: it is asked synchronously, during the load, and must return an epoch ms number')
    }
    throw new RevocationCheckError(`revokedBefore returned ${typeof value === 'number' ? 'NaN' : typeof value}: it must return an epoch ms number`)
  }
}
