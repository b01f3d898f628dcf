import { acmeSeed } from '../helpers/acme-seed';
import { queryAudit, upsertDriftSchedule } from '../../src/reconcile';
import { okta, startHarness, type Harness } from './harness';

/**
 * ESC environment grants end to end on real infrastructure: SCIM writes, the outbox relay,
 * BullMQ workers and the Pulumi emulator over HTTP. A rule's environment globs reach Pulumi as
 * grants, a policy reload (as SIGHUP does) changes each level with one edit, and the drift
 * reconcile repairs a hand-granted environment with one write.
 */

const policy = (permission: string) => `
organization: acme
identity:
  login: userNameLocalPart
teams:
  - group: Platform Engineers
    team: platform
    stacks:
      - { project: infra, stack: dev, permission: read }
    environments:
      - { project: infra, environment: "*", permission: ${permission} }
reconcile:
  every: 500ms
`;

const SEED = {
  ...acmeSeed,
  environments: ['infra/prod', 'infra/dev', 'infra/staging', 'app/dev', { project: 'infra', name: 'gone', deletedAt: '2026-01-01T00:00:00Z' }],
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ policyYaml: policy('open'), seed: SEED });
});
afterAll(async () => {
  await h.close();
});

const environmentsOf = (team: string) =>
  Object.fromEntries((h.emu.state.teams.find((t) => t.name === team)?.environments ?? []).map((e) => [`${e.projectName}/${e.envName}`, e.permission]).sort());

/** Publishes the outbox, then waits (bounded, generous for a busy machine) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    while ((await h.relay.drainOnce()) > 0);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const teamWrites = () => h.emu.calls.snapshot().writesByRoute['PATCH /api/orgs/{org}/teams/{team}'] ?? 0;

describe('ESC environment grants through SCIM, relay, BullMQ and the emulator', () => {
  it('a rule granting open on infra/* gives the team open on exactly the live infra environments; a second reconcile writes nothing', async () => {
    const worker = h.startWorker();
    try {
      const bob = await okta.createUser(h, 'bob@acme.example');
      await okta.addMembers(h, await okta.createGroup(h, 'Platform Engineers'), [bob]);
      await h.settle(60_000);
      expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'open', 'infra/prod': 'open', 'infra/staging': 'open' });
      const audited = await queryAudit(h.scim.db, { op: 'addEnvironmentPermission' });
      expect(audited.entries.map((e) => e.subject).sort()).toEqual(['infra/dev', 'infra/prod', 'infra/staging']);
    } finally {
      await worker.close();
    }
    await h.emu.calls.idle();
    h.emu.calls.reset();
    const again = await h.reconcileTeam({ team: 'platform', reason: 'test' });
    expect(again.plan.ops).toEqual([]);
    expect(h.emu.calls.writes).toBe(0);
  });

  it('editing the rule to read and reloading changes each environment with one edit call', async () => {
    await h.emu.calls.idle();
    h.emu.calls.reset();
    h.reloadPolicy(policy('read'));
    const outcome = await h.reconcileTeam({ team: 'platform', reason: 'policy' });
    expect(outcome.plan.ops.map((op) => op.kind)).toEqual(['editEnvironmentPermission', 'editEnvironmentPermission', 'editEnvironmentPermission']);
    expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'read', 'infra/prod': 'read', 'infra/staging': 'read' });
    expect(h.emu.calls.snapshot().writesByRoute).toEqual({ 'PATCH /api/orgs/{org}/teams/{team}': 3 });
    const edits = await queryAudit(h.scim.db, { op: 'editEnvironmentPermission' });
    expect(
      edits.entries
        .filter((e) => e.outcome === 'applied')
        .map((e) => [e.subject, e.detail.from, e.detail.to])
        .sort(),
    ).toEqual([
      ['infra/dev', 'open', 'read'],
      ['infra/prod', 'open', 'read'],
      ['infra/staging', 'open', 'read'],
    ]);
  });

  it('the drift reconcile removes a hand-granted environment on the owned team with exactly one write', async () => {
    await h.emu.calls.idle();
    h.emu.calls.reset();
    h.emu.state.teams.find((t) => t.name === 'platform')?.environments?.push({ projectName: 'app', envName: 'dev', permission: 'admin' });
    await upsertDriftSchedule(h.queues, h.policy.current);
    const worker = h.startWorker();
    try {
      // The drift scheduler runs every 500ms; wait for Pulumi and for the outcome in the audit log.
      const repaired = async () => (await queryAudit(h.scim.db, { category: 'drift', op: 'removeEnvironment' })).entries.filter((e) => e.outcome === 'applied');
      await eventually(
        'the hand grant is removed by drift',
        async () => environmentsOf('platform')['app/dev'] === undefined && (await repaired()).length === 1,
      );
      expect((await repaired()).map((e) => [e.subject, e.detail.from])).toEqual([['app/dev', 'admin']]);
    } finally {
      await worker.close();
    }
    expect(teamWrites()).toBe(1);
    expect(h.emu.calls.writes).toBe(1);
    expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'read', 'infra/prod': 'read', 'infra/staging': 'read' });
  });
});
