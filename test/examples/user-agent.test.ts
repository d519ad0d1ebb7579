import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { describeUserAgent } from '../../examples/demo/user-agent.ts'
import { timeAgo } from '../../examples/demo/time.ts'

describe('demo: describeUserAgent', () => {
  const rows: Array<[string, string | undefined]> = [
    ['Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36', 'Chrome on Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1', 'Safari on iPhone'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0.0.0 Mobile/15E148 Safari/604.1', 'Chrome on iPhone'],
    ['Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/140.0 Mobile/15E148 Safari/605.1.15', 'Firefox on iPad'],
    ['Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (Linux; Android 15; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36', 'Samsung Internet on Android'],
    ['Mozilla/5.0 (X11; CrOS x86_64 16181.61.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36', 'Chrome on ChromeOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 OPR/125.0.0.0', 'Opera on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'A browser on Windows'],
    ['curl/8.5.0', undefined],
    ['', undefined],
    ['Firefox/1 ' + 'x'.repeat(600), undefined],
  ]
  for (const [userAgent, expected] of rows) {
    it(`${JSON.stringify(userAgent.slice(0, 60))} is ${expected ?? 'not described'}`, () => {
      assert.equal(describeUserAgent(userAgent), expected)
    })
  }
  it('describes nothing without the header', () => {
    assert.equal(describeUserAgent(undefined), undefined)
  })
})

describe('demo: timeAgo', () => {
  const now = Date.UTC(2026, 4, 1, 12)
  const rows: Array<[number, string]> = [
    [0, 'just now'],
    [59_000, 'just now'],
    [60_000, '1 minute ago'],
    [3 * 60_000 + 30_000, '3 minutes ago'],
    [2 * 3_600_000 + 59 * 60_000, '2 hours ago'],
    [26 * 3_600_000, '1 day ago'],
    [15 * 86_400_000, '2 weeks ago'],
    [400 * 86_400_000, '1 year ago'],
  ]
  for (const [elapsed, words] of rows) {
    it(`${elapsed} ms ago is "${words}"`, () => {
      assert.equal(timeAgo(now - elapsed, now), words)
    })
  }
})
