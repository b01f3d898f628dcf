import { guardRemovals, opKey, planOrgRemovals } from '../../src/reconcile';
import { plan } from '../../src/reconcile/plan';
import type { ActualTeam, DesiredTeam, IdentityRecord, Op } from '../../src/reconcile/types';

/** The pure rules behind a safe first day on a live org: the removal guard, org departures, adoption, ambiguity. */

const removeMember = (login: string): Op => ({ kind: 'removeMember', team: 'platform', login });
const identities = new Map<string, IdentityRecord>([
  ['gone', { userId: 'u-gone', state: 'inactive' }],
  ['deleted', { userId: 'u-deleted', state: 'deleted' }],
]);
const guard = (ops: Op[], over: Partial<Parameters<typeof guardRemovals>[0]> = {}) =>
  guardRemovals({ ops, identityOf: (l) => identities.get(l), maxRemovals: 2, recentRemovals: 0, approved: new Set(), rejected: new Set(), ...over });

describe('guardRemovals', () => {
  const active = ['a', 'b', 'c'].map(removeMember);
  const add: Op = { kind: 'addMember', team: 'platform', login: 'new', userId: 'u-new' };

  it.each([
    ['at the limit, everything runs', active.slice(0, 2), {}, { apply: 2, held: 0 }],
    ['over the limit, the removals wait and the adds still run', [...active, add], {}, { apply: 1, held: 3 }],
    [
      'people who left are never held, however many',
      ['gone', 'deleted', 'gone2'].map(removeMember).slice(0, 2).concat(active.slice(0, 2)),
      {},
      { apply: 4, held: 0 },
    ],
    ['the org-wide window counts what was applied before', active.slice(0, 1), { recentRemovals: 2 }, { apply: 0, held: 1 }],
    ['approved removals run whatever the count', active, { approved: new Set(active.map(opKey)) }, { apply: 3, held: 0 }],
    ['rejected removals stay out and open no new hold', active, { rejected: new Set(active.map(opKey)) }, { apply: 0, held: 0 }],
  ])('%s', (_name, ops, over, expected) => {
    const result = guard(ops as Op[], over);
    expect({ apply: result.apply.length, held: result.held.length }).toEqual(expected);
  });

  it('holds every change of a recorded login until approved, whatever the count', () => {
    const relink: Op = { kind: 'relinkLogin', userId: 'u-a', from: 'alice', to: 'alice.smith' };
    expect(guard([relink]).held).toEqual([relink]);
    expect(guard([relink]).reason).toMatch(/1 person would change Pulumi login/);
    expect(guard([relink], { approved: new Set([opKey(relink)]) }).apply).toEqual([relink]);
    expect(guard([relink], { rejected: new Set([opKey(relink)]) }).rejected).toEqual([relink]);
  });

  it('counts token revocations of active creators and grant removals, not those of departed creators', () => {
    const ops: Op[] = [
      { kind: 'revokeToken', team: 'platform', tokenId: 't1', tokenName: 'x', createdBy: 'a', why: 'creator-left-team' },
      { kind: 'revokeToken', team: 'platform', tokenId: 't2', tokenName: 'y', createdBy: 'gone', why: 'creator-deactivated' },
      { kind: 'removeGrant', team: 'platform', projectName: 'infra', stackName: 'prod', from: 103 },
      { kind: 'narrowGrant', team: 'platform', projectName: 'infra', stackName: 'dev', from: 103, to: 101 },
    ];
    const result = guard(ops);
    expect(result.held.map((op) => op.kind)).toEqual(['revokeToken', 'removeGrant', 'narrowGrant']);
    expect(result.apply.map((op) => op.kind)).toEqual(['revokeToken']);
    expect(result.reason).toMatch(/3 removals in one reconcile, more than safety.maxRemovals \(2\)/);
  });
});

describe('planOrgRemovals', () => {
  const departed = [
    { userId: 'u1', login: 'zed', state: 'inactive' as const },
    { userId: 'u2', login: 'ann', state: 'deleted' as const },
    { userId: 'u3', login: 'bea', state: 'inactive' as const },
    { userId: 'u4', login: 'acme', state: 'inactive' as const },
  ];
  const roster = new Map([
    ['zed', { admin: false }],
    ['ann', { admin: true }],
    ['bea', { admin: false }],
    ['acme', { admin: false }],
  ]);
  const added = new Set(['zed', 'ann']);
  it.each([
    ['added: only the people the daemon added, never an admin', 'added' as const, ['zed']],
    ['all: every departed org member but admins and the org itself', 'all' as const, ['bea', 'zed']],
    ['never: nobody', 'never' as const, []],
  ])('%s', (_name, rule, logins) => {
    expect(planOrgRemovals({ org: 'acme', departed, roster, added, rule }).map((op) => (op as { login: string }).login)).toEqual(logins);
  });
  it('says why in the op', () => {
    expect(planOrgRemovals({ org: 'acme', departed, roster, added, rule: 'added' })).toEqual([
      { kind: 'removeOrgMember', login: 'zed', userId: 'u1', why: 'deactivated' },
    ]);
  });
});

describe('plan: adoption per rule and ambiguous groups', () => {
  const desired = (over: Partial<DesiredTeam> = {}): DesiredTeam => ({
    name: 'platform',
    displayName: 'Platform',
    description: 'd',
    groups: [{ id: 'g1', displayName: 'Platform' }],
    members: new Map([['alice', { login: 'alice', userId: 'u-alice' }]]),
    grants: new Map([['infra/dev', { projectName: 'infra', stackName: 'dev', permission: 102 }]]),
    unmappedUsers: 0,
    ...over,
  });
  const actual: ActualTeam = { name: 'platform', kind: 'pulumi', displayName: 'Platform', description: 'd', members: ['carol'], grants: [], tokens: [] };
  const input = (over: Partial<Parameters<typeof plan>[0]>) =>
    plan({
      team: 'platform',
      desired: desired(),
      actual,
      owned: false,
      identities: new Map(),
      orgMembers: new Set(['alice', 'carol']),
      policy: { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: true, revokeUnknownCreators: false },
      ...over,
    });

  it.each([
    ['adopt none leaves a hand-made team alone', 'none' as const, [], 'none'],
    ['adopt grants takes over the grants only', 'grants' as const, ['adoptTeam', 'addGrant'], 'grants-only'],
    ['adopt full takes over members too', 'full' as const, ['adoptTeam', 'removeMember', 'addMember', 'addGrant'], 'full'],
  ])('%s', (_name, adopt, kinds, management) => {
    const result = input({ desired: desired({ adopt }) });
    expect(result.ops.map((op) => op.kind)).toEqual(kinds);
    expect(result.management).toBe(management);
  });

  it('an adopted team whose rule says grants stays grants-only on later reconciles', () => {
    const result = input({ owned: true, adopted: true, desired: desired({ adopt: 'grants' }) });
    expect(result.ops.map((op) => op.kind)).toEqual(['addGrant']);
  });

  it('a blocked team gets no op at all, and a note saying why', () => {
    const result = input({ owned: true, desired: desired({ blocked: 'rule 1 matches 2 groups' }) });
    expect(result.ops).toEqual([]);
    expect(result.notes).toContainEqual({ kind: 'blocked', team: 'platform', detail: 'rule 1 matches 2 groups' });
  });
});
