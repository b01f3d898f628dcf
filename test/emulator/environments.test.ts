import { DEFAULT_EMULATOR_CONFIG, type Emulator, startEmulator } from '../../src/emulator';
import { createPulumiClient, NotFoundError, type PulumiClient } from '../../src/pulumi';

/**
 * ESC environments in the emulator, driven through the real client over HTTP
 * (docs/pulumi-api.md, "Environment permissions" and "ESC environments"): the org's environments
 * listed page by page with the `nextToken` cursor sent back as `continuationToken`, and a team's
 * grants made, changed and removed through the team PATCH route.
 */

let emu: Emulator;
let client: PulumiClient;
const ORG = 'acme';
const TEAM = 'platform';

beforeAll(async () => {
  emu = await startEmulator({ org: ORG });
});
afterAll(() => emu.stop());
beforeEach(async () => {
  client = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, retry: { maxAttempts: 1 } });
  await emu.calls.idle();
  emu.calls.reset();
  Object.assign(emu.config, structuredClone(DEFAULT_EMULATOR_CONFIG));
  emu.seed({
    org: ORG,
    members: ['alice'],
    environments: ['infra/prod', 'infra/dev', 'app/dev', { project: 'app', name: 'old', deletedAt: '2026-01-01T00:00:00Z' }],
    teams: [{ name: TEAM, members: ['alice'], environments: [{ projectName: 'app', envName: 'dev', permission: 'read' }] }],
  });
});

const teamEnvironments = async () => (await client.getTeam(ORG, TEAM))?.environments;

describe('ListOrgEnvironments', () => {
  it('pages with nextToken in the answer and continuationToken in the query, soft-deleted ones marked', async () => {
    emu.config.pageSizes.environments = 1;
    const all = await client.listEnvironments(ORG);
    expect(all.map((e) => [e.project, e.name, e.deletedAt ?? null])).toEqual([
      ['infra', 'prod', null],
      ['infra', 'dev', null],
      ['app', 'dev', null],
      ['app', 'old', '2026-01-01T00:00:00Z'],
    ]);
    expect(all[0]).toMatchObject({ organization: ORG, id: expect.any(String), created: expect.any(String), modified: expect.any(String), tags: {} });
    // One page each: a cursor not sent back would bring the first page again, which the client refuses.
    expect(emu.calls.snapshot().byRoute['GET /api/esc/environments/{org}']).toBe(4);
  });

  it('answers 404 for an org that is not the emulated one', async () => {
    await expect(client.listEnvironments('other')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('team environment permissions', () => {
  it('a grant, an edit and a removal each show on the team as §2 shapes them', async () => {
    expect(await teamEnvironments()).toEqual([{ projectName: 'app', envName: 'dev', permission: 'read' }]);
    await client.addEnvironmentPermission(ORG, TEAM, { projectName: 'infra', envName: 'prod', permission: 'open', maxOpenDuration: '1h' });
    await client.editEnvironmentPermission(ORG, TEAM, { projectName: 'app', envName: 'dev', permission: 'write' });
    expect(await teamEnvironments()).toEqual([
      { projectName: 'app', envName: 'dev', permission: 'write' },
      { projectName: 'infra', envName: 'prod', permission: 'open', maxOpenDuration: '1h' },
    ]);
    await client.removeEnvironmentPermission(ORG, TEAM, { projectName: 'app', envName: 'dev' });
    // Already gone: the 404 counts as done.
    await client.removeEnvironmentPermission(ORG, TEAM, { projectName: 'app', envName: 'dev' });
    expect(await teamEnvironments()).toEqual([{ projectName: 'infra', envName: 'prod', permission: 'open', maxOpenDuration: '1h' }]);
    expect(emu.calls.snapshot().writesByRoute).toEqual({ 'PATCH /api/orgs/{org}/teams/{team}': 4 });
  });

  it('a grant on an unknown or soft-deleted environment is 404, a level Pulumi does not name is 400', async () => {
    const patch = (body: unknown) =>
      fetch(`${emu.url}/api/orgs/${ORG}/teams/${TEAM}`, {
        method: 'PATCH',
        headers: { authorization: `token ${emu.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await patch({ addEnvironmentPermission: { projectName: 'infra', envName: 'nope', permission: 'read' } })).toBe(404);
    expect(await patch({ addEnvironmentPermission: { projectName: 'app', envName: 'old', permission: 'read' } })).toBe(404);
    expect(await patch({ addEnvironmentPermission: { projectName: 'infra', envName: 'dev', permission: 'owner' } })).toBe(400);
    expect(await patch({ addEnvironmentPermission: { projectName: 'infra', envName: 'dev', permission: 'read', maxOpenDuration: 'an hour' } })).toBe(400);
    expect(await patch({ editEnvironmentPermission: { projectName: 'infra', envName: 'dev', permission: 'read' } })).toBe(404);
    expect(await patch({ removeEnvironment: { projectName: 'infra' } })).toBe(400);
    expect(await teamEnvironments()).toEqual([{ projectName: 'app', envName: 'dev', permission: 'read' }]);
  });

  it('adding a grant that is there at that level counts as done; at another level it fails', async () => {
    await client.addEnvironmentPermission(ORG, TEAM, { projectName: 'app', envName: 'dev', permission: 'read' });
    await expect(client.addEnvironmentPermission(ORG, TEAM, { projectName: 'app', envName: 'dev', permission: 'admin' })).rejects.toThrow();
    expect(await teamEnvironments()).toEqual([{ projectName: 'app', envName: 'dev', permission: 'read' }]);
  });
});
