/**
 * JSON parsing for data that comes back from a store. `JSON.parse` itself never pollutes a
 * prototype, but the objects it returns can carry own `__proto__`/`constructor`/`prototype` keys
 * that a later merge would turn into pollution (ASVS 15.3.6). Those keys are dropped; the scan for
 * them is a substring check, so ordinary data pays no reviver cost.
 */
const DANGEROUS = /"(?:__proto__|constructor|prototype)"\s*:/

function dropDangerousKeys(key: string, value: unknown): unknown {
  return key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value
}

/** Parses JSON, dropping prototype-polluting keys at every depth. Throws SyntaxError on bad input. */
export function parseJson(text: string): unknown {
  return DANGEROUS.test(text) ? JSON.parse(text, dropDangerousKeys) : JSON.parse(text)
}

/** Whether a top-level key may hold session data (the keys `parseJson` drops deeper down). */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype'
}
