import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startHistorySampler } from '../../src/history';
import { createLogger } from '../../src/log';
import type { HistoryReading } from '../../src/metrics';
import { browserDescribe, CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../helpers/chromium';
import { repoRoot } from '../helpers/stack/paths';
import { startWorld, type World } from './world';

/**
 * The console driven by headless Debian Chromium, signed in through the development IdP of the
 * zero-config start: a person issues a scoped token and revokes it; an admin reads the status
 * summary, opens a team's page, the charts and the plan in words.
 *
 * UPDATE_SCREENSHOTS=1 writes each page to docs/screenshots/ (the README shows them).
 *
 * CI (`.ci/run` sets REQUIRE_BROWSER_TESTS=1 and installs chromium) fails when the browser is
 * missing; elsewhere the test is skipped with a message saying why.
 */

const describeBrowser = browserDescribe('browser test');

const SCREENSHOTS = path.join(repoRoot(), 'docs', 'screenshots');

async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * An hour of figures as a busy daemon would sample them, through the real sampler into the
 * history table: each minute some reconciles (an error now and then), Pulumi calls with a few
 * 429s, revocations mostly under 150 ms with a slow one every quarter hour, and a queue backlog.
 */
async function scriptedHour(w: World): Promise<void> {
  const reading: HistoryReading = { totals: {}, levels: {} };
  const sampler = startHistorySampler({
    db: w.h.tdb.db,
    logger: createLogger({ level: 'error' }),
    everyMs: 3_600_000,
    read: async () => structuredClone(reading),
  });
  const add = (series: string, n: number) => {
    reading.totals[series] = (reading.totals[series] ?? 0) + n;
  };
  const now = Date.now();
  for (let minute = 59; minute >= 0; minute--) {
    const i = 59 - minute;
    add('reconcile:success', 4 + (i % 5));
    if (i % 17 === 3) add('reconcile:error', 1);
    add('pulumi_calls', 30 + 10 * Math.round(2 + 2 * Math.sin(i / 6)));
    if (i % 11 === 5) add('pulumi_429', 2);
    // Cumulative buckets of this minute's 10 revocations.
    const slow = i % 15 === 7 ? 1 : 0;
    for (const [le, n] of [
      ['0.05', 3],
      ['0.1', 7],
      ['0.15', 9 - slow],
      ['0.3', 10 - slow],
      ['0.4', 10],
      ['+Inf', 10],
    ] as const)
      add(`revoke_le:${le}`, n);
    reading.levels = { queue_waiting: Math.max(0, Math.round(12 * Math.sin(i / 9))), outbox_depth: i % 20 < 3 ? 4 : 0, outbox_age_seconds: i % 20 < 3 ? 2 : 0 };
    await sampler.sample(new Date(now - minute * 60_000));
  }
  sampler.stop();
}

describeBrowser('the console in headless Chromium', () => {
  let w: World;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;

  beforeAll(async () => {
    requireChromium();
    w = await startWorld({}, { devIdp: true });
    await scriptedHour(w);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1180, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await w?.close();
  });

  /** /console/ → Sign in → the person's button on the development IdP's page: two clicks. */
  async function signInAs(userName: string): Promise<void> {
    await page.goto(`${w.h.url}/console/`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await Promise.all([page.waitForURL(`${w.h.url}/_dev-idp/sso**`), page.click('#sign-in')]);
    await Promise.all([page.waitForURL(`${w.h.url}/console/`), page.click(`button.person[data-user="${userName}"]`)]);
    expect(await page.textContent('#me')).toBe(userName);
  }

  async function signOut(): Promise<void> {
    await page.click('header button[type="submit"]');
    await page.waitForURL(`${w.h.url}/console/signed-out`);
  }

  it('a person signs in through the development IdP, issues a scoped token and revokes it, and signs out', async () => {
    await signInAs('alice@example.com');
    expect(await page.textContent('#teams .team')).toBe('platform');

    const issue = async (description: string, scope: string) => {
      await page.click('a[href="/console/tokens"]');
      await page.fill('#issue-token input[name="description"]', description);
      await page.fill('#issue-token textarea[name="scope"]', scope);
      await page.click('#issue-token button[type="submit"]');
      const value = (await page.textContent('#token-value'))?.trim();
      expect(value).toMatch(/\S{20,}/);
      return value!;
    };
    await issue('ci-deploy', 'infra/prod:read');
    const value = await issue('browser-made', 'infra/dev:read');

    await page.click('a[href="/console/tokens"]');
    const row = page.locator('#tokens tr', { hasText: 'browser-made' });
    expect(await row.locator('.state').textContent()).toMatch(/^active/);
    expect(await page.content()).not.toContain(value);
    await row.locator('button', { hasText: 'Revoke' }).click();
    await page.waitForURL(`${w.h.url}/console/tokens`);
    expect(await page.locator('#tokens tr', { hasText: 'browser-made' }).locator('.state').textContent()).toMatch(/^revoked/);
    expect(await page.locator('#tokens tr', { hasText: 'ci-deploy' }).locator('.state').textContent()).toMatch(/^active/);
    await screenshot(page, 'tokens');

    await signOut();
    await page.goto(`${w.h.url}/console/tokens`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
  }, 90_000);

  it('an admin reads the status summary and opens a team page from it', async () => {
    await signInAs('ada@example.com');
    await page.click('a[href="/console/admin/status"]');
    expect(await page.textContent('#summary-teams')).toMatch(/^1 team in sync/);
    expect(await page.textContent('#summary')).toMatch(/last reconcile/);
    // The last hour's latency chart, against its objective.
    expect(await page.locator('#status-chart-revoke .objective').count()).toBe(1);
    await screenshot(page, 'status');

    await Promise.all([page.waitForURL(`${w.h.url}/console/admin/teams/platform`), page.click('#teams-status a:text-is("platform")')]);
    expect(await page.textContent('h1')).toBe('Team platform');
    expect(await page.textContent('#team-rules')).toMatch(/test-policy\.yaml:\d+ group "Platform Engineers"/);
    expect(await page.textContent('#team-groups')).toBe('Platform Engineers');
    expect(await page.locator('#team-members tr', { hasText: 'alice@example.com' }).locator('td').nth(1).textContent()).toBe('alice');
    expect(await page.locator('#team-grants td', { hasText: 'infra/prod' }).count()).toBe(1);
    // The live scoped token, not the revoked one.
    expect(await page.locator('#team-tokens tr', { hasText: 'ci-deploy' }).count()).toBe(1);
    expect(await page.locator('#team-tokens tr', { hasText: 'browser-made' }).count()).toBe(0);
    expect(await page.textContent('#team-last-reconcile')).toMatch(/success/);
    expect(await page.locator('#team-audit tr', { hasText: 'addMember' }).count()).toBeGreaterThan(0);
    await screenshot(page, 'team');
  }, 90_000);

  it('an admin sees the charts over the last hour and day', async () => {
    await page.click('a[href="/console/admin/charts"]');
    for (const id of ['chart-revoke', 'chart-queue', 'chart-outbox-age', 'chart-reconciles', 'chart-pulumi']) {
      expect(await page.locator(`#${id} svg`).count()).toBe(1);
    }
    expect(await page.textContent('#chart-revoke .objective text')).toBe('objective p99 ≤ 300 ms');
    // The scripted hour drew every line; no chart says it has nothing.
    expect(await page.locator('.no-data').count()).toBe(0);
    await screenshot(page, 'charts');
    await page.click('a[href="?range=day"]');
    expect(await page.textContent('.range .current')).toBe('Last day');
    expect(await page.locator('#chart-pulumi path.series').count()).toBe(2);
  }, 90_000);

  it('an admin reads the plan in words, grouped by team, removals marked', async () => {
    // The directory moves on: Alice leaves Platform Engineers, Ada joins.
    const db = w.h.tdb.db;
    const group = await db('groups').where({ display_name: 'Platform Engineers' }).first('id');
    const alice = await db('users').where({ user_name: 'alice@example.com' }).first('id');
    const ada = await db('users').where({ user_name: 'ada@example.com' }).first('id');
    await db('group_members').where({ group_id: group.id, user_id: alice.id }).delete();
    await db('group_members').insert({ group_id: group.id, user_id: ada.id });
    w.reconciler.invalidateCaches();

    await page.click('a[href="/console/admin/plan"]');
    const team = page.locator('section.plan-team[data-team="platform"]');
    expect(await team.locator('.plan-counts').textContent()).toMatch(/^\d+ changes: \d+ removals?, 1 addition/);
    expect(await team.locator('li.op-removal', { hasText: 'remove member alice' }).count()).toBe(1);
    expect(await team.locator('li.op-addition', { hasText: 'add member ada' }).count()).toBe(1);
    // Removals are drawn in red.
    expect(
      await team
        .locator('li.op-removal')
        .first()
        .evaluate((li) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(li).color),
    ).toBe('rgb(180, 35, 24)');
    await screenshot(page, 'plan');
  }, 90_000);
});
