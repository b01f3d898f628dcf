import { plan, writeCallsOf } from '../../src/reconcile/plan';
import { describeOp, presentOp } from '../../src/reconcile/describe';
import { isGuardedRemoval, opKey } from '../../src/reconcile/safety';
import type { ActualEnvironmentGrant, ActualTeam, DesiredTeam, Op, PlanInput, PlanPolicy } from '../../src/reconcile/types';
import type { EnvironmentGrant, EnvironmentPermission } from '../../src/policy';

/** The ESC environment ops of `plan()`: one table, each row a situation and the ops it must give. */

const POLICY: PlanPolicy = { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: true, revokeUnknownCreators: false };

type Want = Record<string, EnvironmentPermission | { permission: EnvironmentPermission; maxOpenDuration: string }>;

function desired(environments: Want, members = ['alice']): DesiredTeam {
  return {
    name: 'platform',
    displayName: 'Platform',
    description: 'd',
    groups: [{ id: 'g1', displayName: 'Platform' }],
    members: new Map(members.map((login) => [login, { login, userId: `u-${login}` }])),
    grants: new Map(),
    environments: new Map(
      Object.entries(environments).map(([key, want]): [string, EnvironmentGrant] => {
        const [projectName, envName] = key.split('/');
        return [key, { projectName, envName, ...(typeof want === 'string' ? { permission: want } : want) }];
      }),
    ),
    unmappedUsers: 0,
  };
}

function actual(environments: Record<string, string | { permission: string; maxOpenDuration: string }>, extra: Partial<ActualTeam> = {}): ActualTeam {
  return {
    name: 'platform',
    kind: 'pulumi',
    displayName: 'Platform',
    description: 'd',
    members: ['alice'],
    grants: [],
    environments: Object.entries(environments).map(([key, have]): ActualEnvironmentGrant => {
      const [projectName, envName] = key.split('/');
      return { projectName, envName, ...(typeof have === 'string' ? { permission: have } : have) };
    }),
    tokens: [],
    ...extra,
  };
}

function input(over: Partial<PlanInput>): PlanInput {
  return { team: 'platform', desired: null, actual: null, owned: true, orgMembers: new Set(['alice', 'bob']), identities: new Map(), policy: POLICY, ...over };
}

function show(ops: Op[]): string[] {
  return ops.map((op) => {
    switch (op.kind) {
      case 'addEnvironmentPermission':
        return `add ${op.projectName}/${op.envName} ${op.permission}${op.maxOpenDuration ? ` ${op.maxOpenDuration}` : ''}`;
      case 'editEnvironmentPermission':
        return `edit ${op.projectName}/${op.envName} ${op.from}->${op.to}${op.maxOpenDuration ? ` ${op.maxOpenDuration}` : ''}`;
      case 'removeEnvironment':
        return `remove ${op.projectName}/${op.envName} (${op.from})`;
      case 'addMember':
      case 'removeMember':
        return `${op.kind} ${op.login}`;
      default:
        return op.kind;
    }
  });
}

const OPEN_INFRA: Want = { 'infra/dev': 'open', 'infra/prod': 'open' };

