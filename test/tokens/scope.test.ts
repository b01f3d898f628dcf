import fc from 'fast-check';
import {
  desiredPrivateGrants,
  type EnvironmentGrant,
  fromTeamEnvironments,
  intersectScope,
  lowerLevel,
  normaliseLevel,
  planPrivateTeam,
  type ScopeEntry,
  type StackGrant,
  type TokenGrant,
} from '../../src/tokens/scope';

const g = (project: string, stack: string, permission: 101 | 102 | 103): StackGrant => ({ project, stack, permission });
const e = (project: string, environment: string, permission: EnvironmentGrant['permission'], maxOpenDuration?: string): EnvironmentGrant => ({
  project,
  environment,
  permission,
  ...(maxOpenDuration ? { maxOpenDuration } : {}),
});
const env = (project: string, environment: string, permission?: EnvironmentGrant['permission']): ScopeEntry => ({
  environment: { project, environment, ...(permission ? { permission } : {}) },
});

describe('intersectScope (scope ∩ parent grants)', () => {
  const parent = [g('infra', 'prod', 103), g('infra', 'dev', 102), g('app', 'dev', 101)];

  const cases: Array<[string, ScopeEntry[], StackGrant[]]> = [
    ['an exact entry takes the parent level', [{ project: 'infra', stack: 'dev' }], [g('infra', 'dev', 102)]],
    ['a cap below the parent level lowers the grant', [{ project: 'infra', stack: 'prod', permission: 'read' }], [g('infra', 'prod', 101)]],
    ['a cap above the parent level never raises it', [{ project: 'app', stack: 'dev', permission: 'admin' }], [g('app', 'dev', 101)]],
    ['a stack the parent does not hold is not granted', [{ project: 'infra', stack: 'staging' }], []],
    ['project and stack must both match', [{ project: 'app', stack: 'prod' }], []],
    ['names are case-sensitive', [{ project: 'Infra', stack: 'dev' }], []],
    ['* matches every stack of the project', [{ project: 'infra', stack: '*', permission: 'write' }], [g('infra', 'dev', 102), g('infra', 'prod', 102)]],
    [
      'overlapping entries: the most generous cap wins',
      [
        { project: 'infra', stack: '*', permission: 'read' },
        { project: 'infra', stack: 'prod', permission: 'write' },
      ],
      [g('infra', 'dev', 101), g('infra', 'prod', 102)],
    ],
    ['an empty scope grants nothing', [], []],
  ];
  it.each(cases)('%s', (_name, scope, expected) => {
    expect(intersectScope(scope, parent)).toEqual(expected);
  });

  it('never exceeds the parent nor the caps (property)', () => {
    const level = fc.constantFrom<101 | 102 | 103>(101, 102, 103);
    const name = fc.constantFrom('a', 'b', 'c');
    const grant = fc.record({ project: name, stack: name, permission: level });
    const entry = fc.record(
      { project: name, stack: fc.constantFrom('a', 'b', 'c', '*'), permission: fc.constantFrom<'read' | 'write' | 'admin'>('read', 'write', 'admin') },
      { requiredKeys: ['project', 'stack'] },
    );
    fc.assert(
      fc.property(fc.uniqueArray(grant, { selector: (x) => `${x.project}/${x.stack}` }), fc.array(entry), (parentGrants, scope) => {
        const out = intersectScope(scope, parentGrants);
        for (const o of out) {
          const p = parentGrants.find((x) => x.project === o.project && x.stack === o.stack);
          expect(p).toBeDefined();
          expect(lowerLevel(o.permission, p!.permission)).toBe(o.permission);
        }
        expect(intersectScope(scope, out)).toEqual(out);
      }),
    );
  });
});

