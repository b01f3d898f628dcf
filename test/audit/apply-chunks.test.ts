import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient } from '../../src/pulumi';
import { applyPlan, verifyAuditChain, type Op } from '../../src/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * `applyPlan`'s audit entries (docs/audit.md, "Intent, then outcome") against a real database
 * and the emulator: the append that records a chunk's outcomes also announces the next chunk
 * while a chunk's calls run, so each op's intent is committed before its call and its outcome
 * follows; when an op fails, the chunk announced ahead of it is completed as not attempted.
 */

let t: TestDatabase;
let emulator: Emulator;
const ORG = 'acme';
const LOGINS = Array.from({ length: 70 }, (_, m) => `user${m}`);

beforeEach(async () => {
  t = await createTestDatabase();
  emulator = await startEmulator({ org: ORG, seed: { members: LOGINS, stacks: ['infra/dev'] } });
});

afterEach(async () => {
  await emulator.stop();
  await t.drop();
});

/** createTeam, then 70 adds (a chunk of 64 and one of 6), then a grant: four chunks. */
const plan: Op[] = [
  { kind: 'createTeam', team: 'web', displayName: 'Web', description: '' },
  ...LOGINS.map((login, m): Op => ({ kind: 'addMember', team: 'web', login, userId: `00000000-0000-4000-8000-${String(m).padStart(12, '0')}` })),
  { kind: 'addGrant', team: 'web', projectName: 'infra', stackName: 'dev', permission: 102 },
];

const apply = () =>
  applyPlan(
    {
      db: t.db,
      client: createPulumiClient({ baseUrl: emulator.url, accessToken: emulator.accessToken }),
      org: ORG,
      audit: { category: 'reconcile', reason: 'test' },
      planTeam: 'web',
      concurrency: 4,
    },
    plan,
  );

interface Row {
  id: string;
  op: string;
  subject: string | null;
  outcome: string;
  intent_id: string | null;
}
const rows = async (): Promise<Row[]> =>
  (await t.db('audit_log').orderBy('id').select('id', 'op', 'subject', 'outcome', 'intent_id')).map((r) => ({
    ...r,
    id: String(r.id),
    intent_id: r.intent_id === null ? null : String(r.intent_id),
  }));

it('gives every op an intent before its outcome, and one outcome each', async () => {
  await apply();
  const all = await rows();
  const intents = all.filter((r) => r.outcome === 'intent');
  expect(intents.map((r) => `${r.op} ${r.subject ?? ''}`.trim())).toEqual(
    plan.map((op) => `${op.kind} ${'login' in op ? op.login : op.kind === 'addGrant' ? 'infra/dev' : ''}`.trim()),
  );
  for (const intent of intents) {
    const outcomes = all.filter((r) => r.intent_id === intent.id);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'applied' })]);
    expect(BigInt(outcomes[0].id)).toBeGreaterThan(BigInt(intent.id));
  }
  expect(emulator.state.teams.find((team) => team.name === 'web')?.members).toHaveLength(70);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 2 * plan.length });
});

it('after a failed op, completes the chunk announced ahead of it as not attempted and announces nothing further', async () => {
  // Every member add fails: the first chunk of adds stops at its first failures.
  emulator.faults.add({ method: 'PATCH', path: '/api/orgs/*/teams/web', kind: 'status', status: 403 });
  await expect(apply()).rejects.toThrow();
  const all = await rows();
  const intents = all.filter((r) => r.outcome === 'intent');
  const outcomeOf = (intent: Row) => all.filter((r) => r.intent_id === intent.id).map((r) => r.outcome);
  // Announced: the team, the 64 adds of the failing chunk and the 6 of the chunk after it; not the grant.
  expect(intents).toHaveLength(1 + 70);
  expect(intents.some((r) => r.op === 'addGrant')).toBe(false);
  for (const intent of intents) expect(outcomeOf(intent)).toHaveLength(1);
  const laterChunk = intents.filter((r) => LOGINS.indexOf(r.subject ?? '') >= 64);
  expect(laterChunk.flatMap(outcomeOf)).toEqual(Array(6).fill('skipped'));
  expect(intents.filter((r) => r.op === 'addMember').flatMap(outcomeOf)).toContain('failed');
  expect(emulator.state.teams.find((team) => team.name === 'web')?.members ?? []).toEqual([]);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
});
