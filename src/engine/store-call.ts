import { StoreTimeoutError, StoreUnavailableError, TesseraError } from '../errors.ts'

/**
 * Runs one store operation with a deadline (R22). A store that throws or rejects becomes a
 * `StoreUnavailableError`, one that does not answer in time a `StoreTimeoutError`; both carry the
 * original error as `cause` and make the request fail closed.
 */
export function callStore<T>(operation: string, timeout: number, run: () => Promise<T>): Promise<T> {
  let promise: Promise<T>
  try {
    promise = run()
  } catch (err) {
    return Promise.reject(wrap(operation, err))
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(`store ${operation} did not answer within ${timeout} ms`)), timeout)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(wrap(operation, err))
      },
    )
  })
}

function wrap(operation: string, err: unknown): TesseraError {
  if (err instanceof TesseraError) return err
  const detail = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`store ${operation} failed: ${detail}`, { cause: err })
}
