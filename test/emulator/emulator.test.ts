import { startEmulator, type Emulator, type EmulatorSeed, SeedError, demoSeed } from '../../src/emulator';

/**
 * The emulator's edge behaviour, checked with raw HTTP so the exact statuses and bodies of
 * docs/pulumi-api.md are asserted (the client maps many of them away).
 */

const seed: EmulatorSeed = {
  org: 'acme',
  admin: { login: 'bot' },
  members: ['alice', 'bob', { login: 'carol', role: 'admin' }],
  accounts: ['dave'],
  idpOnly: ['erin'],
  stacks: ['infra/dev', 'infra/prod', 'web/dev', 'web/prod', { projectName: 'data', stackName: 'dev', tags: { tier: 'gold' } }],
  teams: [
    { name: 'platform', members: ['alice', 'bob'], stacks: [{ projectName: 'infra', stackName: 'dev', permission: 102 }] },
    { name: 'web', members: ['bob'] },
    { name: 'sso', kind: 'scim', members: ['alice'] },
    { name: 'gh', kind: 'github' },
  ],
  tokens: [
    { team: 'platform', name: 'platform-ci', createdBy: 'alice', value: 'pul-platform-ci-secret' },
    { team: 'platform', name: 'old-one', createdBy: 'bob', deleted: true },
    { name: 'org-admin', createdBy: 'carol', admin: true, value: 'pul-org-admin-secret' },
  ],
};

let emu: Emulator;

beforeEach(async () => {
  emu = await startEmulator({ seed, accessToken: 'pul-admin-token', config: { pageSizes: { members: 2, tokens: 2, stacks: 2 } } });
});
afterEach(() => emu.stop());

