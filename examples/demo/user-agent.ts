/**
 * "Firefox on Linux" from a User-Agent header: a few patterns for the common browsers, enough for a
 * "your devices" page. The first pattern that matches wins, so the more specific ones come first
 * (Edge and Opera also say Chrome; Chrome also says Safari).
 */

const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOPT\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\b(?:Headless)?Chrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
]

const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMacintosh\b|\bMac OS X\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

/** Headers longer than this are not a browser's: they are not looked at (and cost no regex time). */
const MAX_USER_AGENT = 512

/** "Firefox on Linux", "Safari on iPhone", "A browser on Windows"; undefined when nothing is recognised. */
export function describeUserAgent(userAgent: string | undefined): string | undefined {
  if (userAgent === undefined || userAgent.length > MAX_USER_AGENT) return undefined
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1]
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1]
  if (browser !== undefined && system !== undefined) return `${browser} on ${system}`
  if (browser !== undefined) return browser
  return system === undefined ? undefined : `A browser on ${system}`
}
