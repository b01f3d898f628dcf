import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { auditCommand } from '../../src/cli/audit';
import { runCli } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { recordIntents } from '../../src/reconcile/audit';
import { createAdminApiRouter } from '../../src/web/api';
import { outputSink } from '../helpers/cli-output';
import { emuTeam, okta, startHarness, type Harness } from '../reconcile/harness';

/**
 * The audit log of real reconciles (docs/audit.md): every op an intent and then an outcome
 * naming it; intents a crashed run left open are settled by the team's next reconcile; the
 * admin API filters by person, pages with its cursor and verifies the chain; so does the CLI.
 */

const TOKEN = 'admin-token-for-audit-tests-0123456789';
let h: Harness;
let server: http.Server;
let base: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  const app = createApp({
    logger: h.logger,
    readiness: {},
    mounts: [{ path: '/api/v1', router: createAdminApiRouter({ adminToken: TOKEN, db: h.scim.db, logger: h.logger, reconciler: h.reconciler }) }],
  });
  server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const login of ['alice', 'bob', 'carol']) ids[login] = await okta.createUser(h, `${login}@acme.example`);
  ids.platform = await okta.createGroup(h, 'Platform Engineers');
  await okta.addMembers(h, ids.platform, [ids.alice, ids.bob]);
  while ((await h.relay.drainOnce()) > 0);
  await h.reconcileTeam({ team: 'platform', reason: 'test', requestId: 'req-setup' });
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

/** The parts of the audit and verify answers these tests read. */
interface Answer {
  entries: Array<{ id: string; at: string; op: string; subject: string; outcome: string; completedAt: string | null }>;
  next?: string;
  ok?: boolean;
  entryId?: string;
}