async function api(method: string, path: string, body?: unknown, token = 'pul-admin-token', prefix = '') {
  const res = await fetch(`${emu.url}${prefix}${path}`, {
    method,
    headers: { Authorization: `token ${token}`, Accept: 'application/vnd.pulumi+8', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

const patch = (team: string, body: unknown) => api('PATCH', `/api/orgs/acme/teams/${team}`, body);
const team = (name: string) => emu.state.teams.find((t) => t.name === name);

describe('transport', () => {
  test('a wrong token, a Bearer scheme and no header are all 401 with the JSON error shape', async () => {
    for (const headers of [{ Authorization: 'token nope' }, { Authorization: 'Bearer pul-admin-token' }, {}] as Array<Record<string, string>>) {
      const res = await fetch(`${emu.url}/api/orgs/acme/teams`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: 401, message: expect.any(String) });
    }
  });

  test('an unknown route is a plain-text 404 from the router, even without credentials', async () => {
    const res = await fetch(`${emu.url}/api/nope/x`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('404 page not found\n');
  });

  test('a known path with the wrong method is 405', async () => {
    expect((await api('PUT', '/api/orgs/acme/teams/platform')).status).toBe(405);
  });

  test('another org is a JSON 404', async () => {
    const res = await api('GET', '/api/orgs/other/teams');
    expect(res).toMatchObject({ status: 404, json: { code: 404 } });
  });

  test('answers carry X-Pulumi-Request-ID; a body that is not JSON is 400', async () => {
    const res = await fetch(`${emu.url}/api/orgs/acme/teams/platform`, {
      method: 'PATCH',
      headers: { Authorization: 'token pul-admin-token', 'Content-Type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-pulumi-request-id')).toEqual(expect.any(String));
  });
});

describe('teams', () => {
  test('create answers 201 with the team; a taken name is 409 already_exists; display name over 100 is 400', async () => {
    const created = await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'new', displayName: 'New', description: '' });
    expect(created).toMatchObject({ status: 201, json: { name: 'new', kind: 'pulumi', members: [], stacks: [] } });
    const again = await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'new', displayName: 'New', description: '' });
    expect(again).toMatchObject({ status: 409, json: { code: 409, errors: [{ errorType: 'already_exists' }] } });
    const long = await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'long', displayName: 'x'.repeat(101), description: '' });
    expect(long.status).toBe(400);
    const missing = await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'nodisplay' });
    expect(missing.status).toBe(400);
  });

  test('team names follow the configured length and charset (UNCONFIRMED switch)', async () => {
    expect((await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'a'.repeat(41), displayName: '', description: '' })).status).toBe(400);
    expect((await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'has space', displayName: '', description: '' })).status).toBe(400);
    emu.config.teamNameMaxLength = 60;
    expect((await api('POST', '/api/orgs/acme/teams/pulumi', { name: 'a'.repeat(41), displayName: '', description: '' })).status).toBe(201);
  });

  test('list entries are summaries by default and full with listTeamsDetail=full', async () => {
    const summary = await api('GET', '/api/orgs/acme/teams');
    expect(summary.json.teams).toHaveLength(4);
    expect(summary.json.teams[0]).not.toHaveProperty('members');
    emu.config.listTeamsDetail = 'full';
    const full = await api('GET', '/api/orgs/acme/teams');
    expect(full.json.teams[0].members.map((m: { githubLogin: string }) => m.githubLogin)).toEqual(['alice', 'bob']);
  });

  test('get returns members as UserInfo + role and stacks as grants', async () => {
    const res = await api('GET', '/api/orgs/acme/teams/platform');
    expect(res.json).toMatchObject({
      name: 'platform',
      kind: 'pulumi',
      members: [
        { githubLogin: 'alice', name: 'Alice', role: 'member' },
        { githubLogin: 'bob', role: 'member' },
      ],
      stacks: [{ projectName: 'infra', stackName: 'dev', permission: 102 }],
    });
  });

  test('deleting a team is 204, then 404, and invalidates its tokens', async () => {
    expect((await api('GET', '/api/orgs/acme/teams', undefined, 'pul-platform-ci-secret')).status).toBe(200);
    expect((await api('DELETE', '/api/orgs/acme/teams/platform')).status).toBe(204);
    expect((await api('DELETE', '/api/orgs/acme/teams/platform')).status).toBe(404);
    expect((await api('GET', '/api/orgs/acme/teams', undefined, 'pul-platform-ci-secret')).status).toBe(401);
    expect(emu.state.tokens.find((t) => t.name === 'platform-ci')?.deleted).toBe(true);
  });

  test('update: both fields → 204; an empty field keeps the value by default, clears it when configured', async () => {
    expect((await patch('web', { newDisplayName: 'Web', newDescription: 'The web team' })).status).toBe(204);
    expect(team('web')).toMatchObject({ displayName: 'Web', description: 'The web team' });
    await patch('web', { newDisplayName: 'Web 2', newDescription: '' });
    expect(team('web')).toMatchObject({ displayName: 'Web 2', description: 'The web team' });
    emu.config.updateTeamEmptyField = 'clear';
    await patch('web', { newDisplayName: 'Web 2', newDescription: '' });
    expect(team('web')?.description).toBe('');
  });

  test('one change kind per PATCH: several are 400 (UNCONFIRMED switch applies them all)', async () => {
    const body = { memberAction: 'add', member: 'carol', removeStack: { projectName: 'infra', stackName: 'dev' } };
    expect((await patch('platform', body)).status).toBe(400);
    expect((await patch('platform', {})).status).toBe(400);
    emu.config.multipleChangesPerPatch = 'apply';
    expect((await patch('platform', body)).status).toBe(204);
    expect(team('platform')?.members.map((m) => m.login)).toContain('carol');
    expect(team('platform')?.stacks).toEqual([]);
  });
});

