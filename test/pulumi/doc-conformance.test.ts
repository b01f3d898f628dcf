import { DEFAULT_EMULATOR_CONFIG, type Emulator, startEmulator } from '../../src/emulator';
import { BadRequestError, ConflictError, createPulumiClient, type PulumiClient, type PulumiClientOptions } from '../../src/pulumi';
import { plan } from '../../src/reconcile/plan';
import type { PlanInput } from '../../src/reconcile/types';

/**
 * The points docs/pulumi-api.md leaves open ("Unconfirmed points") where a service built from that document may
 * answer differently from our emulator's defaults, driven through the real client over HTTP
 * against the emulator switched to each alternative: "already done" must count as done, and
 * the same status must still fail when the change is not done (an injected answer that the
 * emulator gives without applying anything). Plus "Permission levels": stack level 104 ("creator", admin access).
 */

let emu: Emulator;
let client: PulumiClient;
const ORG = 'acme';
const TEAM = 'platform';
const TEAM_PATH = `/api/orgs/${ORG}/teams/${TEAM}`;
const STACK = { projectName: 'infra', stackName: 'prod' };

function clientWith(extra: Partial<PulumiClientOptions> = {}): PulumiClient {
  return createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, retry: { maxAttempts: 1 }, ...extra });
}

beforeAll(async () => {
  emu = await startEmulator({ org: ORG });
});
afterAll(() => emu.stop());
beforeEach(async () => {
  // A client per test: each seed brings back token ids and members the previous test's client
  // removed, which a real org never does, and a client remembers what it removed.
  client = clientWith();
  emu.faults.clear();
  await emu.calls.idle();
  emu.calls.reset();
  Object.assign(emu.config, structuredClone(DEFAULT_EMULATOR_CONFIG));
  emu.seed({
    org: ORG,
    members: ['alice', 'bob'],
    stacks: ['infra/prod', 'infra/dev'],
    teams: [{ name: TEAM, members: ['alice'], stacks: [{ ...STACK, permission: 102 }] }],
    tokens: [
      { team: TEAM, name: 'ci', createdBy: 'alice', id: 'tok-team' },
      { name: 'org-ci', createdBy: 'alice', id: 'tok-org' },
    ],
  });
});

/** The emulator answers `status` to the next matching request without applying it. */
function refuseOnce(method: string, path: string, status: number): void {
  emu.faults.add({ method, path, kind: 'status', status, times: 1 });
}

const teamMembers = () => emu.state.teams.find((t) => t.name === TEAM)?.members.map((m) => m.login);
const teamGrants = () => emu.state.teams.find((t) => t.name === TEAM)?.stacks;
const liveTokenIds = () => emu.state.tokens.filter((t) => !t.deleted).map((t) => t.id);

describe('§4/§7.1 remove a member who is not on the team: 204, 404 or 400', () => {
  test.each([204, 404, 400] as const)('%d for a login not on the team is done', async (status) => {
    emu.config.removeAbsentTeamMemberStatus = status;
    await expect(client.removeTeamMember(ORG, TEAM, 'bob')).resolves.toBeUndefined();
  });

  test('a 400 while the login is still on the team fails', async () => {
    refuseOnce('PATCH', TEAM_PATH, 400);
    await expect(client.removeTeamMember(ORG, TEAM, 'alice')).rejects.toBeInstanceOf(BadRequestError);
    expect(teamMembers()).toEqual(['alice']);
  });
});

describe('§3.3/§7.2 grant on a stack the team already holds: overwrite, 409 or 400', () => {
  test.each([409, 400, 'overwrite'] as const)('%s at the same level is done', async (answer) => {
    emu.config.addExistingGrant = answer;
    await expect(client.addStackPermission(ORG, TEAM, { ...STACK, permission: 102 })).resolves.toBeUndefined();
    expect(teamGrants()).toEqual([{ ...STACK, permission: 102 }]);
  });

  test.each([
    [409, ConflictError],
    [400, BadRequestError],
  ] as const)('%d at another level fails: the level is not what was asked', async (answer, kind) => {
    emu.config.addExistingGrant = answer;
    await expect(client.addStackPermission(ORG, TEAM, { ...STACK, permission: 103 })).rejects.toBeInstanceOf(kind);
    expect(teamGrants()).toEqual([{ ...STACK, permission: 102 }]);
  });

  test('a grant whose answer was lost is retried (§6) and the repeat 409 counts as done', async () => {
    emu.config.addExistingGrant = 409;
    const stack = { projectName: 'infra', stackName: 'dev' };
    // The first attempt times out at 3 s and lands at 4 s; the retry follows 6 s after the timeout
    // and meets the grant the first attempt made. Seconds of margin on each side, so a busy
    // machine cannot reorder them or time the retry out.
    emu.faults.add({ method: 'PATCH', path: TEAM_PATH, kind: 'latency', latencyMs: 4000, times: 1 });
    const retrying = clientWith({ timeoutMs: 3000, retry: { maxAttempts: 2, baseDelayMs: 6000, maxDelayMs: 6000 } });
    await expect(retrying.addStackPermission(ORG, TEAM, { ...stack, permission: 101 })).resolves.toBeUndefined();
    expect(teamGrants()).toEqual([
      { ...STACK, permission: 102 },
      { ...stack, permission: 101 },
    ]);
    expect(emu.calls.entries.filter((c) => c.method === 'PATCH').map((c) => c.status)).toEqual([204, 409]);
  });
});

