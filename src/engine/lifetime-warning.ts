let warned = false

/**
 * Warns once per process, in development, that a handler set `req.session.cookie.maxAge` beyond
 * `absoluteTimeout`: the session, and its cookie, still end at the absolute deadline. Names no id,
 * no value of the session.
 */
export function warnLifetimeCapped(absoluteTimeout: number): void {
  if (warned) return
  warned = true
  const hours = Math.round((absoluteTimeout / 3_600_000) * 10) / 10
  process.emitWarning(
    `tessera-session: req.session.cookie.maxAge is longer than absoluteTimeout (${hours} h); the session and its cookie end at absoluteTimeout. Raise absoluteTimeout for a longer "remember me"`,
    { code: 'TESSERA_LIFETIME_CAPPED' },
  )
}