describe('team membership', () => {
  test('add → 204; again → 409; remove → 204; again → 404', async () => {
    expect((await patch('web', { memberAction: 'add', member: 'alice' })).status).toBe(204);
    expect((await patch('web', { memberAction: 'add', member: 'alice' })).status).toBe(409);
    expect((await patch('web', { memberAction: 'remove', member: 'alice' })).status).toBe(204);
    expect((await patch('web', { memberAction: 'remove', member: 'alice' })).status).toBe(404);
  });

  test('the UNCONFIRMED codes follow their switches', async () => {
    emu.config.addExistingTeamMemberStatus = 204;
    emu.config.removeAbsentTeamMemberStatus = 204;
    expect((await patch('web', { memberAction: 'add', member: 'bob' })).status).toBe(204);
    expect((await patch('web', { memberAction: 'remove', member: 'alice' })).status).toBe(204);
    expect(team('web')?.members.map((m) => m.login)).toEqual(['bob']);
  });

  test('an account that is not an org member → 400 (switchable to 404); an unknown login → 404', async () => {
    expect((await patch('web', { memberAction: 'add', member: 'dave' })).status).toBe(400);
    emu.config.addNonOrgMemberStatus = 404;
    expect((await patch('web', { memberAction: 'add', member: 'dave' })).status).toBe(404);
    expect((await patch('web', { memberAction: 'add', member: 'zed' })).status).toBe(404);
  });

  test('scim and github teams refuse membership edits (400 by default, switchable)', async () => {
    expect((await patch('sso', { memberAction: 'add', member: 'bob' })).status).toBe(400);
    expect((await patch('gh', { memberAction: 'add', member: 'bob' })).status).toBe(400);
    emu.config.nonPulumiTeamMembershipEdit = 403;
    expect((await patch('sso', { memberAction: 'remove', member: 'alice' })).status).toBe(403);
    emu.config.nonPulumiTeamMembershipEdit = 'allow';
    expect((await patch('sso', { memberAction: 'add', member: 'bob' })).status).toBe(204);
  });

  test('grants on a scim team are still allowed', async () => {
    expect((await patch('sso', { addStackPermission: { projectName: 'web', stackName: 'dev', permission: 101 } })).status).toBe(204);
  });

  test('promote and demote switch the team role', async () => {
    expect((await patch('platform', { memberAction: 'promote', member: 'bob' })).status).toBe(204);
    expect(team('platform')?.members.find((m) => m.login === 'bob')?.role).toBe('admin');
    expect((await patch('platform', { memberAction: 'demote', member: 'bob' })).status).toBe(204);
    expect((await patch('platform', { memberAction: 'bogus', member: 'bob' })).status).toBe(400);
  });
});

describe('stack permissions', () => {
  const grant = (kind: string, permission: unknown, stackName = 'prod') => patch('platform', { [kind]: { projectName: 'infra', stackName, permission } });

  test.each([0, 100, 104, '102', null])('permission %p is 400', async (permission) => {
    expect((await grant('addStackPermission', permission)).status).toBe(400);
  });

  test('add → 204; add again → 409 (switch: overwrite); edit changes the level; remove → 204 then 404', async () => {
    expect((await grant('addStackPermission', 101)).status).toBe(204);
    expect((await grant('addStackPermission', 103)).status).toBe(409);
    expect((await grant('editStackPermission', 103)).status).toBe(204);
    expect(team('platform')?.stacks).toContainEqual({ projectName: 'infra', stackName: 'prod', permission: 103 });
    emu.config.addExistingGrant = 'overwrite';
    expect((await grant('addStackPermission', 102)).status).toBe(204);
    expect(team('platform')?.stacks).toContainEqual({ projectName: 'infra', stackName: 'prod', permission: 102 });
    const remove = () => patch('platform', { removeStack: { projectName: 'infra', stackName: 'prod' } });
    expect((await remove()).status).toBe(204);
    expect((await remove()).status).toBe(404);
    emu.config.removeMissingGrant = 204;
    expect((await remove()).status).toBe(204);
  });

  test('edit without a grant → 404 (switch: create); a stack that does not exist → 404 (switch: allow)', async () => {
    expect((await grant('editStackPermission', 102)).status).toBe(404);
    emu.config.editMissingGrant = 'create';
    expect((await grant('editStackPermission', 102)).status).toBe(204);
    expect((await grant('addStackPermission', 101, 'no-such-stack')).status).toBe(404);
    emu.config.grantOnUnknownStack = 'allow';
    expect((await grant('addStackPermission', 101, 'no-such-stack')).status).toBe(204);
  });
});

