import { enqueueFullReconcile, enqueueTeamReconcile } from '../../src/queue';
import { readStatus, queryAudit, TeamBusyError } from '../../src/reconcile';
import { emuTeam, liveTokenIds, okta, seedTeamToken, startHarness, type Harness } from './harness';

/**
 * Okta-shaped directory changes through the real SCIM server converge the emulator: teams,
 * members, grants and creator-bound tokens; a second reconcile writes nothing.
 */

let h: Harness;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
  for (const name of ['alice', 'bob', 'carol', 'erin', 'grace', 'zed', 'dave']) ids[name] = await okta.createUser(h, `${name}@acme.example`);
  ids.platform = await okta.createGroup(h, 'Platform Engineers');
  ids.data = await okta.createGroup(h, 'pulumi-data');
  ids.legacy = await okta.createGroup(h, 'Legacy Ops');
  ids.unmapped = await okta.createGroup(h, 'Marketing');
  await okta.addMembers(h, ids.platform, [ids.alice, ids.bob]);
  await okta.addMembers(h, ids.data, [ids.carol, ids.erin, ids.grace]);
  await okta.addMembers(h, ids.legacy, [ids.carol]);
  await okta.addMembers(h, ids.unmapped, [ids.dave]);
  await h.settle();
});

afterAll(async () => {
  await h.close();
});

async function secondReconcileWrites(): Promise<number> {
  const before = h.emu.calls.writes;
  await enqueueFullReconcile(h.queues, { reason: 'manual' });
  await h.settle();
  return h.emu.calls.writes - before;
}

