/**
 * Chromium for the browser tests: the system's Chromium (Debian's `chromium` package at
 * /usr/bin/chromium, or CHROMIUM_PATH), driven by playwright-core, which downloads no browser.
 * Without it the browser suites skip with one line saying how to enable them; under CI=true it is
 * required and a missing Chromium fails.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Longest wait of any one browser action (a navigation, a click): a stuck step fails instead of hanging. */
const ACTION_TIMEOUT = 10_000

/** `false` when Chromium is there, else the skip reason; throws under CI=true. */
export function chromiumSkip(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false
  const message = `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`
  if (process.env.CI === 'true') throw new Error(`${message} (required because CI=true)`)
  return `skipped: ${message}`
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Playwright turns the back/forward cache off; users have it on, and the logout tests are about it
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
    timeout: 30_000,
  })
}

/** A new browser profile (its own cookies), with bounded waits. */
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', colorScheme: 'light', ...options })
  context.setDefaultTimeout(ACTION_TIMEOUT)
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT)
  return context
}

export const USER_AGENTS = {
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1',
  edgeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0',
} as const