describe('tokens', () => {
  const create = (name: string, extra: Record<string, unknown> = {}) =>
    api('POST', '/api/orgs/acme/teams/platform/tokens', { name, description: 'd', expires: 0, ...extra });

  test('create → 200 {id, tokenValue}; the value is never listed; createdBy is the caller', async () => {
    const res = await create('deploy');
    expect(res).toMatchObject({ status: 200, json: { id: expect.any(String), tokenValue: expect.stringMatching(/^pul-/) } });
    const listed = await api('GET', '/api/orgs/acme/teams/platform/tokens');
    expect(listed.text).not.toContain(res.json.tokenValue);
    expect(JSON.stringify(emu.state)).not.toContain(res.json.tokenValue);
    const all = [
      ...listed.json.tokens,
      ...(await api('GET', `/api/orgs/acme/teams/platform/tokens?continuationToken=${listed.json.continuationToken ?? ''}`)).json.tokens,
    ];
    expect(all.find((t: { id: string }) => t.id === res.json.id)).toMatchObject({ name: 'deploy', createdBy: 'bot', type: 'team' });
  });

  test('names: at most 40 characters, unique org-wide including deleted and org tokens', async () => {
    expect((await create('x'.repeat(41))).status).toBe(400);
    expect((await create('x'.repeat(40))).status).toBe(200);
    expect((await create('old-one')).status).toBe(409);
    expect((await create('org-admin')).status).toBe(409);
    expect((await api('POST', '/api/orgs/acme/teams/web/tokens', { name: 'platform-ci' })).status).toBe(409);
    emu.config.tokenNameTakenStatus = 400;
    expect((await create('platform-ci')).status).toBe(400);
  });

  test('expires: omitted means 0; past or beyond two years is 400', async () => {
    expect((await api('POST', '/api/orgs/acme/teams/platform/tokens', { name: 'no-expiry' })).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    expect((await create('past', { expires: now - 10 })).status).toBe(400);
    expect((await create('far', { expires: now + 3 * 365 * 24 * 3600 })).status).toBe(400);
    expect((await create('soon', { expires: now + 3600 })).status).toBe(200);
  });

  test('delete → 204 then 404 (switchable); an org token id on the team route is 400', async () => {
    const id = emu.state.tokens.find((t) => t.name === 'platform-ci')!.id;
    expect((await api('DELETE', `/api/orgs/acme/teams/platform/tokens/${id}`)).status).toBe(204);
    expect((await api('DELETE', `/api/orgs/acme/teams/platform/tokens/${id}`)).status).toBe(404);
    expect((await api('GET', '/api/orgs/acme/teams', undefined, 'pul-platform-ci-secret')).status).toBe(401);
    const orgId = emu.state.tokens.find((t) => t.name === 'org-admin')!.id;
    expect((await api('DELETE', `/api/orgs/acme/teams/platform/tokens/${orgId}`)).status).toBe(400);
    emu.config.deleteUnknownTokenStatus = 204;
    expect((await api('DELETE', '/api/orgs/acme/teams/platform/tokens/nope')).status).toBe(204);
  });

  test('a team token may read, not write, and its lastUsed is recorded', async () => {
    expect((await api('GET', '/api/user/stacks', undefined, 'pul-platform-ci-secret')).status).toBe(200);
    expect(emu.state.tokens.find((t) => t.name === 'platform-ci')!.lastUsed).toBeGreaterThan(0);
    expect((await api('PATCH', '/api/orgs/acme/teams/web', { newDisplayName: 'y' }, 'pul-platform-ci-secret')).status).toBe(403);
    expect((await api('PATCH', '/api/orgs/acme/teams/web', { newDisplayName: 'y' }, 'pul-org-admin-secret')).status).toBe(204);
  });

  test('filters: active (default), expired, all; a bad filter is 400', async () => {
    emu.state.tokens.push({ ...emu.state.tokens[0], id: 'tok-expired', name: 'expired', expires: 1000, deleted: false });
    const names = async (filter: string) => {
      const res = await api('GET', `/api/orgs/acme/teams/platform/tokens?maxResults=100${filter ? `&filter=${filter}` : ''}`);
      return res.json.tokens.map((t: { name: string }) => t.name);
    };
    expect(await names('')).toEqual(['platform-ci']);
    expect(await names('expired')).toEqual(['expired']);
    expect(await names('all')).toEqual(['platform-ci', 'expired']);
    expect((await api('GET', '/api/orgs/acme/teams/platform/tokens?filter=deleted')).status).toBe(400);
  });
});

describe('pagination', () => {
  test('continuationToken walks every page and is absent on the last', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api('GET', `/api/user/stacks?organization=acme${cursor ? `&continuationToken=${cursor}` : ''}`);
      seen.push(...res.json.stacks.map((s: { projectName: string; stackName: string }) => `${s.projectName}/${s.stackName}`));
      cursor = res.json.continuationToken;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['infra/dev', 'infra/prod', 'web/dev', 'web/prod', 'data/dev']);
  });

  test('maxResults lowers the page size; out of range is 400; a foreign or garbled cursor is 400', async () => {
    const one = await api('GET', '/api/user/stacks?organization=acme&maxResults=1');
    expect(one.json.stacks).toHaveLength(1);
    expect((await api('GET', '/api/user/stacks?maxResults=0')).status).toBe(400);
    expect((await api('GET', '/api/user/stacks?maxResults=1001')).status).toBe(400);
    expect((await api('GET', '/api/user/stacks?continuationToken=garbage')).status).toBe(400);
    const members = await api('GET', '/api/orgs/acme/members');
    expect((await api('GET', `/api/user/stacks?organization=acme&continuationToken=${members.json.continuationToken}`)).status).toBe(400);
  });

  test('stack filters: project and tag', async () => {
    expect((await api('GET', '/api/user/stacks?organization=acme&project=web')).json.stacks.map((s: { stackName: string }) => s.stackName)).toEqual([
      'dev',
      'prod',
    ]);
    expect((await api('GET', '/api/user/stacks?organization=acme&tagName=tier&tagValue=gold')).json.stacks).toHaveLength(1);
    expect((await api('GET', '/api/user/stacks?organization=elsewhere')).json.stacks).toEqual([]);
  });
});

