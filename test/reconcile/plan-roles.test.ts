import { describeOp } from '../../src/reconcile/describe';
import { intentEffectVisible } from '../../src/reconcile/intents';
import { plan } from '../../src/reconcile/plan';
import { resolveRoleName } from '../../src/reconcile/plan-roles';
import { isGuardedRemoval } from '../../src/reconcile/safety';
import type { ActualTeam, DesiredTeam, Op, PlanInput, RoleResolution } from '../../src/reconcile/types';

/** Team roles in `plan`: who is a team admin, and the team's custom role (docs/pulumi-api.md, "Team members", "Team custom roles"). */

const AUDITORS: RoleResolution = { kind: 'resolved', roleId: 'role-aud', roleName: 'auditors' };

function team(members: string[], admins: string[], over: Partial<DesiredTeam> = {}): DesiredTeam {
  return {
    name: 'platform',
    displayName: 'Platform',
    description: 'd',
    groups: [{ id: 'g1', displayName: 'Platform' }],
    members: new Map(members.map((l) => [l, { login: l, userId: `u-${l}` }])),
    grants: new Map(),
    unmappedUsers: 0,
    admins: new Set(admins),
    ...over,
  };
}

function pulumiTeam(members: string[], admins: string[], over: Partial<ActualTeam> = {}): ActualTeam {
  return { name: 'platform', kind: 'pulumi', displayName: 'Platform', description: 'd', members, admins, grants: [], tokens: [], roleIds: [], ...over };
}

function given(over: Partial<PlanInput>): PlanInput {
  return {
    team: 'platform',
    desired: null,
    actual: null,
    owned: true,
    orgMembers: new Set(['alice', 'bob', 'carol']),
    identities: new Map(),
    policy: { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: true, revokeUnknownCreators: false },
    ...over,
  };
}

const brief = (ops: Op[]) =>
  ops.map((op) =>
    'roleId' in op
      ? `${op.kind} ${op.roleId}${'replaces' in op && op.replaces ? ` (was ${op.replaces})` : ''}`
      : 'login' in op
        ? `${op.kind} ${op.login}`
        : op.kind,
  );

describe('plan: team admins', () => {
  const cases: Array<[string, PlanInput, string[]]> = [
    ['admins and members as desired: nothing', given({ desired: team(['alice', 'bob'], ['bob']), actual: pulumiTeam(['alice', 'bob'], ['bob']) }), []],
    [
      'a joining admin is added, then promoted',
      given({ desired: team(['alice', 'bob'], ['bob']), actual: pulumiTeam(['alice'], []) }),
      ['addMember bob', 'promoteMember bob'],
    ],
    [
      'a member who joins the admins group is promoted',
      given({ desired: team(['alice', 'bob'], ['alice']), actual: pulumiTeam(['alice', 'bob'], []) }),
      ['promoteMember alice'],
    ],
    [
      'an admin who leaves the admins group but stays in the main group is demoted',
      given({ desired: team(['alice', 'bob'], []), actual: pulumiTeam(['alice', 'bob'], ['alice']) }),
      ['demoteMember alice'],
    ],
    [
      'an admin who leaves the team is removed, not demoted first',
      given({ desired: team(['bob'], []), actual: pulumiTeam(['alice', 'bob'], ['alice']) }),
      ['removeMember alice'],
    ],
    [
      'an admin made by hand is demoted when no rule makes them one',
      given({ desired: team(['alice'], [], { admins: undefined }), actual: pulumiTeam(['alice'], ['alice']) }),
      ['demoteMember alice'],
    ],
    [
      'an admin waiting for a Pulumi account is neither added nor promoted',
      given({ desired: team(['alice', 'carol'], ['carol']), actual: pulumiTeam(['alice'], []), deferredLogins: new Set(['carol']) }),
      [],
    ],
    [
      'a new team: created, filled, its admins promoted and its role given last',
      given({ owned: false, desired: team(['alice', 'bob'], ['alice'], { role: 'auditors' }), actual: null, role: AUDITORS }),
      ['createTeam', 'addMember alice', 'addMember bob', 'promoteMember alice', 'assignTeamRole role-aud'],
    ],
    [
      "a team whose membership belongs elsewhere (scim) keeps its members' roles",
      given({ desired: team(['alice'], ['alice']), actual: pulumiTeam(['alice'], [], { kind: 'scim' }) }),
      [],
    ],
    ['logins compare case-insensitively', given({ desired: team(['alice'], ['alice']), actual: pulumiTeam(['Alice'], ['Alice']) }), []],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(brief(plan(input).ops)).toEqual(expected);
  });
});

