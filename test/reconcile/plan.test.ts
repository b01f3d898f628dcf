import { plan, writeCallsOf } from '../../src/reconcile/plan';
import type { ActualTeam, DesiredTeam, IdentityRecord, Op, PlanInput, PlanPolicy } from '../../src/reconcile/types';
import type { Permission } from '../../src/policy';
import type { AccessToken } from '../../src/pulumi';

const POLICY: PlanPolicy = { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: true, revokeUnknownCreators: false };

function desired(members: string[], grants: Record<string, Permission>, extra: Partial<DesiredTeam> = {}): DesiredTeam {
  return {
    name: 'platform',
    displayName: 'Platform Engineers',
    description: 'Synced from SCIM group "Platform Engineers"',
    groups: [{ id: 'g1', displayName: 'Platform Engineers' }],
    members: new Map(members.map((login) => [login.toLowerCase(), { login, userId: `u-${login.toLowerCase()}` }])),
    grants: new Map(
      Object.entries(grants).map(([key, permission]) => {
        const [projectName, stackName] = key.split('/');
        return [key, { projectName, stackName, permission }];
      }),
    ),
    unmappedUsers: 0,
    ...extra,
  };
}

function token(id: string, createdBy: string): AccessToken {
  return { id, name: `tok-${id}`, description: '', created: '2026-01-01T00:00:00Z', createdBy, lastUsed: 0, expires: 0, admin: false, type: 'team' };
}

function actual(members: string[], grants: Record<string, number>, extra: Partial<ActualTeam> = {}): ActualTeam {
  return {
    name: 'platform',
    kind: 'pulumi',
    displayName: 'Platform Engineers',
    description: 'Synced from SCIM group "Platform Engineers"',
    members,
    grants: Object.entries(grants).map(([key, permission]) => {
      const [projectName, stackName] = key.split('/');
      return { projectName, stackName, permission };
    }),
    tokens: [],
    ...extra,
  };
}

function input(over: Partial<PlanInput>): PlanInput {
  const identities = new Map<string, IdentityRecord>(['alice', 'bob', 'carol', 'dave'].map((l) => [l, { userId: `u-${l}`, state: 'active' as const }]));
  return {
    team: 'platform',
    desired: null,
    actual: null,
    owned: true,
    orgMembers: new Set(['alice', 'bob', 'carol', 'dave']),
    identities,
    policy: POLICY,
    ...over,
  };
}

/** Compact op strings make the tables readable. */
function show(ops: Op[]): string[] {
  return ops.map((op) => {
    switch (op.kind) {
      case 'revokeToken':
        return `revokeToken ${op.tokenId} (${op.why})`;
      case 'removeMember':
      case 'addMember':
      case 'addOrgMember':
        return `${op.kind} ${op.login}`;
      case 'removeGrant':
        return `removeGrant ${op.projectName}/${op.stackName}`;
      case 'narrowGrant':
      case 'widenGrant':
        return `${op.kind} ${op.projectName}/${op.stackName} ${op.from}->${op.to}`;
      case 'addGrant':
        return `addGrant ${op.projectName}/${op.stackName} ${op.permission}`;
      case 'adoptTeam':
        return `adoptTeam ${op.teamKind}`;
      default:
        return op.kind;
    }
  });
}

const inSync = input({
  desired: desired(['alice', 'bob'], { 'infra/dev': 103, 'infra/prod': 101 }),
  actual: actual(['alice', 'bob'], { 'infra/dev': 103, 'infra/prod': 101 }),
});