describe('reconcile against the emulator', () => {
  it('creates mapped teams with members and grants resolved from stack globs', () => {
    expect(emuTeam(h.emu, 'platform')).toEqual({
      kind: 'pulumi',
      displayName: 'Platform Engineers',
      members: ['alice', 'bob'],
      grants: { 'data/dev': 101, 'infra/dev': 103, 'infra/prod': 103, 'infra/staging': 103, 'web/dev': 101 },
    });
    // erin had an account but was not an org member: added to the org first.
    expect(emuTeam(h.emu, 'data')).toMatchObject({ members: ['carol', 'erin'], grants: { 'data/dev': 102, 'infra/dev': 102, 'web/dev': 102 } });
    expect(h.emu.state.members.map((m) => m.login)).toContain('erin');
  });

  it('leaves a hand-made team of the same name untouched and reports it', async () => {
    expect(emuTeam(h.emu, 'legacy-ops')).toEqual({ kind: 'pulumi', displayName: 'Legacy Ops', members: ['alice', 'dave'], grants: { 'infra/prod': 103 } });
    const status = await readStatus(h.scim.db, h.queues);
    expect(status.unownedTeams.map((t) => t.team)).toEqual(['legacy-ops']);
  });

  it('keeps users without a Pulumi account pending', async () => {
    const status = await readStatus(h.scim.db, h.queues);
    expect(status.pendingUsers.map((p) => [p.team, p.login, p.reason])).toEqual([['data', 'grace', 'no-pulumi-account']]);
  });

  it('audits every applied op with the SCIM request that caused it', async () => {
    const { entries } = await queryAudit(h.scim.db, { team: 'platform' });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.outcome === 'applied' && e.category === 'reconcile')).toBe(true);
    expect(entries.every((e) => typeof e.requestId === 'string' && e.requestId.length > 0)).toBe(true);
    expect(entries.map((e) => e.op)).toContain('createTeam');
  });

  it('a second reconcile of an unchanged directory makes no Pulumi writes', async () => {
    expect(await secondReconcileWrites()).toBe(0);
  });

  it('a member who leaves the group is removed, and the tokens they created are revoked', async () => {
    seedTeamToken(h.emu, 'platform', 'bob', 'tok-bob');
    seedTeamToken(h.emu, 'platform', 'alice', 'tok-alice');
    seedTeamToken(h.emu, 'platform', 'ci-robot', 'tok-robot');
    await okta.removeMember(h, ids.platform, ids.bob);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice']);
    expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-alice', 'tok-robot']);
    const status = await readStatus(h.scim.db, h.queues);
    expect(status.unknownCreatorTokens).toEqual([{ team: 'platform', tokenId: 'tok-robot', tokenName: 'platform-tok-robot', createdBy: 'ci-robot' }]);
  });

  it('a deactivated user is removed from every owned team', async () => {
    await okta.addMembers(h, ids.platform, [ids.carol]);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice', 'carol']);
    await okta.deactivate(h, ids.carol);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice']);
    expect(emuTeam(h.emu, 'data')?.members).toEqual(['erin']);
    expect(emuTeam(h.emu, 'legacy-ops')?.members).toEqual(['alice', 'dave']);
  });

  it("a deleted user's tokens are still recognised by the remembered login and revoked", async () => {
    await okta.deleteUser(h, ids.alice);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual([]);
    expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-robot']);
    const { entries } = await queryAudit(h.scim.db, { team: 'platform', op: 'revokeToken' });
    expect(entries.map((e) => [e.subject, e.detail.why])).toEqual(
      expect.arrayContaining([
        ['tok-alice', 'creator-deleted'],
        ['tok-bob', 'creator-left-team'],
      ]),
    );
  });

  it('a renamed group stays bound to the team it was created for: nothing is removed, no team is made, status says so', async () => {
    const before = emuTeam(h.emu, 'data');
    await okta.renameGroup(h, ids.data, 'pulumi-analytics');
    await h.settle();
    expect(emuTeam(h.emu, 'analytics')).toBeUndefined();
    expect(emuTeam(h.emu, 'data')).toEqual({ ...before, displayName: 'pulumi-analytics' });
    const status = await h.scim.db('team_status').where('team', 'data').first('notes');
    expect(status.notes).toContainEqual({ kind: 'groupRenamed', team: 'data', groupId: ids.data, displayName: 'pulumi-analytics' });
  });

  it('drift: changes made by hand to an owned team are repaired and audited as drift', async () => {
    await okta.addMembers(h, ids.platform, [ids.bob]);
    await h.settle();
    const team = h.emu.state.teams.find((t) => t.name === 'platform')!;
    team.members.push({ login: 'dave', role: 'member' });
    team.stacks = team.stacks.filter((s) => !(s.projectName === 'infra' && s.stackName === 'prod'));
    team.stacks.find((s) => s.projectName === 'infra' && s.stackName === 'dev')!.permission = 101;
    await enqueueFullReconcile(h.queues, { reason: 'drift' });
    await h.settle();
    expect(emuTeam(h.emu, 'platform')).toMatchObject({
      members: ['bob'],
      grants: { 'data/dev': 101, 'infra/dev': 103, 'infra/prod': 103, 'infra/staging': 103, 'web/dev': 101 },
    });
    const { entries } = await queryAudit(h.scim.db, { team: 'platform', category: 'drift' });
    expect(entries.map((e) => `${e.op} ${e.subject}`).sort()).toEqual(['addGrant infra/prod', 'removeMember dave', 'widenGrant infra/dev']);
  });

  it('the dry run shows the same ops without applying them', async () => {
    const team = h.emu.state.teams.find((t) => t.name === 'platform')!;
    team.members.push({ login: 'dave', role: 'member' });
    const writes = h.emu.calls.writes;
    const plan = await h.reconciler.planTeam('platform');
    expect(plan.ops).toEqual([{ kind: 'removeMember', team: 'platform', login: 'dave' }]);
    expect(h.emu.calls.writes).toBe(writes);
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob', 'dave']);
    await enqueueTeamReconcile(h.queues, { team: 'platform', reason: 'manual' });
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob']);
  });

  it('after all that, a second reconcile still makes no writes', async () => {
    expect(await secondReconcileWrites()).toBe(0);
  });

  it('never reconciles one team in two places at once (advisory lock)', async () => {
    const conn = await h.scim.db.client.acquireConnection();
    try {
      await conn.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x70697321, 'platform']);
      await expect(h.reconciler.reconcileTeam({ team: 'platform', reason: 'manual' })).rejects.toBeInstanceOf(TeamBusyError);
      await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [0x70697321, 'platform']);
    } finally {
      await h.scim.db.client.releaseConnection(conn);
    }
    await expect(h.reconciler.reconcileTeam({ team: 'platform', reason: 'manual' })).resolves.toMatchObject({ plan: { ops: [] } });
  });

  it('never touches scoped-token teams', async () => {
    const result = await h.reconciler.reconcileTeam({ team: 'pis-tok-abc', reason: 'manual' });
    expect(result.plan.ops).toEqual([]);
  });
});