describe('org members', () => {
  test('frontend roster is the members; backend adds IdP-only people and the org placeholder; bad type is 400', async () => {
    const roster = async (type: string) => {
      const out: Array<{ user: { githubLogin: string }; knownToPulumi: boolean }> = [];
      let cursor = '';
      do {
        const res = await api('GET', `/api/orgs/acme/members?type=${type}${cursor ? `&continuationToken=${cursor}` : ''}`);
        out.push(...res.json.members);
        cursor = res.json.continuationToken ?? '';
      } while (cursor);
      return out;
    };
    expect((await roster('frontend')).map((m) => m.user.githubLogin)).toEqual(['bot', 'alice', 'bob', 'carol']);
    const backend = await roster('backend');
    expect(backend.map((m) => m.user.githubLogin)).toEqual(['acme', 'bot', 'alice', 'bob', 'carol', 'erin']);
    expect(backend.find((m) => m.user.githubLogin === 'erin')?.knownToPulumi).toBe(false);
    expect((await api('GET', '/api/orgs/acme/members?type=everyone')).status).toBe(400);
  });

  test('add: 200 member; 409 already; 404 no account; 400 bad role', async () => {
    expect(await api('POST', '/api/orgs/acme/members/dave', { role: 'member' })).toMatchObject({
      status: 200,
      json: { user: { githubLogin: 'dave' }, role: 'member', knownToPulumi: true },
    });
    expect((await api('POST', '/api/orgs/acme/members/dave', { role: 'member' })).status).toBe(409);
    expect((await api('POST', '/api/orgs/acme/members/zed', { role: 'member' })).status).toBe(404);
    expect((await api('POST', '/api/orgs/acme/members/dave', { role: 'owner' })).status).toBe(400);
  });

  test('remove: 204 and gone from every team; 404 after; removing yourself is 400', async () => {
    expect((await api('DELETE', '/api/orgs/acme/members/bob')).status).toBe(204);
    expect(emu.state.teams.filter((t) => t.members.some((m) => m.login === 'bob'))).toEqual([]);
    expect((await api('DELETE', '/api/orgs/acme/members/bob')).status).toBe(404);
    expect((await api('DELETE', '/api/orgs/acme/members/bot')).status).toBe(400);
  });

  test('teams of one member', async () => {
    expect((await api('GET', '/api/orgs/acme/members/alice/teams')).json).toEqual({ teams: ['platform', 'sso'] });
    expect((await api('GET', '/api/orgs/acme/members/dave/teams')).status).toBe(404);
  });
});

