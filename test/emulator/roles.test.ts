import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient, NotFoundError, type PulumiClient } from '../../src/pulumi';

/**
 * The emulator's team roles (docs/pulumi-api.md, "Team custom roles", "Team members"), driven by
 * the real client over HTTP: the role catalogue, the POST upsert and DELETE, `roleIds` on the
 * team, member roles through promote/demote, and an org without custom roles.
 */

let emu: Emulator;
let client: PulumiClient;

beforeEach(async () => {
  emu = await startEmulator({
    seed: {
      org: 'acme',
      members: ['alice'],
      roles: [{ name: 'auditors' }, { name: 'readers' }],
      teams: [{ name: 'platform', members: ['alice'], role: 'readers' }],
    },
  });
  client = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, retry: { maxAttempts: 1 } });
});
afterEach(() => emu.stop());

const idOf = (name: string) => emu.state.roles?.find((r) => r.name === name)?.id as string;

describe('emulated team roles', () => {
  it('the catalogue lists the built-in roles (with defaultIdentifier) and the custom ones', async () => {
    const roles = await client.listOrgRoles('acme');
    expect(roles.map((r) => [r.name, r.defaultIdentifier])).toEqual([
      ['Admin', 'admin'],
      ['Member', 'member'],
      ['Billing Manager', 'billing-manager'],
      ['auditors', ''],
      ['readers', ''],
    ]);
    const res = await fetch(`${emu.url}/api/orgs/acme/roles`, { headers: { Authorization: `token ${emu.accessToken}` } });
    expect(res.status).toBe(400);
  });

  it('POST replaces the team role (one per team), GET team shows roleIds, DELETE unassigns', async () => {
    expect((await client.getTeam('acme', 'platform'))?.roleIds).toEqual([idOf('readers')]);
    await client.assignTeamRole('acme', 'platform', idOf('auditors'));
    await client.assignTeamRole('acme', 'platform', idOf('auditors'));
    expect((await client.getTeam('acme', 'platform'))?.roleIds).toEqual([idOf('auditors')]);
    await client.unassignTeamRole('acme', 'platform', idOf('auditors'));
    expect((await client.getTeam('acme', 'platform'))?.roleIds).toEqual([]);
  });

  it('answers 404 for an unknown role or a built-in one', async () => {
    await expect(client.assignTeamRole('acme', 'platform', 'role-nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.assignTeamRole('acme', 'platform', 'builtin-admin')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('promote and demote set the member role within the team', async () => {
    await client.setTeamMemberRole('acme', 'platform', 'alice', 'admin');
    expect((await client.getTeam('acme', 'platform'))?.members?.map((m) => [m.githubLogin, m.role])).toEqual([['alice', 'admin']]);
    await client.setTeamMemberRole('acme', 'platform', 'alice', 'member');
    expect((await client.getTeam('acme', 'platform'))?.members?.map((m) => [m.githubLogin, m.role])).toEqual([['alice', 'member']]);
  });

  it('an org without custom roles: the catalogue has built-ins only, or answers 404', async () => {
    emu.config.customRoles = 'builtin-only';
    expect((await client.listOrgRoles('acme')).every((r) => r.defaultIdentifier)).toBe(true);
    await expect(client.assignTeamRole('acme', 'platform', idOf('auditors'))).rejects.toBeInstanceOf(NotFoundError);
    emu.config.customRoles = 404;
    await expect(client.listOrgRoles('acme')).rejects.toBeInstanceOf(NotFoundError);
  });
});