describe('plan', () => {
  const cases: Array<[string, PlanInput, string[]]> = [
    ['an unchanged team needs nothing', inSync, []],
    [
      'a new team is created, its members join the org first, then grants are added',
      input({ owned: false, desired: desired(['bob', 'erin'], { 'infra/dev': 103 }), actual: null }),
      ['createTeam', 'addOrgMember erin', 'addMember bob', 'addMember erin', 'addGrant infra/dev 103'],
    ],
    [
      'a member who left the group is removed',
      input({ desired: desired(['alice'], { 'infra/dev': 103, 'infra/prod': 101 }), actual: inSync.actual }),
      ['removeMember bob'],
    ],
    [
      'a deactivated user (no longer a desired member) is removed and loses their tokens',
      input({
        desired: desired(['alice'], { 'infra/dev': 103, 'infra/prod': 101 }),
        actual: actual(['alice', 'bob'], { 'infra/dev': 103, 'infra/prod': 101 }, { tokens: [token('t1', 'bob'), token('t2', 'alice')] }),
        identities: new Map([
          ['alice', { userId: 'u-alice', state: 'active' }],
          ['bob', { userId: 'u-bob', state: 'inactive' }],
        ]),
      }),
      ['revokeToken t1 (creator-deactivated)', 'removeMember bob'],
    ],
    [
      'a grant that policy downgrades is narrowed before anything is added',
      input({
        desired: desired(['alice', 'bob', 'carol'], { 'infra/dev': 102, 'infra/prod': 101 }),
        actual: inSync.actual,
      }),
      ['narrowGrant infra/dev 103->102', 'addMember carol'],
    ],
    [
      'an upgraded grant is widened after removals',
      input({
        desired: desired(['alice'], { 'infra/dev': 103, 'infra/prod': 102 }),
        actual: inSync.actual,
      }),
      ['removeMember bob', 'widenGrant infra/prod 101->102'],
    ],
    [
      'a glob that now matches a new stack adds its grant',
      input({
        desired: desired(['alice', 'bob'], { 'infra/dev': 103, 'infra/prod': 101, 'infra/staging': 103 }),
        actual: inSync.actual,
      }),
      ['addGrant infra/staging 103'],
    ],
    [
      'a grant policy no longer gives is removed',
      input({ desired: desired(['alice', 'bob'], { 'infra/dev': 103 }), actual: inSync.actual }),
      ['removeGrant infra/prod'],
    ],
    [
      'a renamed group no longer matches: the owned team is emptied, not deleted, and its tokens revoked',
      input({
        desired: null,
        actual: actual(['alice', 'bob'], { 'infra/dev': 103 }, { tokens: [token('t1', 'alice')] }),
      }),
      ['revokeToken t1 (team-unmapped)', 'removeMember alice', 'removeMember bob', 'removeGrant infra/dev'],
    ],
    [
      'an unmapped team is deleted when policy says so',
      input({
        desired: null,
        actual: actual(['alice'], { 'infra/dev': 103 }, { tokens: [token('t1', 'alice')] }),
        policy: { ...POLICY, deleteTeamWhenGroupGone: true },
      }),
      ['deleteTeam'],
    ],
    ['an owned team gone from Pulumi and from policy is forgotten', input({ desired: null, actual: null }), ['forgetTeam']],
    [
      'an owned team deleted by hand is re-created (drift)',
      input({ desired: desired(['alice'], { 'infra/dev': 103 }), actual: null }),
      ['createTeam', 'addMember alice', 'addGrant infra/dev 103'],
    ],
    [
      'an unowned existing team is left untouched',
      input({ owned: false, desired: desired(['carol'], { 'infra/dev': 103 }), actual: actual(['alice'], { 'web/dev': 101 }) }),
      [],
    ],
    ['an unowned team no group maps to is left untouched', input({ owned: false, desired: null, actual: actual(['alice'], {}) }), []],
    [
      'an unowned team is adopted when policy says so, then reconciled',
      input({
        owned: false,
        desired: desired(['carol'], { 'infra/dev': 103 }),
        actual: actual(['carol'], {}),
        policy: { ...POLICY, adoptExistingTeams: true },
      }),
      ['adoptTeam pulumi', 'addGrant infra/dev 103'],
    ],
    [
      'a scim-kind team gets grants only: no member edits, no token revocation',
      input({
        desired: desired(['carol'], { 'infra/dev': 103 }),
        actual: actual(['alice'], { 'infra/prod': 101 }, { kind: 'scim', tokens: [token('t1', 'alice')] }),
      }),
      ['removeGrant infra/prod', 'addGrant infra/dev 103'],
    ],
    [
      'a github-kind team adopted by policy gets grants only',
      input({
        owned: false,
        desired: desired(['carol'], { 'infra/dev': 101 }),
        actual: actual(['alice'], {}, { kind: 'github' }),
        policy: { ...POLICY, adoptExistingTeams: true },
      }),
      ['adoptTeam github', 'addGrant infra/dev 101'],
    ],
    [
      "a departed creator's token is revoked first; a current member's token stays",
      input({
        desired: desired(['alice'], { 'infra/dev': 103, 'infra/prod': 101 }),
        actual: actual(['alice'], { 'infra/dev': 103, 'infra/prod': 101 }, { tokens: [token('t1', 'bob'), token('t2', 'alice')] }),
      }),
      ['revokeToken t1 (creator-left-team)'],
    ],
    [
      "a deleted user's token is recognised by the remembered login",
      input({
        desired: desired(['alice'], {}),
        actual: actual(['alice'], {}, { tokens: [token('t9', 'Zed')] }),
        identities: new Map([
          ['alice', { userId: 'u-alice', state: 'active' }],
          ['zed', { userId: 'u-zed', state: 'deleted' }],
        ]),
      }),
      ['revokeToken t9 (creator-deleted)'],
    ],
    [
      'a token whose creator the directory never knew is left alone',
      input({ desired: desired(['alice'], {}), actual: actual(['alice'], {}, { tokens: [token('t3', 'ci-bot')] }) }),
      [],
    ],
    [
      'unknown creators are revoked only when policy says so',
      input({
        desired: desired(['alice'], {}),
        actual: actual(['alice'], {}, { tokens: [token('t3', 'ci-bot')] }),
        policy: { ...POLICY, revokeUnknownCreators: true },
      }),
      ['revokeToken t3 (unknown-creator)'],
    ],
    [
      'tokens are kept when creator-bound revocation is off',
      input({
        desired: desired(['alice'], {}),
        actual: actual(['alice'], {}, { tokens: [token('t1', 'bob')] }),
        policy: { ...POLICY, revokeWhenCreatorLeaves: false },
      }),
      [],
    ],
    [
      'a member whose login changed keeps the token made under the old login',
      input({
        desired: desired(['alice2'], {}, { members: new Map([['alice2', { login: 'alice2', userId: 'u-alice' }]]) }),
        actual: actual(['alice'], {}, { tokens: [token('t1', 'alice')] }),
      }),
      ['removeMember alice', 'addOrgMember alice2', 'addMember alice2'],
    ],
    ['logins compare case-insensitively', input({ desired: desired(['Alice'], {}), actual: actual(['alice'], {}) }), []],
    [
      'the highest permission already resolved is what the plan compares (104 creator is replaced)',
      input({ desired: desired([], { 'web/dev': 103 }), actual: actual([], { 'web/dev': 104 }) }),
      ['widenGrant web/dev 104->103'],
    ],
    [
      'a renamed group changes the display name',
      input({
        desired: desired(
          ['alice', 'bob'],
          { 'infra/dev': 103, 'infra/prod': 101 },
          { displayName: 'Platform Team', description: 'Synced from SCIM group "Platform Team"' },
        ),
        actual: inSync.actual,
      }),
      ['updateTeam'],
    ],
    [
      'a member who recently had no Pulumi account is not retried on every run',
      input({ desired: desired(['alice', 'grace'], {}), actual: actual(['alice'], {}), orgMembers: new Set(['alice']), deferredLogins: new Set(['grace']) }),
      [],
    ],
    [
      'without a known org roster every joining member is added to the org first',
      input({ desired: desired(['alice', 'bob'], {}), actual: actual([], {}), orgMembers: undefined }),
      ['addOrgMember alice', 'addOrgMember bob', 'addMember alice', 'addMember bob'],
    ],
  ];

  it.each(cases)('%s', (_name, given, expected) => {
    const result = plan(given);
    expect(show(result.ops)).toEqual(expected);
  });

  it('removals that shrink access always come before additions', () => {
    const result = plan(
      input({
        desired: desired(['carol', 'dave'], { 'infra/dev': 101, 'web/dev': 102 }),
        actual: actual(['alice', 'bob'], { 'infra/dev': 103, 'data/dev': 101 }, { tokens: [token('t1', 'alice')] }),
      }),
    );
    const kinds = result.ops.map((o) => o.kind);
    const lastShrink = Math.max(...['revokeToken', 'removeMember', 'narrowGrant', 'removeGrant'].map((k) => kinds.lastIndexOf(k as Op['kind'])));
    const firstGrow = Math.min(...['addOrgMember', 'addMember', 'widenGrant', 'addGrant'].map((k) => kinds.indexOf(k as Op['kind'])).filter((i) => i >= 0));
    expect(lastShrink).toBeLessThan(firstGrow);
    expect(kinds[0]).toBe('revokeToken');
  });

  it('reports unowned teams, grants-only teams, unknown creators and unmapped users', () => {
    expect(plan(input({ owned: false, desired: desired([], {}), actual: actual([], {}) })).notes.map((n) => n.kind)).toEqual(['unownedTeam']);
    expect(plan(input({ desired: desired([], {}), actual: actual([], {}, { kind: 'scim' }) })).notes.map((n) => n.kind)).toEqual(['grantsOnly']);
    const notes = plan(
      input({ desired: desired(['alice'], {}, { unmappedUsers: 2 }), actual: actual(['alice'], {}, { tokens: [token('t3', 'ci-bot')] }) }),
    ).notes;
    expect(notes).toEqual([
      { kind: 'unmappedUsers', team: 'platform', count: 2 },
      { kind: 'unknownCreatorToken', team: 'platform', tokenId: 't3', tokenName: 'tok-t3', createdBy: 'ci-bot' },
    ]);
  });

  it('applying a plan to the actual state yields an empty second plan', () => {
    const given = input({
      desired: desired(['carol', 'dave'], { 'infra/dev': 101, 'web/dev': 102 }),
      actual: actual(['alice', 'bob'], { 'infra/dev': 103, 'data/dev': 101 }),
    });
    const after = simulate(given.actual!, plan(given).ops);
    const second = plan({ ...given, actual: after });
    expect(second.ops).toEqual([]);
    expect(writeCallsOf(plan(given).ops)).toBe(plan(given).ops.length);
  });
});

/** The effect of ops on a team, as the Pulumi API would apply them. */
function simulate(team: ActualTeam, ops: Op[]): ActualTeam {
  const members = new Set(team.members);
  const grants = new Map(team.grants.map((g) => [`${g.projectName}/${g.stackName}`, { ...g }]));
  for (const op of ops) {
    if (op.kind === 'addMember') members.add(op.login);
    if (op.kind === 'removeMember') members.delete(op.login);
    if (op.kind === 'addGrant')
      grants.set(`${op.projectName}/${op.stackName}`, { projectName: op.projectName, stackName: op.stackName, permission: op.permission });
    if (op.kind === 'narrowGrant' || op.kind === 'widenGrant') grants.get(`${op.projectName}/${op.stackName}`)!.permission = op.to;
    if (op.kind === 'removeGrant') grants.delete(`${op.projectName}/${op.stackName}`);
  }
  return { ...team, members: [...members], grants: [...grants.values()] };
}
