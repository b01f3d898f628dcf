import { deprovisionToRevokeSeconds } from '../../src/metrics';
import { QUEUE } from '../../src/queue';
import { getToken } from '../../src/tokens/ledger';
import { issueToken, sweepTokens } from '../../src/tokens';
import { emuTeam, type Harness, liveTokenIds, okta, seedTeamToken, startHarness } from '../reconcile/harness';

/**
 * Dependent tokens end to end on real infrastructure: SCIM server on Postgres, outbox relay,
 * BullMQ on Redis, the Pulumi emulator. Identity loss goes through the fast revoke lane alone
 * (no reconcile worker runs in the first two cases); grant changes go through team jobs: the team
 * reconcile, then the tokens controller's team step.
 *
 * Grants come from group rules: deleting a group removes the grants its rule gave the team.
 */

const POLICY = `
organization: acme
identity:
  login: userNameLocalPart
teams:
  - group: Platform Engineers
    team: platform
    stacks:
      - { project: infra, stack: "*", permission: read }
  - group: Platform Deployers
    team: platform
    stacks:
      - { project: infra, stack: "*", permission: write }
  - group: Platform App
    team: platform
    stacks:
      - { project: app, stack: dev, permission: read }
  - group: Web Developers
    team: web
    stacks:
      - { project: web, stack: "*", permission: write }
`;

let h: Harness;
const ids: Record<string, string> = {};
let aliceScoped: string;
let bobBoth: { id: string; pulumiTeam: string };
let bobAppOnly: { id: string; pulumiTeam: string };

