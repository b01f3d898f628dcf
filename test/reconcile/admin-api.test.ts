import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { QUEUE } from '../../src/queue';
import { createAdminApiRouter } from '../../src/web/api';
import { okta, startHarness, type Harness } from './harness';

/** The admin JSON API over HTTP, on the reconcile harness. */

const TOKEN = 'admin-token-for-tests-0123456789';
let h: Harness;
let server: http.Server;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  const router = createAdminApiRouter({
    adminToken: TOKEN,
    db: h.scim.db,
    logger: h.logger,
    policy: h.policy,
    reconciler: h.reconciler,
    queues: h.queues,
    tokens: h.tokens,
  });
  const disabled = createAdminApiRouter({ adminToken: undefined, db: h.scim.db, logger: h.logger });
  const app = createApp({
    logger: h.logger,
    readiness: {},
    mounts: [
      { path: '/api/v1', router },
      { path: '/off/api/v1', router: disabled },
    ],
  });
  server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const alice = await okta.createUser(h, 'alice@acme.example');
  const group = await okta.createGroup(h, 'Platform Engineers');
  await okta.addMembers(h, group, [alice]);
  while ((await h.relay.drainOnce()) > 0);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

async function call(method: string, path: string, options: { token?: string | null; body?: unknown } = {}) {
  const token = options.token === undefined ? TOKEN : options.token;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('admin API', () => {
  it.each([
    ['no token', null],
    ['a wrong token', 'admin-token-for-tests-0123456780'],
    ['a short token', 'x'],
  ])('refuses %s with 401', async (_name, token) => {
    const res = await call('GET', '/api/v1/status', { token });
    expect(res).toEqual({ status: 401, body: { error: 'unauthorized', message: 'a valid admin bearer token is required' } });
  });

  it('is off (503) when ADMIN_API_TOKEN is unset', async () => {
    expect((await call('GET', '/off/api/v1/status')).status).toBe(503);
  });

  it('plan is a dry run: it lists the ops and applies none', async () => {
    const writes = h.emu.calls.writes;
    const res = await call('GET', '/api/v1/plan');
    expect(res.status).toBe(200);
    const platform = res.body.plans.find((p: { team: string }) => p.team === 'platform');
    expect(platform.ops.map((o: { kind: string }) => o.kind)).toEqual(['createTeam', 'addMember', 'addGrant', 'addGrant', 'addGrant', 'addGrant', 'addGrant']);
    expect(res.body.summary).toMatchObject({ teams: expect.any(Number), ops: expect.any(Number), writes: expect.any(Number) });
    // Levels by name, as the policy file writes them, and a line a person reads for each op.
    expect(platform.ops).toContainEqual({
      kind: 'addGrant',
      team: 'platform',
      projectName: 'infra',
      stackName: 'prod',
      permission: 'admin',
      description: 'grant admin on infra/prod',
    });
    expect(platform.ops.every((o: { description?: unknown }) => typeof o.description === 'string')).toBe(true);
    expect(JSON.stringify(res.body.plans)).not.toMatch(/"(permission|from|to)":10[1-4]/);
    expect(h.emu.calls.writes).toBe(writes);
    expect(h.emu.state.teams.some((t) => t.name === 'platform')).toBe(false);
    expect((await call('GET', '/api/v1/plan?team=platform')).body.plans).toHaveLength(1);
  });

  it('reconcile enqueues a job with the request id; status then shows the team', async () => {
    const res = await fetch(`${base}/api/v1/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-request-id': 'req-admin-1' },
      body: JSON.stringify({ team: 'platform' }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ enqueued: { team: 'platform' }, requestId: 'req-admin-1' });
    const worker = h.startWorker();
    await h.settle();
    await worker.close();
    const status = await call('GET', '/api/v1/status');
    expect(status.status).toBe(200);
    expect(status.body.policy).toMatchObject({ organization: 'acme', digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(status.body.queues[QUEUE.reconcile]).toMatchObject({ wait: 0, active: 0 });
    expect(status.body.outbox).toMatchObject({ depth: 0 });
    expect(status.body.redis).toMatchObject({ evictionPolicy: expect.any(String), ok: expect.any(Boolean) });
    expect(status.body.teams.find((t: { team: string }) => t.team === 'platform')).toMatchObject({
      owned: true,
      lastOutcome: 'success',
      degraded: false,
      lastReconcileAt: expect.any(String),
    });
  });

  it('audit filters and pages', async () => {
    const all = await call('GET', '/api/v1/audit?team=platform&limit=2');
    expect(all.status).toBe(200);
    expect(all.body.entries).toHaveLength(2);
    expect(all.body.next).toEqual(expect.any(String));
    const rest = await call('GET', `/api/v1/audit?team=platform&limit=1000&cursor=${all.body.next}`);
    expect(rest.body.entries.every((e: { id: string }) => BigInt(e.id) < BigInt(all.body.next))).toBe(true);
    expect(rest.body.next).toBeUndefined();
    const grants = await call('GET', '/api/v1/audit?op=addGrant');
    expect(grants.body.entries).toHaveLength(5);
    expect(grants.body.entries.every((e: { op: string }) => e.op === 'addGrant')).toBe(true);
  });

  it("audits the manual reconcile with the admin token's label and channel api", async () => {
    const res = await call('GET', '/api/v1/audit?category=admin&op=reconcile');
    expect(res.body.entries).toEqual([
      expect.objectContaining({ category: 'admin', op: 'reconcile', team: 'platform', actor: 'admin-api-token', channel: 'api', requestId: 'req-admin-1' }),
    ]);
  });

  it('audits a token issued and revoked for someone else, naming the owner', async () => {
    const issued = await call('POST', '/api/v1/tokens', { body: { team: 'platform', owner: 'alice@acme.example', description: 'ci for alice' } });
    expect(issued.status).toBe(201);
    expect((await call('DELETE', `/api/v1/tokens/${issued.body.id}`)).status).toBe(200);
    const res = await call('GET', '/api/v1/audit?category=admin&team=platform');
    const tokenEntries = res.body.entries.filter((e: { op: string }) => e.op.startsWith('token.'));
    expect(tokenEntries).toEqual([
      expect.objectContaining({
        op: 'token.revoke',
        subject: issued.body.id,
        actor: 'admin-api-token',
        channel: 'api',
        detail: expect.objectContaining({ owner: 'alice@acme.example' }),
      }),
      expect.objectContaining({
        op: 'token.issue',
        subject: issued.body.id,
        actor: 'admin-api-token',
        channel: 'api',
        detail: expect.objectContaining({ owner: 'alice@acme.example' }),
      }),
    ]);
    // The tokens part's own entries are still written.
    expect((await call('GET', '/api/v1/audit?category=tokens')).body.entries.map((e: { op: string }) => e.op)).toEqual(['token.revoked', 'token.issued']);
  });

  it.each([
    ['GET', '/api/v1/audit?limit=0', undefined],
    ['GET', '/api/v1/audit?since=yesterday', undefined],
    ['GET', '/api/v1/audit?colour=blue', undefined],
    ['POST', '/api/v1/reconcile', { team: 42 }],
    ['POST', '/api/v1/reconcile', '{not json'],
  ])('%s %s with bad input → 400 with a message', async (method, path, body) => {
    const res = await call(method, path, { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/invalid_request|bad_request/);
    expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(/);
  });
});