describe('plan: custom role', () => {
  const cases: Array<[string, PlanInput, string[]]> = [
    [
      'the role held as desired: nothing',
      given({ desired: team([], [], { role: 'auditors' }), actual: pulumiTeam([], [], { roleIds: ['role-aud'] }), role: AUDITORS }),
      [],
    ],
    [
      'a role named by the rule is assigned',
      given({ desired: team([], [], { role: 'auditors' }), actual: pulumiTeam([], []), role: AUDITORS }),
      ['assignTeamRole role-aud'],
    ],
    [
      'another role held is replaced by the one upsert',
      given({ desired: team([], [], { role: 'auditors' }), actual: pulumiTeam([], [], { roleIds: ['role-old'] }), role: AUDITORS }),
      ['assignTeamRole role-aud (was role-old)'],
    ],
    [
      'a role no rule names any more is unassigned',
      given({ desired: team([], []), actual: pulumiTeam([], [], { roleIds: ['role-aud'] }) }),
      ['unassignTeamRole role-aud'],
    ],
    [
      'a role name the catalogue cannot resolve leaves the held role alone',
      given({
        desired: team([], [], { role: 'auditors' }),
        actual: pulumiTeam([], [], { roleIds: ['role-old'] }),
        role: { kind: 'unresolved', roleName: 'auditors', detail: 'no custom role named "auditors"' },
      }),
      [],
    ],
    [
      'a grants-only team gets its role too',
      given({ desired: team(['alice'], ['alice'], { role: 'auditors' }), actual: pulumiTeam([], [], { kind: 'scim' }), role: AUDITORS }),
      ['assignTeamRole role-aud'],
    ],
    ['an unowned team is left alone', given({ owned: false, desired: team([], [], { role: 'auditors' }), actual: pulumiTeam([], []), role: AUDITORS }), []],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(brief(plan(input).ops)).toEqual(expected);
  });

  it('an unresolved role is a note naming the role, for status to degrade the team with', () => {
    const detail = 'no custom role named "auditors" in the organization (custom roles: "readers")';
    const result = plan(
      given({ desired: team([], [], { role: 'auditors' }), actual: pulumiTeam([], []), role: { kind: 'unresolved', roleName: 'auditors', detail } }),
    );
    expect(result.notes).toEqual([{ kind: 'roleUnresolved', team: 'platform', role: 'auditors', detail }]);
  });

  it('taking access away (unassign, demote) comes before giving it (add, promote, assign)', () => {
    const result = plan(
      given({
        desired: team(['alice', 'bob', 'carol'], ['carol']),
        actual: pulumiTeam(['alice', 'bob'], ['alice'], { roleIds: ['role-aud'] }),
      }),
    );
    expect(brief(result.ops)).toEqual(['demoteMember alice', 'unassignTeamRole role-aud', 'addMember carol', 'promoteMember carol']);
  });

  it('demotions and unassignments are guarded removals; promotions and assignments are not', () => {
    const active = () => ({ userId: 'u', state: 'active' as const });
    const gone = () => ({ userId: 'u', state: 'deleted' as const });
    expect(isGuardedRemoval({ kind: 'demoteMember', team: 't', login: 'a' }, active)).toBe(true);
    expect(isGuardedRemoval({ kind: 'demoteMember', team: 't', login: 'a' }, gone)).toBe(false);
    expect(isGuardedRemoval({ kind: 'unassignTeamRole', team: 't', roleId: 'r' }, active)).toBe(true);
    expect(isGuardedRemoval({ kind: 'promoteMember', team: 't', login: 'a' }, active)).toBe(false);
    expect(isGuardedRemoval({ kind: 'assignTeamRole', team: 't', roleId: 'r', roleName: 'n' }, active)).toBe(false);
  });

  it('says each op in words', () => {
    expect(describeOp({ kind: 'promoteMember', team: 't', login: 'alice' })).toBe('make alice a team admin');
    expect(describeOp({ kind: 'demoteMember', team: 't', login: 'alice' })).toBe('make alice a team member instead of a team admin');
    expect(describeOp({ kind: 'assignTeamRole', team: 't', roleId: 'r1', roleName: 'auditors', replaces: 'r0' })).toBe(
      'give the team custom role "auditors" (r1) instead of r0',
    );
    expect(describeOp({ kind: 'unassignTeamRole', team: 't', roleId: 'r1' })).toBe('take custom role r1 away from the team');
  });
});

describe('resolveRoleName', () => {
  const builtIn = [
    { id: 'b-admin', name: 'Admin', defaultIdentifier: 'admin' },
    { id: 'b-member', name: 'Member', defaultIdentifier: 'member' },
  ];
  const cases: Array<[string, string, Parameters<typeof resolveRoleName>[1], RoleResolution['kind'], string]> = [
    ['an exact name', 'auditors', [...builtIn, { id: 'r1', name: 'auditors' }], 'resolved', 'r1'],
    ['a name in another case, when unique', 'Auditors', [...builtIn, { id: 'r1', name: 'auditors', defaultIdentifier: '' }], 'resolved', 'r1'],
    ['no catalogue (404 or 400)', 'auditors', null, 'unresolved', 'the organization has no custom roles (its role catalogue is not available)'],
    ['built-in roles only', 'Admin', builtIn, 'unresolved', 'the organization has no custom roles'],
    [
      'an unknown name',
      'auditor',
      [...builtIn, { id: 'r1', name: 'auditors' }],
      'unresolved',
      'no custom role named "auditor" in the organization (custom roles: "auditors")',
    ],
    [
      'a name two roles share once case is folded',
      'AUDITORS',
      [
        { id: 'r1', name: 'auditors' },
        { id: 'r2', name: 'Auditors' },
      ],
      'unresolved',
      'names 2 roles',
    ],
  ];
  it.each(cases)('%s', (_name, name, catalogue, kind, text) => {
    const result = resolveRoleName(name, catalogue);
    expect(result.kind).toBe(kind);
    expect(result.kind === 'resolved' ? result.roleId : result.detail).toContain(text);
  });
});

describe("a crashed run's team-role intents, settled from the team as read again", () => {
  const read = pulumiTeam(['alice', 'bob'], ['alice'], { roleIds: ['role-aud'] });
  it.each([
    ['promoteMember', 'alice', true],
    ['promoteMember', 'bob', false],
    ['demoteMember', 'bob', true],
    ['demoteMember', 'alice', false],
    ['assignTeamRole', 'role-aud', true],
    ['assignTeamRole', 'role-old', false],
    ['unassignTeamRole', 'role-old', true],
    ['unassignTeamRole', 'role-aud', false],
  ])('%s %s: effect visible = %s', (op, subject, visible) => {
    expect(intentEffectVisible({ op, subject, detail: {} }, { actual: read })).toBe(visible);
    expect(intentEffectVisible({ op, subject, detail: {} }, {})).toBeUndefined();
  });
});