async function api(path: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function cli(...args: string[]) {
  const out = outputSink();
  const err = outputSink();
  const code = await runCli([auditCommand], ['audit', ...args], { config: loadConfig({}), stdout: out.stream, stderr: err.stream, db: async () => h.scim.db });
  return { code, stdout: out.text(), stderr: err.text() };
}

const rows = () => h.scim.db('audit_log').orderBy('id').select('*');

it('writes each op as an intent, then an outcome that names it', async () => {
  const all = await rows();
  const intents = all.filter((r) => r.outcome === 'intent');
  const outcomes = all.filter((r) => r.intent_id !== null);
  expect(intents.map((r) => r.op)).toEqual(expect.arrayContaining(['createTeam', 'addMember', 'addGrant']));
  expect(outcomes).toHaveLength(intents.length);
  for (const intent of intents) {
    const [outcome] = outcomes.filter((o) => o.intent_id === intent.id);
    expect({ op: outcome.op, team: outcome.team, subject: outcome.subject, outcome: outcome.outcome }).toEqual({
      op: intent.op,
      team: intent.team,
      subject: intent.subject,
      outcome: 'applied',
    });
    expect(BigInt(outcome.id)).toBeGreaterThan(BigInt(intent.id));
  }
});

it('the API shows one entry per op, its intent and outcome folded together', async () => {
  const { body } = await api('/api/v1/audit?team=platform&op=addMember');
  expect(body.entries.map((e) => [e.subject, e.outcome, typeof e.completedAt])).toEqual([
    ['bob', 'applied', 'string'],
    ['alice', 'applied', 'string'],
  ]);
});

it('filters by person (userName, SCIM id or login) and pages with the cursor', async () => {
  for (const person of ['alice@acme.example', ids.alice, 'alice']) {
    const { status, body } = await api(`/api/v1/audit?person=${encodeURIComponent(person)}`);
    expect(status).toBe(200);
    expect(body.entries.map((e) => `${e.op} ${e.subject}`)).toEqual(['addMember alice']);
  }
  const seen: string[] = [];
  let cursor = '';
  for (let pages = 0; pages < 50; pages++) {
    const { body } = await api(`/api/v1/audit?team=platform&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    seen.push(...body.entries.map((e) => e.id));
    if (!body.next) break;
    cursor = body.next;
  }
  const { body: everything } = await api('/api/v1/audit?team=platform&limit=1000');
  expect(seen).toEqual(everything.entries.map((e) => e.id));
  expect(new Set(seen).size).toBe(seen.length);
});

it('filters by time range', async () => {
  const { body: all } = await api('/api/v1/audit?limit=1000');
  const newest = all.entries[0].at;
  const { body: upTo } = await api(`/api/v1/audit?until=${encodeURIComponent(newest)}&limit=1000`);
  expect(upTo.entries.every((e) => e.at < newest)).toBe(true);
  const { body: from } = await api(`/api/v1/audit?since=${encodeURIComponent(newest)}&limit=1000`);
  expect(from.entries.length).toBeGreaterThan(0);
  expect(from.entries.length + upTo.entries.length).toBe(all.entries.length);
  expect((await api('/api/v1/audit?since=yesterday')).status).toBe(400);
});

it('a re-run settles the intents a crashed run left open: confirmed when Pulumi shows the effect, superseded when not', async () => {
  // What a worker killed after its intents and before its outcomes leaves: carol's add was
  // announced and reached Pulumi; bob's removal was announced and never sent.
  await okta.addMembers(h, ids.platform, [ids.carol]);
  while ((await h.relay.drainOnce()) > 0);
  const audit = { category: 'reconcile' as const, reason: 'crashed run' };
  const [carolIntent] = await recordIntents(h.scim.db, audit, [{ kind: 'addMember', team: 'platform', login: 'carol', userId: ids.carol }]);
  h.emu.state.teams.find((t) => t.name === 'platform')!.members.push({ login: 'carol', role: 'member' });
  const [bobIntent] = await recordIntents(h.scim.db, audit, [{ kind: 'removeMember', team: 'platform', login: 'bob' }]);

  await h.reconcileTeam({ team: 'platform', reason: 'retry', requestId: 'req-retry' });

  const settled = await h.scim
    .db('audit_log')
    .whereIn('intent_id', [carolIntent, bobIntent])
    .orderBy('id')
    .select('intent_id', 'outcome', 'detail', 'request_id');
  expect(settled).toEqual([
    { intent_id: carolIntent, outcome: 'confirmed', detail: expect.objectContaining({ effect: 'visible' }), request_id: 'req-retry' },
    { intent_id: bobIntent, outcome: 'superseded', detail: expect.objectContaining({ effect: 'absent' }), request_id: 'req-retry' },
  ]);
  // The plan of the re-run decides afresh: carol is in, bob stays (he is still in the group).
  expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice', 'bob', 'carol']);
  const open = await h.scim
    .db('audit_log as i')
    .where('i.outcome', 'intent')
    .whereNotExists(h.scim.db('audit_log as o').whereRaw('o.intent_id = i.id'))
    .count({ n: '*' })
    .first();
  expect(Number(open?.n)).toBe(0);
});

describe('verify', () => {
  it('passes on the untouched log, through the API and the CLI', async () => {
    const { status, body } = await api('/api/v1/audit/verify');
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, entries: (await rows()).length });
    const run = await cli('verify');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit log intact: \d+ entries/) });
    expect(JSON.parse((await cli('verify', '--json')).stdout)).toMatchObject({ ok: true });
  });

  it('after one row is changed in SQL, fails and names that row', async () => {
    const target = (await rows())[3];
    await h.scim.db('audit_log').where('id', target.id).update({ subject: 'mallory' });
    try {
      expect((await api('/api/v1/audit/verify')).body).toMatchObject({ ok: false, entryId: String(target.id) });
      const run = await cli('verify');
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`audit log broken at entry ${target.id}: its contents do not match its hash`);
    } finally {
      await h.scim.db('audit_log').where('id', target.id).update({ subject: target.subject });
    }
    expect((await cli('verify')).code).toBe(0);
  });

  it('after the last row is deleted, fails once the head has been anchored', async () => {
    expect((await cli('anchor')).stdout).toMatch(/^anchored head \d+ [0-9a-f]{64}\n$/);
    const [last, beforeLast] = await h.scim.db('audit_log').orderBy('id', 'desc').limit(2).select('*');
    await h.scim.db('audit_log').where('id', last.id).delete();
    // Rewound as a careful intruder would: the head row alone no longer tells.
    await h.scim.db('audit_head').update({ last_id: beforeLast.id, last_hash: beforeLast.hash });
    const { body } = await api('/api/v1/audit/verify');
    expect(body).toMatchObject({ ok: false, entryId: String(last.id), problem: expect.stringContaining('tail was removed') });
    expect((await cli('verify')).code).toBe(1);
  });

  it('usage mistakes exit 2 with the usage', async () => {
    expect(await cli('sign')).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  });
});
