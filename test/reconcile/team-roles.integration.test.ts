import { createPulumiClient } from '../../src/pulumi';
import { enqueueFullReconcile } from '../../src/queue';
import { queryAudit, readStatus } from '../../src/reconcile';
import { acmeSeed } from '../helpers/acme-seed';
import { okta, startHarness, type Harness } from './harness';

/**
 * Team roles end to end: SCIM changes through the outbox relay and BullMQ to the emulator. A
 * rule's `admins` group makes its members team admins (and members); leaving it, while staying in
 * the main group, makes them members again. A rule's `role` gives the team that custom role's
 * id; dropping the key unassigns it; a name Pulumi does not know degrades the team with the reason.
 */

const rules = (platformRole: string | null) => `
organization: acme
identity: { login: userNameLocalPart }
teams:
  - team: platform
    group: Platform Engineers
${platformRole ? `    role: ${platformRole}\n` : ''}    admins: Platform Leads
    stacks:
      - { project: infra, stack: dev, permission: write }
  - group: Data Crew
    team: data
    role: nonexistent
`;

let h: Harness;
const ids: Record<string, string> = {};

const roleOf = (team: string, login: string) => h.emu.state.teams.find((t) => t.name === team)?.members.find((m) => m.login === login)?.role;
const roleIdsOf = (team: string) => h.emu.state.teams.find((t) => t.name === team)?.roleIds ?? [];
const auditorsId = () => h.emu.state.roles?.find((r) => r.name === 'auditors')?.id;

async function fullReconcile(): Promise<number> {
  const before = h.emu.calls.writes;
  await enqueueFullReconcile(h.queues, { reason: 'manual' });
  await h.settle();
  return h.emu.calls.writes - before;
}

beforeAll(async () => {
  h = await startHarness({ policyYaml: rules('auditors'), seed: { ...acmeSeed, roles: [{ name: 'auditors' }, { name: 'readers' }] } });
  h.startWorker();
  for (const name of ['alice', 'bob', 'carol', 'dave']) ids[name] = await okta.createUser(h, `${name}@acme.example`);
  ids.platform = await okta.createGroup(h, 'Platform Engineers');
  ids.leads = await okta.createGroup(h, 'Platform Leads');
  ids.data = await okta.createGroup(h, 'Data Crew');
  await okta.addMembers(h, ids.platform, [ids.alice, ids.bob]);
  await okta.addMembers(h, ids.leads, [ids.bob, ids.carol]);
  await okta.addMembers(h, ids.data, [ids.dave]);
  await h.settle();
}, 120_000);

afterAll(async () => {
  await h.close();
});

describe('team admins through SCIM, the relay, BullMQ and the emulator', () => {
  it("members of the rule's admins group are team admins; everyone else is a member; admins are on the team even outside the main group", () => {
    expect(roleOf('platform', 'alice')).toBe('member');
    expect(roleOf('platform', 'bob')).toBe('admin');
    expect(roleOf('platform', 'carol')).toBe('admin');
  });

  it('leaving the admins group while staying in the main group makes them a member again', async () => {
    await okta.removeMember(h, ids.leads, ids.bob);
    await h.settle();
    expect(roleOf('platform', 'bob')).toBe('member');
    const { entries } = await queryAudit(h.scim.db, { team: 'platform', op: 'demoteMember' });
    expect(entries.map((e) => [e.subject, e.outcome])).toEqual([['bob', 'applied']]);
  });

  it('joining the admins group promotes a member', async () => {
    await okta.addMembers(h, ids.leads, [ids.alice]);
    await h.settle();
    expect(roleOf('platform', 'alice')).toBe('admin');
  });

  it('a second reconcile makes no Pulumi writes', async () => {
    expect(await fullReconcile()).toBe(0);
  });

  it('an admin made by hand is made a member again by the drift reconcile, with one write', async () => {
    const hand = createPulumiClient({ baseUrl: h.emu.handEditUrl, accessToken: 'hand' });
    await hand.setTeamMemberRole('acme', 'platform', 'bob', 'admin');
    expect(await fullReconcile()).toBe(1);
    expect(roleOf('platform', 'bob')).toBe('member');
  });
});

describe('custom roles', () => {
  it('a rule with role: auditors gives the team that role id', () => {
    expect(auditorsId()).toBeDefined();
    expect(roleIdsOf('platform')).toEqual([auditorsId()]);
  });

  it("a role name Pulumi does not know degrades that team with the role's name; its members still sync", async () => {
    expect(h.emu.state.teams.find((t) => t.name === 'data')?.members.map((m) => m.login)).toEqual(['dave']);
    expect(roleIdsOf('data')).toEqual([]);
    const status = await readStatus(h.scim.db);
    const data = status.teams.find((t) => t.team === 'data');
    expect(data).toMatchObject({ degraded: true, lastOutcome: 'success' });
    expect(data?.degradedReason).toContain('no custom role named "nonexistent"');
    expect(status.teams.find((t) => t.team === 'platform')?.degraded).toBe(false);
  });

  it("a role assigned by hand in place of the rule's is put back by the drift reconcile, with one write", async () => {
    const readers = h.emu.state.roles?.find((r) => r.name === 'readers')?.id as string;
    const hand = createPulumiClient({ baseUrl: h.emu.handEditUrl, accessToken: 'hand' });
    await hand.assignTeamRole('acme', 'platform', readers);
    expect(roleIdsOf('platform')).toEqual([readers]);
    expect(await fullReconcile()).toBe(1);
    expect(roleIdsOf('platform')).toEqual([auditorsId()]);
  });

  it('removing the role key unassigns the role', async () => {
    h.reloadPolicy(rules(null));
    await fullReconcile();
    expect(roleIdsOf('platform')).toEqual([]);
    const { entries } = await queryAudit(h.scim.db, { team: 'platform', op: 'unassignTeamRole' });
    expect(entries.map((e) => [e.subject, e.outcome])).toEqual([[auditorsId(), 'applied']]);
  });

  it('an org without custom roles gets a status error for the team, not a crash', async () => {
    h.emu.config.customRoles = 404;
    h.reloadPolicy(rules('auditors'));
    await fullReconcile();
    const status = await readStatus(h.scim.db);
    const platform = status.teams.find((t) => t.team === 'platform');
    expect(platform).toMatchObject({ degraded: true, lastOutcome: 'success' });
    expect(platform?.degradedReason).toBe(
      'custom role "auditors" cannot be assigned: the organization has no custom roles (its role catalogue is not available)',
    );
    // Everything else of the team still holds.
    expect(roleOf('platform', 'alice')).toBe('admin');
    h.emu.config.customRoles = 'enabled';
  });
});
