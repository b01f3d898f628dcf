import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createDevIdp, DEV_ADMIN_GROUP, DEV_IDP_PATH } from '../../src/dev-idp';
import { startEmulator, type Emulator } from '../../src/emulator';
import { createLogger } from '../../src/log';
import { parsePolicy, PolicyStore } from '../../src/policy';
import { createPulumiClient } from '../../src/pulumi';
import { Reconciler } from '../../src/reconcile';
import { createTokenDeps } from '../../src/runtime';
import { createWebRouter } from '../../src/web';
import { provisionUser } from '../auth/harness';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';
import { browserDescribe, CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../helpers/chromium';
import { POLICY as WORLD_POLICY } from './world';

/**
 * "Access explained" in headless Chromium: sign in through the development IdP (the daemon's own
 * SAML IdP, mounted as the zero-config start mounts it), ask why Alice has what she has on a
 * stack, and download the access review. With UPDATE_SCREENSHOTS=1 it writes the pages the README
 * shows to docs/screenshots/.
 *
 * CI (`.ci/run` sets REQUIRE_BROWSER_TESTS=1) fails when the browser is missing; elsewhere the
 * test is skipped with a message saying why.
 */

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(__dirname, '../../docs/screenshots') : undefined;
const describeBrowser = browserDescribe('access browser test');

const FILE = 'test-policy.yaml';
// World's policy plus a second rule that reaches infra/prod for Alice: the higher (on-call's admin) is effective.
const POLICY = `${WORLD_POLICY}  - group: On-call
    team: oncall
    stacks:
      - { project: infra, stack: prod, permission: admin }
`;
const lineOf = (text: string) => POLICY.split('\n').findIndex((l) => l.includes(text)) + 1;

describeBrowser('access explained in headless Chromium', () => {
  let tdb: TestDatabase;
  let redis: Redis;
  let keyPrefix: string;
  let emu: Emulator;
  let server: http.Server;
  let url: string;
  let userDataDir: string;
  let downloads: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    requireChromium();
    tdb = await createTestDatabase();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    keyPrefix = `${uniquePrefix()}:`;
    emu = await startEmulator({ org: 'acme', seed: { members: ['alice', 'bob', 'ada'], stacks: ['infra/dev', 'infra/prod', 'web/dev'] } });
    await provisionUser(tdb, 'alice@example.com', { groups: ['Platform Engineers', 'On-call'] });
    await provisionUser(tdb, 'bob@example.com', { groups: ['Platform Engineers'] });
    await provisionUser(tdb, 'ada@example.com', { groups: [DEV_ADMIN_GROUP] });

    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const logger = createLogger({ level: 'error' });
    const config = loadConfig({ PUBLIC_URL: url, SESSION_SECRET: 'test-session-secret-0123456789abcdef' });
    const people = await tdb.db('users').orderBy('user_name').pluck('user_name');
    const idp = await createDevIdp({
      baseUrl: url,
      clockSkewMs: config.SAML_CLOCK_SKEW_MS,
      people: async () => people.map((userName: string) => ({ userName, displayName: userName, admin: userName === 'ada@example.com' })),
    });
    const policy = new PolicyStore(FILE, {}, parsePolicy(POLICY, FILE));
    const client = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken });
    const reconciler = new Reconciler({ db: tdb.db, client, policy, logger });
    const web = createWebRouter({
      config: { ...config, saml: idp.settings },
      db: tdb.db,
      redis,
      logger,
      keyPrefix,
      policy,
      reconciler,
      tokens: createTokenDeps({ db: tdb.db, pulumi: client, policy, reconciler, logger }),
    });
    server.on(
      'request',
      createApp({
        logger,
        readiness: {},
        mounts: [
          { path: DEV_IDP_PATH, router: idp.router },
          { path: '/', router: web },
        ],
      }),
    );

    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-chromium-'));
    downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-downloads-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      acceptDownloads: true,
      downloadsPath: downloads,
      viewport: { width: 1100, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    for (const dir of [userDataDir, downloads]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      server?.closeAllConnections();
    });
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await emu?.stop();
    await tdb?.drop();
  });

  async function screenshot(name: string): Promise<void> {
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
  }

  it('signs in through the development IdP, explains an access path and downloads the review', async () => {
    await page.goto(`${url}/console/`);
    await Promise.all([page.waitForURL(`${url}${DEV_IDP_PATH}/sso**`), page.click('#sign-in')]);
    await Promise.all([page.waitForURL(`${url}/console/`), page.click('button.person[data-user="ada@example.com"]')]);
    expect(await page.textContent('#me')).toBe('ada@example.com');

    await page.goto(`${url}/console/access?person=alice%40example.com`);
    const prod = page.locator('.access-row[data-stack="infra/prod"]');
    expect(await prod.getAttribute('data-effective')).toBe('admin');
    const words = (await prod.textContent())!.replace(/\s+/g, ' ');
    expect(words).toContain('alice@example.com has admin on infra/prod');
    expect(words).toContain(`in SCIM group On-call → rule ${FILE}:${lineOf('group: On-call')} → team oncall (admin)`);
    expect(words).toContain(`in SCIM group Platform Engineers → rule ${FILE}:${lineOf('group: Platform Engineers')} → team platform (write)`);
    await screenshot('access-person.png');

    await page.click('.access-row[data-stack="infra/prod"] a');
    await page.waitForURL(`${url}/console/access?stack=infra%2Fprod`);
    expect(await page.locator('.access-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-person')))).toEqual([
      'alice@example.com',
      'bob@example.com',
    ]);
    await screenshot('access-stack.png');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#review-csv')]);
    expect(download.suggestedFilename()).toMatch(/^access-review-.*\.csv$/);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trimEnd().split('\r\n');
    expect(header).toMatch(/^record,person,person_id,pulumi_login,stack,effective,path,permission,group,rule,team,/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^access,bob@example\\.com,[0-9a-f-]{36},bob,infra/prod,write,team,write,Platform Engineers,${FILE}:${lineOf('group: Platform Engineers')},platform,`,
        ),
      ),
    );
  }, 120_000);
});
