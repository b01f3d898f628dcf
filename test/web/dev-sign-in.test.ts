import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/stack/paths';
import { freePort, startPrivateRedis, tailLog, waitFor, type PrivateRedis } from '../helpers/stack/processes';

/**
 * The zero-config start's development sign-in, as a newcomer meets it: `npm start` with no SAML,
 * no tokens and no database (the embedded Postgres, the built-in Pulumi emulator), then headless
 * Chromium on /console/ reaches a signed-in console in two clicks: "Sign in", then a person on the
 * development IdP's page. Only PORT, DATA_DIR, EMBEDDED_PG_PORT and a private Redis are set, so
 * this run shares nothing with other tests on the machine.
 *
 * Bounds are generous: `npm start` compiles first when dist/ is stale, and initdb runs once.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const START_TIMEOUT_MS = 400_000;

const required = process.env.REQUIRE_BROWSER_TESTS === '1' || process.env.CI !== undefined;
const present = fs.existsSync(CHROMIUM);
if (!present && !required) console.warn(`development sign-in browser test skipped: ${CHROMIUM} is not installed`);
const describeBrowser = present || required ? describe : describe.skip;

describeBrowser('npm start, then the console in two clicks', () => {
  let redis: PrivateRedis;
  let workDir: string;
  let logFile: string;
  let npm: ChildProcess | undefined;
  let url: string;
  let userDataDir: string;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing but browser tests are required here (CI)`);
    redis = await startPrivateRedis();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-dev-sign-in-'));
    // As root, the embedded Postgres runs as a 'postgres' user that must enter this directory.
    fs.chmodSync(workDir, 0o755);
    logFile = path.join(workDir, 'npm-start.log');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const log = fs.openSync(logFile, 'a');
    npm = spawn('npm', ['start'], {
      cwd: repoRoot(),
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.tmpdir(),
        PORT: String(port),
        DATA_DIR: path.join(workDir, 'data'),
        EMBEDDED_PG_PORT: String(await freePort()),
        REDIS_URL: redis.url,
      },
    });
    fs.closeSync(log);
    const exited = () => npm?.exitCode !== null;
    // The banner follows the demo directory's seeding: then the IdP's page has people to list.
    await waitFor(
      'the demo banner',
      async () => {
        // waitFor takes a throw for "not yet": an exit ends the wait, and is reported below.
        return exited() || fs.readFileSync(logFile, 'utf8').includes('=== pulumi-idp-sync demo');
      },
      START_TIMEOUT_MS,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${tailLog(logFile, 60)}`);
    });
    if (exited()) throw new Error(`npm start exited during start-up:\n${tailLog(logFile, 60)}`);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = context.pages()[0] ?? (await context.newPage());
  }, START_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (npm?.pid && npm.exitCode === null) {
      const stopped = new Promise((resolve) => npm?.once('exit', resolve));
      process.kill(-npm.pid, 'SIGINT');
      await stopped;
    }
    await redis?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  it('says loudly that the development IdP is on', () => {
    expect(fs.readFileSync(logFile, 'utf8')).toContain('the BUILT-IN DEVELOPMENT IdP is ON');
  });

  it('signs in as a seeded person with two clicks, through a signed SAML response', async () => {
    await page.goto(`${url}/console/`);
    expect(new URL(page.url()).pathname).toBe('/console/login');

    await Promise.all([page.waitForURL(`${url}/_dev-idp/sso**`), page.click('#sign-in')]);
    expect(await page.locator('button.person').count()).toBeGreaterThanOrEqual(3);

    await Promise.all([page.waitForURL(`${url}/console/`), page.click('button.person[data-user="bob.jones@example.com"]')]);
    expect(await page.textContent('#me')).toBe('bob.jones@example.com');
    // Bob is in the demo's admin group, so the admin pages are hers.
    const admin = await page.goto(`${url}/console/admin/status`);
    expect(admin?.status()).toBe(200);
    // The summary line: the seeded Web Developers make team web, where Dave waits for a Pulumi account.
    await expect(page.textContent('#summary-teams')).resolves.toMatch(/\d+ teams? in sync/);
    expect(await page.textContent('#summary')).toMatch(/last reconcile/);
  }, 120_000);

  it('answers a direct visit to the IdP page without a sign-in request with a pointer, not a response', async () => {
    const res = await fetch(`${url}/_dev-idp/sso`);
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('SAMLResponse');
  });
});