async function revokeObservations(): Promise<number> {
  return (await deprovisionToRevokeSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

/** Publishes the outbox, then waits (bounded) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    while ((await h.relay.drainOnce()) > 0);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function revokeLaneIdle(): Promise<boolean> {
  const counts = await h.queues.queue(QUEUE.revoke).getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}

beforeAll(async () => {
  h = await startHarness({
    policyYaml: POLICY,
    seed: { members: ['alice', 'bob', 'carol', 'ghost'], stacks: ['infra/dev', 'infra/prod', 'app/dev', 'web/dev'] },
  });
  h.startRevokeLane({ sweepEveryMs: 0 });

  for (const name of ['alice', 'bob', 'carol']) ids[name] = await okta.createUser(h, `${name}@example.com`);
  for (const group of ['Platform Engineers', 'Platform Deployers', 'Platform App', 'Web Developers']) ids[group] = await okta.createGroup(h, group);
  await okta.addMembers(h, ids['Platform Engineers'], [ids.alice, ids.bob]);
  await okta.addMembers(h, ids['Platform Deployers'], [ids.bob]);
  await okta.addMembers(h, ids['Platform App'], [ids.bob]);
  await okta.addMembers(h, ids['Web Developers'], [ids.alice, ids.carol]);
  while ((await h.relay.drainOnce()) > 0);
  await h.queues.queue(QUEUE.reconcile).drain(true);
  await h.queues.queue(QUEUE.revoke).drain(true);

  for (const team of ['platform', 'web']) await h.reconcileTeam({ team, reason: 'test setup' });
  // Tokens people made by hand in the Pulumi console (creator-bound) and one by a bot the
  // directory never knew.
  seedTeamToken(h.emu, 'platform', 'alice', 'tok-alice-platform');
  seedTeamToken(h.emu, 'web', 'alice', 'tok-alice-web');
  seedTeamToken(h.emu, 'platform', 'bob', 'tok-bob-platform');
  seedTeamToken(h.emu, 'web', 'carol', 'tok-carol-web');
  seedTeamToken(h.emu, 'platform', 'ghost', 'tok-ghost-platform');

  aliceScoped = (await issueToken(h.tokens, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'infra', stack: 'dev' }] })).id;
  bobBoth = await issueToken(h.tokens, {
    team: 'platform',
    owner: 'bob@example.com',
    description: '',
    scope: [
      { project: 'infra', stack: 'dev' },
      { project: 'app', stack: 'dev' },
    ],
  });
  bobAppOnly = await issueToken(h.tokens, { team: 'platform', owner: 'bob@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] });
  // Each team reconcile refreshes the token cache the fast lane reads.
  for (const team of ['platform', 'web']) await h.reconcileTeam({ team, reason: 'test setup' });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('creator removed from the group: their tokens on that team are revoked by the fast lane, others untouched', async () => {
  expect(emuTeam(h.emu, bobBoth.pulumiTeam)!.grants).toEqual({ 'app/dev': 101, 'infra/dev': 102 });
  const observedBefore = await revokeObservations();

  await okta.removeMember(h, ids['Platform Engineers'], ids.alice);
  await eventually(
    'alice’s platform tokens revoked',
    async () => !liveTokenIds(h.emu, 'platform').includes('tok-alice-platform') && (await getToken(h.scim.db, aliceScoped))!.state === 'revoked',
  );
  await eventually('revoke lane idle', revokeLaneIdle);

  expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-bob-platform', 'tok-ghost-platform']);
  expect(liveTokenIds(h.emu, 'web')).toEqual(['tok-alice-web', 'tok-carol-web']);
  const scoped = (await getToken(h.scim.db, aliceScoped))!;
  expect(scoped.privateTeam && emuTeam(h.emu, scoped.privateTeam)).toBeUndefined();
  expect((await getToken(h.scim.db, bobBoth.id))!.state).toBe('active');

  // Each revocation is an intent and its outcome (docs/audit.md); the outcomes say what was done.
  const audit = await h.scim.db('audit_log').where({ category: 'tokens', op: 'token.revoked', outcome: 'applied' }).orderBy('id');
  expect(audit).toHaveLength(2);
  const requestIds = new Set(audit.map((a) => a.request_id));
  expect(requestIds.size).toBe(1);
  const [outboxRow] = await h.scim.db('outbox').where({ kind: 'group.members_changed' }).orderBy('id', 'desc').limit(1);
  expect([...requestIds][0]).toBe(outboxRow.request_id);
  const scopedTokenId = scoped.pulumiTokenId;
  expect(audit.map((a) => [a.subject, a.reason]).sort()).toEqual(
    [
      ['tok-alice-platform', 'creator is no longer a member of team platform'],
      [scopedTokenId, 'owner is no longer a member of team platform'],
    ].sort(),
  );
  for (const a of audit) expect(a.detail.latencyMs).toEqual(expect.any(Number));
  expect(await revokeObservations()).toBe(observedBefore + 2);
});

it('creator deactivated: all their tokens on owned teams are revoked', async () => {
  await okta.deactivate(h, ids.alice);
  await eventually('alice’s web token revoked', () => !liveTokenIds(h.emu, 'web').includes('tok-alice-web'));
  await eventually('revoke lane idle', revokeLaneIdle);
  expect(liveTokenIds(h.emu, 'web')).toEqual(['tok-carol-web']);
  expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-bob-platform', 'tok-ghost-platform']);
  const [last] = await h.scim.db('audit_log').where({ category: 'tokens', subject: 'tok-alice-web', outcome: 'applied' });
  expect(last.reason).toBe('creator deactivated in the IdP');
});

it('grant downgraded from write to read: the scoped token’s private team is downgraded, the token kept', async () => {
  h.startWorker();
  await okta.deleteGroup(h, ids['Platform Deployers']);
  await h.settle();
  expect(emuTeam(h.emu, 'platform')!.grants).toMatchObject({ 'infra/dev': 101 });
  expect(emuTeam(h.emu, bobBoth.pulumiTeam)!.grants).toEqual({ 'app/dev': 101, 'infra/dev': 101 });
  expect(liveTokenIds(h.emu, bobBoth.pulumiTeam)).toHaveLength(1);
  expect((await getToken(h.scim.db, bobBoth.id))!.state).toBe('active');
  const [narrowed] = await h.scim.db('audit_log').where({ category: 'tokens', op: 'token.narrowed', team: bobBoth.pulumiTeam, outcome: 'applied' });
  expect(narrowed.request_id).toEqual(expect.any(String));
  expect(narrowed.detail.latencyMs).toEqual(expect.any(Number));
});

it('last granted stack of a scope removed: the token is revoked and its private team deleted', async () => {
  await okta.deleteGroup(h, ids['Platform App']);
  await h.settle();
  expect(await getToken(h.scim.db, bobAppOnly.id)).toMatchObject({
    state: 'revoked',
    revokeReason: "team platform no longer holds any stack or environment in the token's scope",
  });
  expect(emuTeam(h.emu, bobAppOnly.pulumiTeam)).toBeUndefined();
  expect(emuTeam(h.emu, bobBoth.pulumiTeam)!.grants).toEqual({ 'infra/dev': 101 });
  expect((await getToken(h.scim.db, bobBoth.id))!.state).toBe('active');
});

it('leaves the token of an unknown creator alone, and a re-run changes nothing', async () => {
  expect(liveTokenIds(h.emu, 'platform')).toContain('tok-ghost-platform');
  const writes = h.emu.calls.writes;
  const auditRows = (await h.scim.db('audit_log').count('* as n'))[0].n;
  for (const team of ['platform', 'web']) await h.reconcileTeam({ team, reason: 'manual' });
  await sweepTokens(h.tokens);
  for (const userId of [ids.alice, ids.bob]) await h.revokeLane.enqueue({ userId, reason: 'user.deactivated', at: Date.now() });
  await eventually('revoke lane idle', revokeLaneIdle);
  expect(h.emu.calls.writes).toBe(writes);
  expect((await h.scim.db('audit_log').count('* as n'))[0].n).toBe(auditRows);
  expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-bob-platform', 'tok-ghost-platform']);
});
