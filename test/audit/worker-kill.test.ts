import { rmSync } from 'node:fs';
import { createDb, type Db } from '../../src/directory/db';
import { verifyAuditChain } from '../../src/reconcile';
import { acknowledged, createHandTokens, desiredWithout, eventually, expectConverged } from '../chaos/harness';
import { desiredTeams, pushDirectory, seedFor, type DirectoryShape } from '../helpers/stack/directory';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import type { TappedCall } from '../helpers/stack/pulumi-tap';

/**
 * SIGKILL the worker while it is writing to Pulumi, during an initial push and during
 * deprovisioning, and hold every write Pulumi accepted against the audit log (docs/audit.md):
 * each needs an intent appended before it. Then a full reconcile settles every intent the
 * kills left open, and the chain still verifies.
 */

// Teams of 150 members: each reconcile's adds span several intent chunks, so kills land mid-plan.
const SHAPE: DirectoryShape = { users: 300, groups: 4, memberships: 600 };

let stack: Stack;
let db: Db;

beforeAll(async () => {
  stack = await startStack({
    label: 'auditkill',
    seed: seedFor(SHAPE),
    policy: benchPolicy(),
    pulumiLatencyMs: 5,
    workers: 1,
    mode: 'source',
    // A killed worker's job comes back after about twice this.
    env: { WORKER_LOCK_DURATION_MS: '5000' },
  });
  db = createDb({ connectionString: stack.db.url, poolMax: 2 });
}, 90_000);

afterAll(async () => {
  await db?.destroy();
  await stack?.stop();
  // The stack leaves its processes' logs and its data directory (the policy file) behind.
  if (stack)
    for (const file of [stack.daemon.logFile, ...stack.workers.map((w) => w.logFile), stack.env.DATA_DIR]) rmSync(file, { recursive: true, force: true });
});

const accepted = (c: TappedCall) => c.method !== 'GET' && c.status >= 200 && c.status < 300;

/** SIGKILLs the worker each time it has made `writes` more accepted writes, `times` times; starts a new one after each. */
async function killWhileWriting(times: number, writes: number): Promise<number> {
  let killed = 0;
  for (let i = 0; i < times; i++) {
    const from = stack.tap.calls.length;
    await eventually(`${writes} Pulumi writes before kill ${i + 1}`, () => stack.tap.since(from, accepted).length >= writes, 120_000);
    const how = await stack.workers[stack.workers.length - 1].kill();
    if (how === 'SIGKILL') killed += 1;
    stack.startWorker();
  }
  return killed;
}

/** The op an accepted write carried out, as a key an audit intent also yields. */
function keyOfCall(c: TappedCall): string {
  const team = /^\/api\/orgs\/[^/]+\/teams\/([^/]+)$/.exec(c.path)?.[1];
  const body = (c.body ?? {}) as Record<string, { projectName?: string; stackName?: string } | string | undefined>;
  const stackOf = (g: unknown) => `${(g as { projectName: string }).projectName}/${(g as { stackName: string }).stackName}`;
  if (c.method === 'POST' && /\/teams\/pulumi$/.test(c.path)) return `createTeam ${body.name}`;
  if (c.method === 'PATCH' && team) {
    if (body.memberAction === 'add') return `addMember ${team} ${String(body.member).toLowerCase()}`;
    if (body.memberAction === 'remove') return `removeMember ${team} ${String(body.member).toLowerCase()}`;
    if (body.addStackPermission) return `addGrant ${team} ${stackOf(body.addStackPermission)}`;
    if (body.editStackPermission) return `editGrant ${team} ${stackOf(body.editStackPermission)}`;
    if (body.removeStack) return `removeGrant ${team} ${stackOf(body.removeStack)}`;
    if (body.newDisplayName !== undefined) return `updateTeam ${team}`;
  }
  if (c.method === 'DELETE' && team) return `deleteTeam ${team}`;
  const token = /\/tokens\/([^/]+)$/.exec(c.path)?.[1];
  if (c.method === 'DELETE' && token) return `revoke ${token}`;
  const member = /^\/api\/orgs\/[^/]+\/members\/([^/]+)$/.exec(c.path)?.[1];
  if (member) return `${c.method === 'DELETE' ? 'removeOrgMember' : 'addOrgMember'} ${member.toLowerCase()}`;
  return `unrecognised ${c.method} ${c.path}`;
}