describe('desiredPrivateGrants', () => {
  const scope: ScopeEntry[] = [
    { project: 'infra', stack: 'dev' },
    { project: 'infra', stack: 'prod' },
  ];
  const issued = [g('infra', 'dev', 102), g('infra', 'prod', 101)];

  it('follows a parent downgrade', () => {
    expect(desiredPrivateGrants(scope, issued, [g('infra', 'dev', 101), g('infra', 'prod', 101)])).toEqual([g('infra', 'dev', 101), g('infra', 'prod', 101)]);
  });
  it('drops a stack the parent lost', () => {
    expect(desiredPrivateGrants(scope, issued, [g('infra', 'dev', 102)])).toEqual([g('infra', 'dev', 102)]);
  });
  it('does not widen when the parent gains a level or a stack the token was not issued with', () => {
    expect(desiredPrivateGrants([{ project: 'infra', stack: '*' }], issued, [g('infra', 'dev', 103), g('infra', 'prod', 103), g('infra', 'qa', 103)])).toEqual([
      g('infra', 'dev', 102),
      g('infra', 'prod', 101),
    ]);
  });
  it('is empty when the parent holds nothing in scope', () => {
    expect(desiredPrivateGrants(scope, issued, [g('app', 'dev', 103)])).toEqual([]);
  });
});

describe('planPrivateTeam', () => {
  it('orders removals, then level changes, then additions', () => {
    const ops = planPrivateTeam([g('a', 'x', 101), g('c', 'z', 102)], [g('a', 'x', 102), g('b', 'y', 101)]);
    expect(ops).toEqual([
      { kind: 'removeStack', project: 'b', stack: 'y' },
      { kind: 'editStack', project: 'a', stack: 'x', permission: 101 },
      { kind: 'addStack', project: 'c', stack: 'z', permission: 102 },
    ]);
  });
  it('is empty when actual equals desired', () => {
    expect(planPrivateTeam([g('a', 'x', 101)], [g('a', 'x', 101)])).toEqual([]);
  });
});

describe('normaliseLevel', () => {
  it('reads creator (104) as admin and unknown values as read', () => {
    expect(normaliseLevel(104)).toBe(103);
    expect(normaliseLevel(0)).toBe(101);
    expect(normaliseLevel(102)).toBe(102);
  });
});

