import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { createSessionMiddleware } from '../../src/auth';
import { provisionUser, reasonOf } from '../auth/harness';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';
import { startWorld, type World } from './world';
import { parseScope } from '../../src/web/me-routes';

/**
 * The console over HTTP with its real data sources: what each person sees, CSRF on every form,
 * admin-only pages, tokens issued and revoked through the tokens part against the emulator.
 */

let w: World;
let alice: string;
let bob: string;
let ada: string;

beforeAll(async () => {
  w = await startWorld();
  [alice, bob, ada] = await Promise.all(['alice@example.com', 'bob@example.com', 'ada@example.com'].map((u) => w.h.signInAs(u)));
}, 60_000);
afterAll(async () => {
  await w.close();
});

async function get(path: string, cookie?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${w.h.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function post(path: string, cookie: string, fields: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
  const res = await fetch(`${w.h.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}

function csrfOf(page: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!token) throw new Error('no CSRF field on the page');
  return token;
}

async function csrf(cookie: string): Promise<string> {
  return csrfOf((await get('/console/', cookie)).text);
}

describe('signed out', () => {
  it('sends people to the sign-in page', async () => {
    const res = await get('/console/tokens');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login');
    const login = await get('/console/login');
    expect(login.text).toContain('href="/auth/saml/login"');
  });

  it('serves pages with a script-free Content-Security-Policy and no caching', async () => {
    const res = await get('/console/', alice);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('my teams', () => {
  it('shows Alice her group, her team and the grants policy gives it', async () => {
    const res = await get('/console/', alice);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<strong id="me">alice@example.com</strong>');
    expect(res.text).toContain('<li>Platform Engineers</li>');
    expect(res.text).toMatch(/<td class="team">platform<\/td>/);
    expect(res.text).toContain('<code>infra/*</code>: write');
    expect(res.text).not.toContain('href="/console/admin/status"');
  });

  it("shows each team's role for the person (member, or admin through the admins group alone) and the team's custom role", async () => {
    const alicePage = (await get('/console/', alice)).text;
    expect(alicePage).toContain('<td class="team-role">member<br><small>custom role <code>auditors</code></small></td>');
    await provisionUser(w.h.tdb, 'lena@example.com', { groups: ['Platform Leads'] });
    const lenaPage = (await get('/console/', await w.h.signInAs('lena@example.com'))).text;
    expect(lenaPage).toMatch(/<td class="team">platform<\/td><td>Platform Leads<\/td><td class="team-role">admin</);
  });

  it('shows Bob that no rule maps him to a team', async () => {
    expect((await get('/console/', bob)).text).toContain('No policy rule maps your groups to a Pulumi team.');
  });

  it('shows each person the Pulumi login recorded for them, or that none is yet', async () => {
    expect((await get('/console/', alice)).text).toMatch(/<p id="pulumi-login">Your Pulumi login: <code>alice<\/code>, linked \d{4}-\d{2}-\d{2}\./);
    expect((await get('/console/', bob)).text).toContain('No Pulumi login is linked to you yet');
  });

  it('escapes directory values on the page', async () => {
    await provisionUser(w.h.tdb, 'mallory@example.com', { groups: ['<script>alert(1)</script>'] });
    const cookie = await w.h.signInAs('mallory@example.com');
    const res = await get('/console/', cookie);
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>alert(1)');
  });
});

describe('my tokens', () => {
  it('issues a scoped token, shows its value once, lists it without the value, and revokes it', async () => {
    const issued = await post('/console/tokens', alice, { _csrf: await csrf(alice), team: 'platform', description: 'ci deploys', scope: 'infra/dev:read' });
    expect(issued.status).toBe(201);
    const value = /<p class="secret" id="token-value">([^<]+)<\/p>/.exec(issued.text)?.[1];
    expect(value).toEqual(expect.any(String));
    const pulumiTeam = /Pulumi team <strong>([^<]+)<\/strong>/.exec(issued.text)![1]!;
    const liveOnTeam = () => w.emu.state.tokens.filter((t) => t.team === pulumiTeam && !t.deleted);
    expect(liveOnTeam()).toHaveLength(1);

    const list = await get('/console/tokens', alice);
    expect(list.text).not.toContain(value!);
    const id = /<tr data-token-id="([^"]+)">[\s\S]*?ci deploys/.exec(list.text)?.[1];
    expect(id).toEqual(expect.any(String));
    expect(list.text).toContain('<code>infra/dev:read</code>');

    // Bob cannot revoke Alice's token, even with his own valid CSRF token.
    const byBob = await post(`/console/tokens/${id}/revoke`, bob, { _csrf: await csrf(bob) });
    expect(byBob.status).toBe(403);
    expect((await get('/console/tokens', bob)).text).not.toContain('ci deploys');

    const revoked = await post(`/console/tokens/${id}/revoke`, alice, { _csrf: csrfOf(list.text) });
    expect(revoked.status).toBe(303);
    const after = await get('/console/tokens', alice);
    expect(after.text).toMatch(new RegExp(`data-token-id="${id}"[\\s\\S]*?<td class="state">revoked`));
    expect(liveOnTeam()).toHaveLength(0);
  });

  it('refuses a form without the CSRF token and issues nothing', async () => {
    const before = (await get('/console/tokens', alice)).text.match(/data-token-id=/g)?.length ?? 0;
    const res = await post('/console/tokens', alice, { team: 'platform', description: 'forged' });
    expect(res.status).toBe(403);
    const res2 = await post('/console/tokens', alice, { _csrf: 'x'.repeat(43), team: 'platform', description: 'forged' });
    expect(res2.status).toBe(403);
    expect((await get('/console/tokens', alice)).text.match(/data-token-id=/g)?.length ?? 0).toBe(before);
  });

  it("refuses Bob a token on a team he is not in, with the tokens part's reason on the page", async () => {
    const res = await post('/console/tokens', bob, { _csrf: await csrf(bob), team: 'platform', description: 'nope' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('id="error"');
  });

  it("answers a team the daemon does not manage with the tokens part's status and reason", async () => {
    const res = await post('/console/tokens', alice, { _csrf: await csrf(alice), team: 'nope', description: 'x' });
    expect(res.status).toBe(404);
    expect(res.text).toMatch(/<div class="error" id="error"><p>team &quot;nope&quot; is not managed by this daemon<\/p>/);
  });

  it('explains a malformed scope line', async () => {
    const res = await post('/console/tokens', alice, { _csrf: await csrf(alice), team: 'platform', scope: 'not a stack' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('is not project/stack');
  });

  it('explains an environment line with an unknown permission', async () => {
    const res = await post('/console/tokens', alice, { _csrf: await csrf(alice), team: 'platform', scope: 'env:infra/prod:delete' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('nor env:project/environment[:permission]');
  });

  it.each([
    ['a stack', 'infra/dev', [{ project: 'infra', stack: 'dev' }]],
    ['a stack with a permission', 'infra/dev:read', [{ project: 'infra', stack: 'dev', permission: 'read' }]],
    ['an environment', 'env:infra/prod', [{ environment: { project: 'infra', environment: 'prod' } }]],
    ['an environment with open', 'env:infra/prod:open', [{ environment: { project: 'infra', environment: 'prod', permission: 'open' } }]],
    [
      'both kinds, one a line',
      'infra/*:write\r\n\nenv:infra/*',
      [{ project: 'infra', stack: '*', permission: 'write' }, { environment: { project: 'infra', environment: '*' } }],
    ],
    ['nothing', ' \n ', undefined],
  ])('reads %s from the scope field', (_name, text, expected) => {
    expect(parseScope(text)).toEqual(expected);
  });
});

describe('admin pages', () => {
  it('are refused to people outside the admin group', async () => {
    for (const path of [
      '/console/admin/status',
      '/console/admin/plan',
      '/console/admin/charts',
      '/console/admin/teams/platform',
      '/console/admin/audit',
      '/console/admin/scim-clients',
      '/console/admin/queues',
    ]) {
      const res = await get(path, bob);
      expect({ path, status: res.status, reason: reasonOf(res.text) }).toEqual({ path, status: 403, reason: 'not_admin' });
    }
  });

  it('show the sync status and the dry-run plan to an admin', async () => {
    const status = await get('/console/admin/status', ada);
    expect(status.status).toBe(200);
    expect(status.text).toContain('<div id="status">');
    expect(status.text).toContain('platform');
    const plan = await get('/console/admin/plan', ada);
    expect(plan.status).toBe(200);
    expect(plan.text).toContain('<div id="plan">');
    expect(plan.text).not.toMatch(/\b10[1-4]\b/);
  });

  it('show a team page, and say which team is unknown', async () => {
    const team = await get('/console/admin/teams/platform', ada);
    expect(team.status).toBe(200);
    expect(team.text).toMatch(/<dd id="team-rules"><code>test-policy\.yaml:\d+<\/code> group &quot;Platform Engineers&quot;<\/dd>/);
    expect(team.text).toContain('<td>alice</td>');
    const unknown = await get('/console/admin/teams/nobody-maps-this', ada);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('no team &quot;nobody-maps-this&quot;');
  });

  it('draw the charts over the last hour or day, and refuse another range', async () => {
    const charts = await get('/console/admin/charts?range=day', ada);
    expect(charts.status).toBe(200);
    expect(charts.text.match(/<svg /g)).toHaveLength(5);
    expect(charts.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const bad = await get('/console/admin/charts?range=week', ada);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('range must be hour or day');
  });

  it('filter the audit log', async () => {
    const tokens = await get('/console/admin/audit?category=tokens', ada);
    expect(tokens.status).toBe(200);
    expect(tokens.text).toContain('token.issued');
    expect(tokens.text).not.toMatch(/<td>reconcile<\/td>/);
    const bad = await get('/console/admin/audit?since=yesterday-ish', ada);
    expect(bad.status).toBe(400);
  });

  it('create, rotate and revoke SCIM clients, showing each bearer token once', async () => {
    const token = await csrf(ada);
    const created = await post('/console/admin/scim-clients', ada, { _csrf: token, name: 'okta-prod' });
    expect(created.status).toBe(201);
    const first = /id="token-value">([^<]+)</.exec(created.text)![1]!;
    const listing = (await get('/console/admin/scim-clients', ada)).text;
    expect(listing).toContain('okta-prod');
    expect(listing).not.toContain(first);
    expect(listing).toContain(`…${first.slice(-4)}`);

    const rotated = await post('/console/admin/scim-clients/okta-prod/rotate', ada, { _csrf: token });
    expect(rotated.status).toBe(201);
    const second = /id="token-value">([^<]+)</.exec(rotated.text)![1]!;
    expect(second).not.toBe(first);
    expect(rotated.text).toContain('keeps working until');

    const revoked = await post('/console/admin/scim-clients/okta-prod/revoke', ada, { _csrf: token });
    expect(revoked.status).toBe(303);
    expect((await get('/console/admin/scim-clients', ada)).text).toMatch(/okta-prod <strong>\(revoked/);

    const duplicate = await post('/console/admin/scim-clients', ada, { _csrf: token, name: 'okta-prod' });
    expect(duplicate.status).toBe(400);
  });

  it('serve the BullMQ dashboard and its API to an admin only', async () => {
    const page = await get('/console/admin/queues/', ada);
    expect(page.status).toBe(200);
    expect(page.text).toContain('/console/admin/queues/');
    const api = await get('/console/admin/queues/api/queues', ada);
    expect(api.status).toBe(200);
    const names = ((JSON.parse(api.text) as { queues: Array<{ name: string }> }).queues ?? []).map((q) => q.name).sort();
    expect(names).toEqual(['reconcile', 'revoke']);
    expect((await get('/console/admin/queues/api/queues', bob)).status).toBe(403);
  });
});

describe('sessions', () => {
  it('sign out ends the session in Redis, so the old cookie no longer works', async () => {
    const cookie = await w.h.signInAs('bob@example.com');
    const out = await post('/auth/logout', cookie, { _csrf: await csrf(cookie) });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/console/signed-out');
    expect((await get('/console/', cookie)).status).toBe(303);
  });

  it('refuses sign-out without the CSRF token (no forced logout from another site)', async () => {
    expect((await post('/auth/logout', alice, {})).status).toBe(403);
    expect((await get('/console/', alice)).status).toBe(200);
  });

  it('sets an HttpOnly SameSite=Lax cookie, Secure when the public URL is https', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(createSessionMiddleware({ redis, secret: 's'.repeat(32), secureCookies: true, keyPrefix: `${uniquePrefix()}:` }));
    app.get('/', (req, res) => {
      req.session.personId = 'someone';
      res.send('ok');
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(res.headers.get('set-cookie')).toMatch(/^pis\.sid=.*; HttpOnly; Secure; SameSite=Lax/);
    } finally {
      // fetch keeps its connection alive for seconds; close it too, or the test file outlives its tests.
      server.close();
      server.closeAllConnections();
      redis.disconnect();
    }
    // The harness's PUBLIC_URL is http: the sign-in's cookie (no session before sign-in) is HttpOnly and Lax, without Secure.
    const plain = await fetch(`${w.h.url}/auth/saml/login`, { redirect: 'manual' });
    expect(plain.headers.get('set-cookie')).toMatch(/^pis\.login=.*; HttpOnly; SameSite=Lax$/);
  });
});

describe('my tokens after a rename', () => {
  it("stay with the person: the userName's next holder neither sees nor can revoke them", async () => {
    const issued = await post('/console/tokens', alice, { _csrf: await csrf(alice), team: 'platform', description: 'before the rename' });
    expect(issued.status).toBe(201);
    const id = /<tr data-token-id="([^"]+)">[\s\S]*?before the rename/.exec((await get('/console/tokens', alice)).text)?.[1];
    expect(id).toEqual(expect.any(String));

    await w.h.tdb.db('users').where({ user_name: 'alice@example.com' }).update({ user_name: 'alice.roe@example.com' });
    await provisionUser(w.h.tdb, 'alice@example.com');
    const newHolder = await w.h.signInAs('alice@example.com');
    const theirs = await get('/console/tokens', newHolder);
    expect(theirs.text).toContain('<span class="who">alice@example.com</span>');
    expect(theirs.text).not.toContain('before the rename');
    expect((await post(`/console/tokens/${id}/revoke`, newHolder, { _csrf: csrfOf(theirs.text) })).status).toBe(403);

    const mine = await get('/console/tokens', alice);
    expect(mine.text).toContain('<span class="who">alice.roe@example.com</span>');
    expect(mine.text).toMatch(new RegExp(`data-token-id="${id}"[\\s\\S]*?<td class="state">active`));
  });
});