function keyOfIntent(i: { op: string; team: string | null; subject: string | null }): string {
  const subject = i.subject?.toLowerCase();
  switch (i.op) {
    case 'revokeToken':
    case 'token.revoked':
      return `revoke ${i.subject}`;
    case 'member.removed':
      return `removeMember ${i.team} ${subject}`;
    case 'narrowGrant':
    case 'widenGrant':
      return `editGrant ${i.team} ${i.subject}`;
    case 'addGrant':
    case 'removeGrant':
      return `${i.op} ${i.team} ${i.subject}`;
    case 'addOrgMember':
    case 'removeOrgMember':
      return `${i.op} ${subject}`;
    case 'createTeam':
    case 'deleteTeam':
    case 'updateTeam':
      return `${i.op} ${i.team}`;
    default:
      return `${i.op} ${i.team} ${subject}`;
  }
}

it('leaves no write Pulumi accepted without an intent in the audit log, and the next reconcile settles every open intent', async () => {
  const killing = killWhileWriting(3, 40);
  const push = await pushDirectory(stack.scim, SHAPE, 4);
  expect(await killing).toBe(3);
  await expectConverged(stack, desiredTeams(SHAPE), 240_000);

  const due = await createHandTokens(stack, SHAPE, [0, 1, 2]);
  const killingAgain = killWhileWriting(1, 2);
  for (const u of [...due.keys(), 3, 4, 5]) await acknowledged(`deactivate user${u}`, () => stack.scim.setActive(push.userIds[u], false));
  expect(await killingAgain).toBe(1);
  await expectConverged(stack, desiredWithout(SHAPE, new Set([...due.keys(), 3, 4, 5])), 240_000);
  await eventually('due tokens revoked', () => [...due.values()].every((id) => stack.emulator.state.tokens.find((t) => t.id === id)?.deleted), 120_000);

  // Every accepted write against the intents announced for it (a retried op announces again).
  const intents: Array<{ op: string; team: string | null; subject: string | null }> = await db('audit_log')
    .where('outcome', 'intent')
    .select('op', 'team', 'subject');
  const announced = new Map<string, number>();
  for (const i of intents) announced.set(keyOfIntent(i), (announced.get(keyOfIntent(i)) ?? 0) + 1);
  const writes = stack.tap.calls.filter(accepted);
  const done = new Map<string, number>();
  for (const c of writes) done.set(keyOfCall(c), (done.get(keyOfCall(c)) ?? 0) + 1);
  const silent = [...done].filter(([key, n]) => (announced.get(key) ?? 0) < n).map(([key, n]) => `${key}: ${n} write(s), ${announced.get(key) ?? 0} intent(s)`);
  expect({ writes: writes.length, silent }).toEqual({ writes: expect.any(Number), silent: [] });
  expect(writes.length).toBeGreaterThan(600);

  // The kills left intents open; a full reconcile settles every one a team reconcile owns.
  await stack.admin.reconcileAll();
  const open = async () =>
    Number(
      (
        await db('audit_log as i')
          .where('i.outcome', 'intent')
          .whereIn('i.category', ['reconcile', 'drift'])
          .whereNotExists(db('audit_log as o').whereRaw('o.intent_id = i.id'))
          .count({ n: '*' })
          .first()
      )?.n,
    );
  await eventually('every reconcile intent settled', async () => (await open()) === 0, 180_000);
  const settled = await db('audit_log').whereIn('outcome', ['confirmed', 'superseded']).count({ n: '*' }).first();
  expect(Number(settled?.n)).toBeGreaterThan(0);
  expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
}, 900_000);
