import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { escapeHtml } from '../../src/web';
import { encodeResponse, requestIdFromRedirect, signedResponse } from '../auth/test-idp';
import { startWorld, type World } from './world';

/**
 * The console driven by headless Debian Chromium: sign in through a test IdP page that posts a
 * signed SAML response to the ACS, see my teams, issue a scoped token and revoke it, sign out.
 *
 * CI (`.ci/run` sets REQUIRE_BROWSER_TESTS=1 and installs chromium) fails when the browser is
 * missing; elsewhere the test is skipped with a message saying why.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const required = process.env.REQUIRE_BROWSER_TESTS === '1' || process.env.CI !== undefined;
const present = fs.existsSync(CHROMIUM);
if (!present && !required) {
  console.warn(`browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium; CI installs it via .ci/run)`);
}
const describeBrowser = present || required ? describe : describe.skip;

/**
 * A tiny IdP: GET /sso shows a sign-in form; POST /sso signs a response and auto-posts it, with
 * the RelayState it was given, to the ACS — the HTTP-POST binding as Okta and Entra do it.
 */
function startTestIdp(world: () => World): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://idp.local');
    if (req.method === 'GET' && url.pathname === '/sso') {
      const requestId = requestIdFromRedirect(`http://idp.local${req.url}`);
      const relayState = url.searchParams.get('RelayState') ?? '';
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>Test IdP</title><h1>Test IdP</h1>
<form method="post" action="/sso"><input type="hidden" name="requestId" value="${escapeHtml(requestId)}">
<input type="hidden" name="RelayState" value="${escapeHtml(relayState)}">
<label>Username <input name="username" id="username"></label><button id="idp-submit" type="submit">Sign in</button></form>`);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/sso') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const { h } = world();
        const xml = signedResponse(h.responseOptions(form.get('requestId'), form.get('username') ?? ''), h.keys);
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(`<!doctype html><title>Signing in…</title><body onload="document.forms[0].submit()">
<form method="post" action="${h.acsUrl}"><input type="hidden" name="SAMLResponse" value="${encodeResponse(xml)}">
<input type="hidden" name="RelayState" value="${escapeHtml(form.get('RelayState') ?? '')}">
<noscript><button type="submit">Continue</button></noscript></form></body>`);
      });
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      }),
    ),
  );
}

describeBrowser('the console in headless Chromium', () => {
  let w: World;
  let idp: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;

  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing but browser tests are required here (CI): install the Debian chromium package`);
    idp = await startTestIdp(() => w);
    w = await startWorld({ SAML_IDP_SSO_URL: `${idp.url}/sso` });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = context.pages()[0] ?? (await context.newPage());
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await w?.close();
    await idp?.close();
  });

  it('signs in through the IdP, shows my teams, issues and revokes a token, and signs out', async () => {
    await page.goto(`${w.h.url}/console/`);
    expect(new URL(page.url()).pathname).toBe('/console/login');

    await page.click('#sign-in');
    await page.waitForURL(`${idp.url}/sso**`);
    await page.fill('#username', 'alice@example.com');
    await Promise.all([page.waitForURL(`${w.h.url}/console/`), page.click('#idp-submit')]);

    expect(await page.textContent('#me')).toBe('alice@example.com');
    expect(await page.textContent('#teams .team')).toBe('platform');

    await page.click('a[href="/console/tokens"]');
    await page.fill('#issue-token input[name="description"]', 'browser-made');
    await page.fill('#issue-token textarea[name="scope"]', 'infra/dev:read');
    await page.click('#issue-token button[type="submit"]');
    const value = (await page.textContent('#token-value'))?.trim();
    expect(value).toMatch(/\S{20,}/);

    await page.click('a[href="/console/tokens"]');
    const row = page.locator('#tokens tr', { hasText: 'browser-made' });
    expect(await row.locator('.state').textContent()).toMatch(/^active/);
    expect(await page.content()).not.toContain(value!);
    await row.locator('button', { hasText: 'Revoke' }).click();
    await page.waitForURL(`${w.h.url}/console/tokens`);
    expect(await page.locator('#tokens tr', { hasText: 'browser-made' }).locator('.state').textContent()).toMatch(/^revoked/);

    await page.click('header button[type="submit"]');
    await page.waitForURL(`${w.h.url}/console/signed-out`);
    await page.goto(`${w.h.url}/console/tokens`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
  }, 60_000);
});