describe('environment entries (the same rules as stacks, with read < open < write < admin)', () => {
  const parent: TokenGrant[] = [g('infra', 'prod', 102), e('infra', 'prod', 'open'), e('infra', 'dev', 'write', '1h'), e('app', 'dev', 'read')];

  const cases: Array<[string, ScopeEntry[], TokenGrant[]]> = [
    ['an exact entry without permission takes the parent level', [env('infra', 'prod')], [e('infra', 'prod', 'open')]],
    ['a cap below the parent level lowers the grant', [env('infra', 'prod', 'read')], [e('infra', 'prod', 'read')]],
    ['a cap above the parent level is capped to the parent', [env('app', 'dev', 'admin')], [e('app', 'dev', 'read')]],
    ['an environment the parent does not hold is not granted', [env('infra', 'staging')], []],
    ['* matches every environment of the project', [env('infra', '*', 'open')], [e('infra', 'dev', 'open', '1h'), e('infra', 'prod', 'open')]],
    ['the parent open limit is kept', [env('infra', 'dev')], [e('infra', 'dev', 'write', '1h')]],
    ['an environment entry never matches a stack of the same name', [env('infra', 'prod')], [e('infra', 'prod', 'open')]],
    ['a stack entry never matches an environment of the same name', [{ project: 'infra', stack: 'prod' }], [g('infra', 'prod', 102)]],
    [
      'overlapping entries: the most generous cap wins',
      [env('infra', '*', 'read'), env('infra', 'prod', 'admin')],
      [e('infra', 'dev', 'read', '1h'), e('infra', 'prod', 'open')],
    ],
    [
      'stack and environment entries together',
      [{ project: 'infra', stack: 'prod', permission: 'read' }, env('app', 'dev')],
      [e('app', 'dev', 'read'), g('infra', 'prod', 101)],
    ],
  ];
  it.each(cases)('%s', (_name, scope, expected) => {
    expect(intersectScope(scope, parent)).toEqual(expected);
  });

  const scope = [env('infra', 'prod'), { project: 'infra', stack: 'prod' }];
  const issued: TokenGrant[] = [e('infra', 'prod', 'open'), g('infra', 'prod', 102)];
  const narrowing: Array<[string, TokenGrant[], TokenGrant[]]> = [
    ['follows a parent drop to read', [g('infra', 'prod', 102), e('infra', 'prod', 'read')], [e('infra', 'prod', 'read'), g('infra', 'prod', 102)]],
    ['never widens when the parent rises', [g('infra', 'prod', 102), e('infra', 'prod', 'admin')], [e('infra', 'prod', 'open'), g('infra', 'prod', 102)]],
    [
      'takes a shorter open limit the parent gains',
      [g('infra', 'prod', 102), e('infra', 'prod', 'open', '30m')],
      [e('infra', 'prod', 'open', '30m'), g('infra', 'prod', 102)],
    ],
    ['drops the environment the parent lost, keeping the stack', [g('infra', 'prod', 102)], [g('infra', 'prod', 102)]],
    ['drops the stack the parent lost, keeping the environment', [e('infra', 'prod', 'open')], [e('infra', 'prod', 'open')]],
    ['is empty only when the parent holds nothing in scope', [e('app', 'dev', 'admin')], []],
  ];
  it.each(narrowing)('desiredPrivateGrants %s', (_name, parentNow, expected) => {
    expect(desiredPrivateGrants(scope, issued, parentNow)).toEqual(expected);
  });

  it('a shorter issued open limit is kept when the parent lifts its own', () => {
    expect(desiredPrivateGrants([env('infra', 'dev')], [e('infra', 'dev', 'write', '1h')], [e('infra', 'dev', 'write')])).toEqual([
      e('infra', 'dev', 'write', '1h'),
    ]);
  });

  const plans: Array<[string, TokenGrant[], TokenGrant[], ReturnType<typeof planPrivateTeam>]> = [
    [
      'a lower level is one edit',
      [e('infra', 'prod', 'read')],
      [e('infra', 'prod', 'open')],
      [{ kind: 'editEnvironment', project: 'infra', environment: 'prod', permission: 'read' }],
    ],
    ['a lost environment is one removal', [], [e('infra', 'prod', 'open')], [{ kind: 'removeEnvironment', project: 'infra', environment: 'prod' }]],
    [
      'a missing environment is added with its open limit',
      [e('infra', 'dev', 'write', '1h')],
      [],
      [{ kind: 'addEnvironment', project: 'infra', environment: 'dev', permission: 'write', maxOpenDuration: '1h' }],
    ],
    ['an equal open limit written another way is no change', [e('infra', 'dev', 'write', '1h')], [e('infra', 'dev', 'write', '1h0m0s')], []],
    [
      'removals of both kinds come before edits and additions',
      [g('a', 'x', 101), e('b', 'y', 'read')],
      [g('a', 'x', 102), e('b', 'y', 'open'), e('c', 'z', 'read'), g('d', 'w', 101)],
      [
        { kind: 'removeStack', project: 'd', stack: 'w' },
        { kind: 'removeEnvironment', project: 'c', environment: 'z' },
        { kind: 'editStack', project: 'a', stack: 'x', permission: 101 },
        { kind: 'editEnvironment', project: 'b', environment: 'y', permission: 'read' },
      ],
    ],
  ];
  it.each(plans)('planPrivateTeam: %s', (_name, desired, actual, expected) => {
    expect(planPrivateTeam(desired, actual)).toEqual(expected);
  });

  it("reads a team's environments as Pulumi reports them, an unset open limit as none", () => {
    expect(
      fromTeamEnvironments([
        { projectName: 'infra', envName: 'prod', permission: 'open', maxOpenDuration: '0s' },
        { projectName: 'infra', envName: 'dev', permission: 'write', maxOpenDuration: '1h' },
      ]),
    ).toEqual([e('infra', 'prod', 'open'), e('infra', 'dev', 'write', '1h')]);
  });
});