describe('plan: ESC environment grants', () => {
  const cases: Array<[string, PlanInput, string[]]> = [
    ['grants in place need nothing', input({ desired: desired(OPEN_INFRA), actual: actual(OPEN_INFRA as Record<string, string>) }), []],
    [
      'a new team gets its environments after its members',
      input({ owned: false, desired: desired(OPEN_INFRA), actual: null }),
      ['createTeam', 'addMember alice', 'add infra/dev open', 'add infra/prod open'],
    ],
    [
      'an environment a rule now matches is added, with its open limit',
      input({
        desired: desired({ ...OPEN_INFRA, 'app/dev': { permission: 'read', maxOpenDuration: '1h' } }),
        actual: actual({ 'infra/dev': 'open', 'infra/prod': 'open' }),
      }),
      ['add app/dev read 1h'],
    ],
    [
      'a level the rule lowers is one edit per environment, with the removals',
      input({
        desired: desired({ 'infra/dev': 'read', 'infra/prod': 'read' }, ['alice', 'bob']),
        actual: actual({ 'infra/dev': 'open', 'infra/prod': 'open' }),
      }),
      ['edit infra/dev open->read', 'edit infra/prod open->read', 'addMember bob'],
    ],
    [
      'a level the rule raises is one edit, after the removals and member additions',
      input({ desired: desired({ 'infra/dev': 'admin' }, ['bob']), actual: actual({ 'infra/dev': 'write' }) }),
      ['removeMember alice', 'addMember bob', 'edit infra/dev write->admin'],
    ],
    [
      'a changed open limit at the same level is one edit',
      input({
        desired: desired({ 'infra/dev': { permission: 'open', maxOpenDuration: '30m' } }),
        actual: actual({ 'infra/dev': { permission: 'open', maxOpenDuration: '1h' } }),
      }),
      ['edit infra/dev open->open 30m'],
    ],
    [
      'Pulumi spelling the same limit as a Go duration string changes nothing',
      input({
        desired: desired({ 'infra/dev': { permission: 'open', maxOpenDuration: '1h' } }),
        actual: actual({ 'infra/dev': { permission: 'open', maxOpenDuration: '1h0m0s' } }),
      }),
      [],
    ],
    [
      'a hand-granted environment on an owned team is removed first',
      input({ desired: desired(OPEN_INFRA, ['alice', 'bob']), actual: actual({ ...OPEN_INFRA, 'app/dev': 'admin' } as Record<string, string>) }),
      ['remove app/dev (admin)', 'addMember bob'],
    ],
    [
      'an unmapped owned team loses its environments',
      input({ desired: null, actual: actual({ 'infra/dev': 'open' }) }),
      ['removeMember alice', 'remove infra/dev (open)'],
    ],
    [
      'a team adopted for its grants has its environments managed too, not its members',
      input({
        owned: false,
        desired: { ...desired({ 'infra/dev': 'read' }, ['bob']), adopt: 'grants' },
        actual: actual({ 'infra/dev': 'write', 'app/dev': 'read' }),
      }),
      ['adoptTeam', 'remove app/dev (read)', 'edit infra/dev write->read'],
    ],
    [
      'a team the daemon does not own is left alone',
      input({ owned: false, desired: desired({ 'infra/dev': 'read' }), actual: actual({ 'app/dev': 'admin' }) }),
      [],
    ],
    [
      'an unknown level Pulumi reports (none) is raised to the desired one',
      input({ desired: desired({ 'infra/dev': 'read' }), actual: actual({ 'infra/dev': 'none' }) }),
      ['edit infra/dev none->read'],
    ],
  ];

  it.each(cases)('%s', (_name, given, expected) => {
    expect(show(plan(given).ops)).toEqual(expected);
  });

  it('every environment op is one Pulumi write, named in words and by level names', () => {
    const ops = plan(
      input({ desired: desired({ 'infra/dev': 'read', 'app/dev': 'open' }), actual: actual({ 'infra/dev': 'open', 'infra/prod': 'admin' }) }),
    ).ops;
    expect(writeCallsOf(ops)).toBe(3);
    expect(ops.map(describeOp)).toEqual([
      'remove environment infra/prod (admin)',
      'change environment infra/dev open → read',
      'grant open on environment app/dev',
    ]);
    expect(presentOp(ops[1])).toMatchObject({ kind: 'editEnvironmentPermission', from: 'open', to: 'read', envName: 'dev' });
  });

  it('removing or lowering an environment grant is a guarded removal; raising or adding is not', () => {
    const ops = plan(
      input({
        desired: desired({ 'infra/dev': 'read', 'infra/stage': 'admin', 'app/dev': 'open' }),
        actual: actual({ 'infra/dev': 'open', 'infra/stage': 'read', 'infra/prod': 'admin' }),
      }),
    ).ops;
    expect(ops.map((op) => [show([op])[0], isGuardedRemoval(op, () => undefined)])).toEqual([
      ['remove infra/prod (admin)', true],
      ['edit infra/dev open->read', true],
      ['edit infra/stage read->admin', false],
      ['add app/dev open', false],
    ]);
    // Each environment has its own key, so a hold on one never covers another.
    expect(new Set(ops.map(opKey)).size).toBe(ops.length);
  });
});
