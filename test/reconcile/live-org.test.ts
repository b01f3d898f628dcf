import { loginConflictsDetected } from '../../src/metrics';
import { enqueueFullReconcile, QUEUE } from '../../src/queue';
import { decideHold, listHolds, readStatus } from '../../src/reconcile';
import { emuTeam, liveTokenIds, okta, seedTeamToken, startHarness, type Harness } from './harness';

/**
 * Switching the daemon on against a live org (docs/live-org.md), end to end through SCIM, the
 * relay, BullMQ and the emulator over HTTP: logins that clash, people leaving the org,
 * observe mode, grants-only adoption, groups anchored on their ids.
 */

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('login links', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policyYaml: 'organization: acme\nidentity:\n  login: userNameLocalPart\nteams:\n  - { group: Platform Engineers, team: platform }\n',
      seed: { members: ['alice', 'bob'] },
    });
    h.startWorker();
  });
  afterAll(() => h.close());

  it('two people whose userNames share a local part both wait as login_conflict; neither login joins the team', async () => {
    const detected = async () => (await loginConflictsDetected.get()).values[0]?.value ?? 0;
    const before = await detected();
    const group = await okta.createGroup(h, 'Platform Engineers');
    const corp = await okta.createUser(h, 'alice@corp.example');
    const contractor = await okta.createUser(h, 'alice@contractor.example');
    const bob = await okta.createUser(h, 'bob@corp.example');
    await okta.addMembers(h, group, [corp, contractor, bob]);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob']);
    const pending = await h.scim.db('pending_users').where({ team: 'platform' }).select('login', 'reason');
    expect(pending).toEqual([{ login: 'alice', reason: 'login_conflict' }]);
    const status = await readStatus(h.scim.db);
    expect(status.loginConflicts.map((c) => c.userId).sort()).toEqual([corp, contractor].sort());
    expect(status.loginConflicts.every((c) => c.login === 'alice')).toBe(true);
    // Each person is counted once, when first put in login_conflict, however often it is re-read.
    expect(await detected()).toBe(before + 2);
  });

  it('once one of them leaves, the other gets the login, recorded as their link', async () => {
    const [contractor] = await h.scim.db('users').where('user_name', 'alice@contractor.example').pluck('id');
    const [corp] = await h.scim.db('users').where('user_name', 'alice@corp.example').pluck('id');
    await okta.deleteUser(h, contractor);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice', 'bob']);
    expect(await h.scim.db('identity_links').where('user_id', corp).first('login')).toEqual({ login: 'alice' });
    expect(await h.scim.db('login_conflicts').count({ n: '*' }).first()).toEqual({ n: '0' });
  });

  it('a later userName change does not move the person to another Pulumi account', async () => {
    const [corp] = await h.scim.db('users').where('user_name', 'alice@corp.example').pluck('id');
    const res = await h.scim.request('PATCH', `/Users/${corp}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'userName', value: 'alice.smith@corp.example' }],
    });
    expect(res.status).toBe(200);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice', 'bob']);
    // The change waits for an admin, as a hold, and status shows it.
    const [hold] = await listHolds(h.scim.db);
    expect(hold).toMatchObject({ team: 'platform', ops: [{ kind: 'relinkLogin', userId: corp, from: 'alice', to: 'alice.smith' }] });
    expect((await readStatus(h.scim.db)).loginChanges).toEqual([{ team: 'platform', userId: corp, login: 'alice', proposed: 'alice.smith' }]);
    await decideHold(h.scim.db, hold.id, 'approved', { name: 'test', channel: 'api' });
    await h.reconcileTeam({ team: 'platform', reason: 'hold-approved' });
    expect(await h.scim.db('identity_links').where('user_id', corp).first('login')).toEqual({ login: 'alice.smith' });
  });
});

describe('org lifecycle', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policyYaml: 'organization: acme\nidentity:\n  login: userNameLocalPart\nteams:\n  - { group: Platform Engineers, team: platform }\n',
      seed: { members: [{ login: 'ann', role: 'admin' }, 'bea'], accounts: ['zed', 'yan'] },
    });
    h.startWorker();
  });
  afterAll(() => h.close());

  it('a person the daemon added to the org leaves it within seconds of their deactivation (revoke lane)', async () => {
    h.startRevokeLane({ sweepEveryMs: 0 });
    const group = await okta.createGroup(h, 'Platform Engineers');
    const zed = await okta.createUser(h, 'zed@corp.example');
    await okta.addMembers(h, group, [zed]);
    await h.settle();
    expect(h.emu.state.members.map((m) => m.login)).toContain('zed');
    await okta.deactivate(h, zed);
    while ((await h.relay.drainOnce()) > 0);
    await eventually(
      'zed removed from the org, audited',
      async () => (await h.scim.db('audit_log').where({ op: 'removeOrgMember', subject: 'zed', outcome: 'applied' })).length > 0,
    );
    expect(h.emu.state.members.map((m) => m.login)).not.toContain('zed');
    // The intent, then its outcome (docs/audit.md).
    const entries = await h.scim.db('audit_log').where({ op: 'removeOrgMember', subject: 'zed' }).orderBy('id');
    expect(entries).toMatchObject([
      { outcome: 'intent', reason: 'identity-loss' },
      { outcome: 'applied', reason: 'identity-loss', intent_id: entries[0].id },
    ]);
  });

  it('without the lane, the next full reconcile removes them; members the daemon did not add and org admins stay', async () => {
    await h.queues.queue(QUEUE.revoke).pause();
    const [group] = await h.scim.db('groups').where('display_name', 'Platform Engineers').pluck('id');
    const yan = await okta.createUser(h, 'yan@corp.example');
    const bea = await okta.createUser(h, 'bea@corp.example');
    const ann = await okta.createUser(h, 'ann@corp.example');
    await okta.addMembers(h, group, [yan, bea, ann]);
    await h.settle();
    for (const id of [yan, bea, ann]) await okta.deactivate(h, id);
    await h.settle();
    expect(h.emu.state.members.map((m) => m.login)).toContain('yan');
    await enqueueFullReconcile(h.queues, { reason: 'drift' });
    await eventually('yan removed from the org', () => !h.emu.state.members.some((m) => m.login === 'yan'));
    await h.settle();
    expect(h.emu.state.members.map((m) => m.login).sort()).toEqual(['ann', 'bea', 'idp-sync-bot']);
  });
});

describe('observe mode', () => {
  const POLICY =
    'organization: acme\nidentity:\n  login: userNameLocalPart\nteams:\n  - group: Platform Engineers\n    team: platform\n    stacks:\n      - { project: infra, stack: "*", permission: write }\n';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ policyYaml: `${POLICY}reconcile:\n  mode: observe\n`, seed: { members: ['alice', 'bob'], stacks: ['infra/dev', 'infra/prod'] } });
    h.startWorker();
    h.startRevokeLane({ sweepEveryMs: 0 });
  });
  afterAll(() => h.close());

  it('a full Okta push makes no Pulumi write; the plans are recorded; enforce then converges', async () => {
    const writes = h.emu.calls.writes;
    const group = await okta.createGroup(h, 'Platform Engineers');
    const alice = await okta.createUser(h, 'alice@corp.example');
    const bob = await okta.createUser(h, 'bob@corp.example');
    await okta.addMembers(h, group, [alice, bob]);
    await okta.deactivate(h, bob);
    await h.settle();
    await h.idle([QUEUE.revoke]);
    expect(h.emu.calls.writes).toBe(writes);
    expect(emuTeam(h.emu, 'platform')).toBeUndefined();
    const status = await h.scim.db('team_status').where('team', 'platform').first('last_outcome', 'notes');
    expect(status.last_outcome).toBe('observed');
    expect(status.notes).toContainEqual({ kind: 'observed', team: 'platform', ops: 4 });
    expect((await h.reconciler.planTeam('platform')).ops.map((op) => op.kind)).toEqual(['createTeam', 'addMember', 'addGrant', 'addGrant']);

    h.reloadPolicy(POLICY);
    await enqueueFullReconcile(h.queues, { reason: 'policy-reload' });
    await eventually('platform created', () => emuTeam(h.emu, 'platform') !== undefined);
    await h.settle();
    expect(emuTeam(h.emu, 'platform')).toMatchObject({ members: ['alice'], grants: { 'infra/dev': 102, 'infra/prod': 102 } });
  });
});

describe('adoption per rule', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policyYaml:
        'organization: acme\nidentity:\n  login: userNameLocalPart\nteams:\n  - group: SCIM Ops\n    team: scim-ops\n    adopt: grants\n    stacks:\n      - { project: infra, stack: dev, permission: read }\n',
      seed: {
        members: ['alice', 'bob', 'carol'],
        stacks: ['infra/dev', 'infra/prod'],
        teams: [{ name: 'scim-ops', kind: 'scim', members: ['carol'], stacks: [{ projectName: 'infra', stackName: 'prod', permission: 103 }] }],
      },
    });
    h.startWorker();
  });
  afterAll(() => h.close());

  it('a grants rule on a kind: scim team changes only its grants: members and tokens stay as Pulumi has them', async () => {
    seedTeamToken(h.emu, 'scim-ops', 'carol', 'tok-carol');
    const group = await okta.createGroup(h, 'SCIM Ops');
    const alice = await okta.createUser(h, 'alice@corp.example');
    await okta.addMembers(h, group, [alice]);
    await h.settle();
    expect(emuTeam(h.emu, 'scim-ops')).toMatchObject({ kind: 'scim', members: ['carol'], grants: { 'infra/dev': 101 } });
    expect(liveTokenIds(h.emu, 'scim-ops')).toEqual(['tok-carol']);
    const writes = h.emu.calls.writes;
    await enqueueFullReconcile(h.queues, { reason: 'drift' });
    await h.settle();
    expect(h.emu.calls.writes).toBe(writes);
  });
});

describe('groups anchored on their ids', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policyYaml:
        'organization: acme\nidentity:\n  login: userNameLocalPart\nteams:\n  - group: Platform Engineers\n    team: platform\n    stacks:\n      - { project: infra, stack: dev, permission: write }\n',
      seed: { members: ['alice', 'bob'], stacks: ['infra/dev'] },
    });
    h.startWorker();
    h.startRevokeLane({ sweepEveryMs: 0 });
  });
  afterAll(() => h.close());

  it('a rename in the IdP leaves members, grants and creator-bound tokens untouched, and status says so', async () => {
    const group = await okta.createGroup(h, 'Platform Engineers');
    const alice = await okta.createUser(h, 'alice@corp.example');
    await okta.addMembers(h, group, [alice]);
    await h.settle();
    seedTeamToken(h.emu, 'platform', 'alice', 'tok-alice');
    await h.reconcileTeam({ team: 'platform', reason: 'test setup' });
    const before = emuTeam(h.emu, 'platform');
    await okta.renameGroup(h, group, 'Platform Eng (renamed)');
    await h.settle();
    await h.idle([QUEUE.revoke]);
    expect(emuTeam(h.emu, 'platform')).toEqual({ ...before, displayName: 'Platform Eng (renamed)' });
    expect(liveTokenIds(h.emu, 'platform')).toEqual(['tok-alice']);
    const status = await h.scim.db('team_status').where('team', 'platform').first('notes');
    expect(status.notes).toContainEqual({ kind: 'groupRenamed', team: 'platform', groupId: group, displayName: 'Platform Eng (renamed)' });
  });

  it('a new group that takes the old name makes the rule ambiguous: nobody joins through it, nothing changes, status says why', async () => {
    const impostor = await okta.createGroup(h, 'Platform Engineers');
    const bob = await okta.createUser(h, 'bob@corp.example');
    await okta.addMembers(h, impostor, [bob]);
    const writes = h.emu.calls.writes;
    await h.settle();
    expect(h.emu.calls.writes).toBe(writes);
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice']);
    const status = await h.scim.db('team_status').where('team', 'platform').first('notes');
    expect(status.notes).toContainEqual({ kind: 'blocked', team: 'platform', detail: expect.stringContaining('matches 2 groups') });
  });
});
