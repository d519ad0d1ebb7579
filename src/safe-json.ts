/**
 * JSON parsing for data that comes back from a store. `JSON.parse` itself never pollutes a
 * prototype, but the objects it returns can carry an own `__proto__` key, or the
 * `constructor: { prototype: {…} }` shape, that a later deep merge in application code turns into
 * prototype pollution (ASVS 15.3.6). Those are dropped at every depth: `__proto__` always,
 * `constructor` and `prototype` when they hold an object (as plain strings or numbers they are
 * ordinary data and kept). A substring check first keeps the reviver off ordinary data.
 */
const SUSPICIOUS = /"(?:__proto__|constructor|prototype)"\s*:/

function dropPollutingKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if ((key === 'constructor' || key === 'prototype') && typeof value === 'object' && value !== null) return undefined
  return value
}

/** Parses JSON, dropping prototype-polluting keys at every depth. Throws SyntaxError on bad input. */
export function parseJson(text: string): unknown {
  return SUSPICIOUS.test(text) ? JSON.parse(text, dropPollutingKeys) : JSON.parse(text)
}

/** Whether a top-level key may hold session data (`__proto__` would replace the object's prototype). */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__'
}