describe('§3.3 revoke a grant the team does not hold: 204, 404 or 400', () => {
  test.each([204, 404, 400] as const)('%d for a missing grant is done', async (status) => {
    emu.config.removeMissingGrant = status;
    await expect(client.removeStackPermission(ORG, TEAM, { projectName: 'infra', stackName: 'dev' })).resolves.toBeUndefined();
  });

  test('a 400 while the grant is still there fails', async () => {
    refuseOnce('PATCH', TEAM_PATH, 400);
    await expect(client.removeStackPermission(ORG, TEAM, STACK)).rejects.toBeInstanceOf(BadRequestError);
    expect(teamGrants()).toEqual([{ ...STACK, permission: 102 }]);
  });
});

describe('§3.6/§7.6 delete a token id that is gone: 404 presumed, 400 or 204 possible', () => {
  test.each([404, 400, 204] as const)('%d for a deleted team token is done, and for a deleted org token', async (status) => {
    emu.config.deleteUnknownTokenStatus = status;
    await client.deleteTeamToken(ORG, TEAM, 'tok-team');
    await client.deleteOrgToken(ORG, 'tok-org');
    expect(liveTokenIds()).toEqual([]);
    await expect(client.deleteTeamToken(ORG, TEAM, 'tok-team')).resolves.toBeUndefined();
    await expect(client.deleteOrgToken(ORG, 'tok-org')).resolves.toBeUndefined();
  });

  test('a 400 while the team token is still listed fails', async () => {
    refuseOnce('DELETE', `${TEAM_PATH}/tokens/tok-team`, 400);
    await expect(client.deleteTeamToken(ORG, TEAM, 'tok-team')).rejects.toBeInstanceOf(BadRequestError);
    expect(liveTokenIds()).toContain('tok-team');
  });

  test('a 400 while the org token is still listed fails', async () => {
    refuseOnce('DELETE', `/api/orgs/${ORG}/tokens/tok-org`, 400);
    await expect(client.deleteOrgToken(ORG, 'tok-org')).rejects.toBeInstanceOf(BadRequestError);
    expect(liveTokenIds()).toContain('tok-org');
  });

  test('a 400 from a team that is gone is done (deleting a team invalidates its tokens, §3.1)', async () => {
    await client.deleteTeam(ORG, TEAM);
    refuseOnce('DELETE', `${TEAM_PATH}/tokens/tok-team`, 400);
    await expect(client.deleteTeamToken(ORG, TEAM, 'tok-team')).resolves.toBeUndefined();
  });
});

describe('§2 stack level 104 (creator) has admin access', () => {
  const base: Omit<PlanInput, 'desired' | 'actual'> = {
    team: TEAM,
    owned: true,
    orgMembers: new Set(['alice', 'bob']),
    identities: new Map(),
    policy: { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: false, revokeUnknownCreators: false },
  };
  const names = { displayName: 'Platform', description: 'd' };

  test('moving a creator grant to write is a narrowing, ordered before members join', () => {
    const result = plan({
      ...base,
      desired: {
        name: TEAM,
        ...names,
        groups: [],
        members: new Map([
          ['alice', { login: 'alice', userId: 'u-a' }],
          ['bob', { login: 'bob', userId: 'u-b' }],
        ]),
        grants: new Map([['infra/prod', { ...STACK, permission: 102 }]]),
        unmappedUsers: 0,
      },
      actual: { name: TEAM, kind: 'pulumi', ...names, members: ['alice'], grants: [{ ...STACK, permission: 104 }], tokens: [] },
    });
    expect(result.ops.map((op) => op.kind)).toEqual(['narrowGrant', 'addMember']);
  });
});