describe('faults and the call log', () => {
  test('a fault fires only `times` times; rate 0 never fires; a dropped connection has no answer', async () => {
    emu.faults.add({ path: '/api/orgs/*/teams', kind: 'status', status: 503, times: 1 });
    emu.faults.add({ path: '/api/user/stacks', kind: 'status', status: 500, rate: 0 });
    expect((await api('GET', '/api/orgs/acme/teams')).status).toBe(503);
    expect((await api('GET', '/api/orgs/acme/teams')).status).toBe(200);
    expect((await api('GET', '/api/user/stacks')).status).toBe(200);
    emu.faults.add({ method: 'GET', path: '/api/orgs/acme/**', kind: 'drop' });
    await expect(api('GET', '/api/orgs/acme/teams/platform')).rejects.toThrow();
    expect(emu.calls.entries.map((e) => [e.status, e.fault])).toEqual([
      [503, 'status'],
      [200, undefined],
      [200, undefined],
      [0, 'drop'],
    ]);
  });

  test('counters: writes by route template; reset', async () => {
    await patch('web', { memberAction: 'add', member: 'alice' });
    await patch('web', { memberAction: 'add', member: 'alice' });
    await api('GET', '/api/orgs/acme/teams/web');
    expect(emu.calls.snapshot()).toMatchObject({
      total: 3,
      writes: 2,
      writesByRoute: { 'PATCH /api/orgs/{org}/teams/{team}': 2 },
      byStatus: { '204': 1, '409': 1, '200': 1 },
    });
    emu.calls.reset();
    expect(emu.calls.snapshot()).toMatchObject({ total: 0, writes: 0, writesByRoute: {} });
  });

  test('hand edits under /_emulator/hand act as the admin or a named user and are not logged', async () => {
    const hand = await api('POST', '/api/orgs/acme/teams/platform/tokens', { name: 'by-alice' }, 'ignored', '/_emulator/hand');
    expect(hand.status).toBe(200);
    const res = await fetch(`${emu.handEditUrl}/api/orgs/acme/teams/web/tokens`, {
      method: 'POST',
      headers: { 'X-Emulator-Acting-As': 'carol', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'by-carol' }),
    });
    expect(res.status).toBe(200);
    expect(emu.state.tokens.find((t) => t.name === 'by-carol')?.createdBy).toBe('carol');
    expect(emu.calls.total).toBe(0);
  });
});

describe('control API over HTTP', () => {
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${emu.url}/_emulator${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };

  test('state round-trips through GET and PUT; POST seed replaces it; bad input is 400', async () => {
    const saved = (await control('GET', '/state')).json;
    await patch('web', { memberAction: 'add', member: 'alice' });
    expect((await control('PUT', '/state', saved)).status).toBe(200);
    expect(team('web')?.members.map((m) => m.login)).toEqual(['bob']);
    expect((await control('POST', '/seed', { org: 'globex', members: ['zoe'] })).json).toEqual({ ok: true, org: 'globex' });
    expect(emu.state.members.map((m) => m.login)).toEqual(['idp-sync-bot', 'zoe']);
    expect((await control('PUT', '/state', { org: 'x' })).status).toBe(400);
    expect((await control('POST', '/seed', { teams: [{ name: 't', members: ['ghost'] }] })).status).toBe(400);
  });

  test('faults are added, listed and removed; calls are read and reset; config is patched', async () => {
    const { json } = await control('POST', '/faults', { path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 7 });
    expect((await control('GET', '/faults')).json.faults).toHaveLength(1);
    const limited = await api('GET', '/api/orgs/acme/teams');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await control('DELETE', `/faults/${json.id}`)).status).toBe(204);
    expect((await control('POST', '/faults', { path: '/x', kind: 'explode' })).status).toBe(400);
    expect((await control('GET', '/calls')).json.counters.total).toBe(1);
    expect((await control('POST', '/reset-calls')).status).toBe(204);
    expect((await control('GET', '/calls')).json.counters.total).toBe(0);
    expect((await control('PATCH', '/config', { pageSizes: { stacks: 1 } })).json.pageSizes).toEqual({ members: 2, tokens: 2, stacks: 1, environments: 100 });
  });
});

describe('seeds', () => {
  test('a bad seed names every problem', () => {
    expect(() => emu.seed({ teams: [{ name: 'x', members: ['ghost'] }], tokens: [{ team: 'nope', name: 't', createdBy: 'a' }] })).toThrow(SeedError);
    expect(() => emu.seed({ stacks: ['no-slash'] })).toThrow(/stacks\.0: must be "project\/stack"/);
  });

  test('the demo seed is valid: acme with infra/web/data × dev/staging/prod', async () => {
    emu.seed(demoSeed);
    expect(emu.state.org).toBe('acme');
    expect(emu.state.stacks).toHaveLength(9);
  });
});
