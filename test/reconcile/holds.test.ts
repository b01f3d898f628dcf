import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { holdsCreated, holdsDecided } from '../../src/metrics';
import { enqueueFullReconcile, QUEUE } from '../../src/queue';
import { createAdminApiRouter } from '../../src/web/api';
import { emuTeam, liveTokenIds, okta, seedTeamToken, startHarness, type Harness } from './harness';

/**
 * The guard against mass change through SCIM and the admin API, against the emulator: a mass
 * removal of still-active people waits in a hold until an admin approves it (and stays out when
 * rejected); people deactivated in the IdP are cut off at once, however many.
 */

const TOKEN = 'admin-token-for-tests-0123456789';
const LABEL = 'ops-runbook-token';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** Thirteen people per scenario: twelve leave, one stays. */
const logins = (prefix: string) => Array.from({ length: 13 }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);
const SCENARIOS = { approve: logins('ap'), reject: logins('rj'), leavers: logins('lv') };

let h: Harness;
let server: http.Server;
let base: string;
/** SCIM ids by login, and each scenario's group id. */
const userIds = new Map<string, string>();
const groupIds = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness({ seed: { org: 'acme', members: Object.values(SCENARIOS).flat(), stacks: ['infra/dev'] } });
  const router = createAdminApiRouter({
    adminToken: TOKEN,
    adminTokenLabel: LABEL,
    db: h.scim.db,
    logger: h.logger,
    policy: h.policy,
    reconciler: h.reconciler,
    queues: h.queues,
  });
  const app = createApp({ logger: h.logger, readiness: {}, mounts: [{ path: '/api/v1', router }] });
  server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.startWorker();
  h.startRevokeLane({ sweepEveryMs: 0 });
  for (const [team, people] of Object.entries(SCENARIOS)) {
    const ids = [];
    for (const login of people) {
      const id = await okta.createUser(h, `${login}@acme.example`);
      userIds.set(login, id);
      ids.push(id);
    }
    const group = await okta.createGroup(h, `pulumi-${team}`);
    groupIds.set(team, group);
    await okta.addMembers(h, group, ids);
  }
  await h.settle();
  for (const [team, people] of Object.entries(SCENARIOS)) expect(emuTeam(h.emu, team)?.members).toEqual(people);
}, 120_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

async function call(method: string, path: string) {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

/** One SCIM PATCH that removes twelve members of the scenario's group. */
async function removeTwelve(team: keyof typeof SCENARIOS): Promise<void> {
  const res = await h.scim.request('PATCH', `/Groups/${groupIds.get(team)}`, {
    schemas: [PATCH_URN],
    Operations: SCENARIOS[team].slice(0, 12).map((login) => ({ op: 'remove', path: `members[value eq "${userIds.get(login)}"]` })),
  });
  expect([200, 204]).toContain(res.status);
  await h.settle();
  await h.idle([QUEUE.revoke]);
}

async function pendingHolds(team: string) {
  const res = await call('GET', '/api/v1/holds');
  expect(res.status).toBe(200);
  return (
    res.body.holds as Array<{
      id: string;
      team: string;
      removals: number;
      revocations: number;
      ops: Array<{ kind: string; login: string; description: string }>;
    }>
  ).filter((x) => x.team === team);
}

describe('a mass removal from a mapped group', () => {
  it('waits in one hold, Pulumi keeping all twelve, until an admin approves it', async () => {
    const counted = async () => ({
      opened: (await holdsCreated.get()).values[0]?.value ?? 0,
      approved: (await holdsDecided.get()).values.find((v) => v.labels.decision === 'approved')?.value ?? 0,
    });
    const before = await counted();
    await removeTwelve('approve');
    const holds = await pendingHolds('approve');
    expect(holds).toHaveLength(1);
    const [hold] = holds;
    expect(hold).toMatchObject({ removals: 12, revocations: 0, reason: expect.stringContaining('safety.maxRemovals (10)'), createdAt: expect.any(String) });
    expect(hold.ops.map((op) => op.login).sort()).toEqual(SCENARIOS.approve.slice(0, 12));
    expect(hold.ops[0].description).toMatch(/^remove member ap\d\d$/);
    expect(emuTeam(h.emu, 'approve')?.members).toEqual(SCENARIOS.approve);

    const approved = await call('POST', `/api/v1/holds/${hold.id}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { id: hold.id, status: 'approved', decidedBy: LABEL, decidedChannel: 'api' } });
    expect(await counted()).toEqual({ opened: before.opened + 1, approved: before.approved + 1 });
    await h.settle();
    expect(emuTeam(h.emu, 'approve')?.members).toEqual(['ap13']);
    expect(await pendingHolds('approve')).toEqual([]);
    expect(await h.scim.db('holds').where('id', hold.id).first('status')).toEqual({ status: 'applied' });

    const audit = await call('GET', '/api/v1/audit?category=admin&op=hold.approve');
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ op: 'hold.approve', team: 'approve', subject: hold.id, actor: LABEL, channel: 'api', requestId: approved.body.requestId }),
    ]);
    // Deciding twice is refused; an unknown hold is not found.
    expect(await call('POST', `/api/v1/holds/${hold.id}/reject`)).toMatchObject({ status: 409, body: { error: 'hold_not_pending' } });
    expect(await call('POST', '/api/v1/holds/00000000-0000-4000-8000-000000000000/approve')).toMatchObject({ status: 404, body: { error: 'unknown_hold' } });
    expect(await call('POST', '/api/v1/holds/not-a-uuid/approve')).toMatchObject({ status: 404, body: { error: 'unknown_hold' } });
  });

  it('once rejected stays out: the members stay, and a later full reconcile neither removes them nor opens a new hold', async () => {
    await removeTwelve('reject');
    const [hold] = await pendingHolds('reject');
    expect(hold).toMatchObject({ removals: 12 });
    const rejected = await call('POST', `/api/v1/holds/${hold.id}/reject`);
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected', decidedBy: LABEL, decidedChannel: 'api' } });
    await h.settle();
    expect(emuTeam(h.emu, 'reject')?.members).toEqual(SCENARIOS.reject);

    await enqueueFullReconcile(h.queues, { reason: 'manual' });
    await h.settle();
    expect(emuTeam(h.emu, 'reject')?.members).toEqual(SCENARIOS.reject);
    expect(await pendingHolds('reject')).toEqual([]);
    expect(await h.scim.db('holds').where('team', 'reject').select('status')).toEqual([{ status: 'rejected' }]);
    const audit = await call('GET', '/api/v1/audit?category=admin&op=hold.reject');
    expect(audit.body.entries).toEqual([expect.objectContaining({ team: 'reject', subject: hold.id, actor: LABEL, channel: 'api' })]);
  });
});

describe('twelve people deactivated at once', () => {
  it('are not held: all twelve leave the team and their tokens are revoked', async () => {
    const leavers = SCENARIOS.leavers.slice(0, 12);
    for (const login of leavers) seedTeamToken(h.emu, 'leavers', login, `tok-${login}`);
    seedTeamToken(h.emu, 'leavers', 'lv13', 'tok-lv13');
    for (const login of leavers) await okta.deactivate(h, userIds.get(login)!);
    await h.settle();
    await h.idle([QUEUE.revoke]);
    await h.settle();
    expect(emuTeam(h.emu, 'leavers')?.members).toEqual(['lv13']);
    expect(liveTokenIds(h.emu, 'leavers')).toEqual(['tok-lv13']);
    expect(await h.scim.db('holds').where('team', 'leavers').count({ n: '*' }).first()).toEqual({ n: '0' });
  });
});
