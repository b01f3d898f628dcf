import fc from 'fast-check';
import { desiredPrivateGrants, intersectScope, lowerLevel, normaliseLevel, planPrivateTeam, type ScopeEntry, type StackGrant } from '../../src/tokens/scope';

const g = (project: string, stack: string, permission: 101 | 102 | 103): StackGrant => ({ project, stack, permission });

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
