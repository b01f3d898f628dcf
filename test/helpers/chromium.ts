import fs from 'node:fs';

/**
 * Headless Debian Chromium for the console's browser tests. CI (`.ci/run` sets
 * REQUIRE_BROWSER_TESTS=1 and installs chromium) fails when it is missing; elsewhere a test that
 * uses `describeBrowser` is skipped with a message saying why.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const chromiumPresent = fs.existsSync(CHROMIUM);
const required = process.env.REQUIRE_BROWSER_TESTS === '1' || process.env.CI !== undefined;

/** `describe` when Chromium is here or required (then a missing one fails the test), else `describe.skip` with a warning naming `what`. */
export function browserDescribe(what: string): jest.Describe {
  if (!chromiumPresent && !required) console.warn(`${what} skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return chromiumPresent || required ? describe : describe.skip;
}

/** Throws in a required run without Chromium. */
export function requireChromium(): void {
  if (!chromiumPresent) throw new Error(`${CHROMIUM} is missing but browser tests are required here (CI): install the Debian chromium package`);
}
