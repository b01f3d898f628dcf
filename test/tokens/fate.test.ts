import { creatorBoundFate, creatorRevokeReason, ledgerTokenFate, type CreatorFacts } from '../../src/tokens';
import type { LedgerToken } from '../../src/tokens';

/**
 * Every token fate comes from src/tokens/fate.ts: the team plan, the revoke lane, the team
 * step and the sweep ask it. These tables pin the rules themselves.
 */

const both = { revokeWhenCreatorLeaves: true, revokeUnknownCreators: true };
const leavesOnly = { revokeWhenCreatorLeaves: true, revokeUnknownCreators: false };
const off = { revokeWhenCreatorLeaves: false, revokeUnknownCreators: true };

describe('creatorBoundFate', () => {
  const cases: Array<[string, CreatorFacts, typeof both, ReturnType<typeof creatorBoundFate>]> = [
    ['active member keeps it', { creator: { state: 'active', isMember: true }, teamMapped: true }, both, undefined],
    ['active, left the team', { creator: { state: 'active', isMember: false }, teamMapped: true }, both, 'creator-left-team'],
    ['active, team no longer mapped', { creator: { state: 'active', isMember: false }, teamMapped: false }, both, 'team-unmapped'],
    ['deactivated', { creator: { state: 'deactivated', isMember: false }, teamMapped: true }, both, 'creator-deactivated'],
    ['deleted', { creator: { state: 'deleted', isMember: false }, teamMapped: true }, both, 'creator-deleted'],
    ['unknown creator, policy revokes them', { teamMapped: true }, both, 'unknown-creator'],
    ['unknown creator, policy keeps them', { teamMapped: true }, leavesOnly, undefined],
    ['rule switched off: even a deleted creator keeps it', { creator: { state: 'deleted', isMember: false }, teamMapped: true }, off, undefined],
  ];
  it.each(cases)('%s', (_name, facts, rules, expected) => {
    expect(creatorBoundFate(facts, rules)).toBe(expected);
  });

  it('words each reason for the audit log as the lane always has', () => {
    expect(creatorRevokeReason('creator-deleted', 'web')).toBe('creator deleted in the IdP');
    expect(creatorRevokeReason('creator-deactivated', 'web')).toBe('creator deactivated in the IdP');
    expect(creatorRevokeReason('creator-left-team', 'web')).toBe('creator is no longer a member of team web');
  });
});

describe('ledgerTokenFate', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  const token = (over: Partial<LedgerToken>): LedgerToken =>
    ({
      id: '00000000-0000-4000-8000-000000000001',
      parentTeam: 'platform',
      kind: 'scoped',
      scope: [{ project: 'infra', stack: 'dev' }],
      issuedGrants: [{ project: 'infra', stack: 'dev', permission: 102 }],
      expiresAt: null,
      ...over,
    }) as LedgerToken;
  const member = { ownerIsMember: true, ownerState: 'active' as const, now };

  it.each([
    ['team no longer managed', token({}), { ...member, parentGrants: null }, { action: 'revoke', reason: 'team platform is no longer managed' }],
    ['expired', token({ expiresAt: new Date('2026-11-30T00:00:00Z') }), { ...member, parentGrants: [] }, { action: 'revoke', reason: 'expired' }],
    [
      'owner deactivated',
      token({}),
      { parentGrants: [{ project: 'infra', stack: 'dev', permission: 102 as const }], ownerIsMember: false, ownerState: 'deactivated' as const, now },
      { action: 'revoke', reason: 'owner deactivated in the IdP' },
    ],
    [
      'nothing in scope is granted any more',
      token({}),
      { ...member, parentGrants: [{ project: 'app', stack: 'dev', permission: 103 as const }] },
      { action: 'revoke', reason: "team platform no longer holds any stack or environment in the token's scope" },
    ],
    [
      'parent narrowed: the scoped token follows, never wider than issued',
      token({}),
      { ...member, parentGrants: [{ project: 'infra', stack: 'dev', permission: 101 as const }] },
      { action: 'narrow', grants: [{ project: 'infra', stack: 'dev', permission: 101 }] },
    ],
    [
      'parent widened: the scoped token keeps what it was issued',
      token({}),
      { ...member, parentGrants: [{ project: 'infra', stack: 'dev', permission: 103 as const }] },
      { action: 'narrow', grants: [{ project: 'infra', stack: 'dev', permission: 102 }] },
    ],
    ['a whole-team token of a member is kept', token({ kind: 'team', scope: null, issuedGrants: null }), { ...member, parentGrants: [] }, { action: 'keep' }],
  ])('%s', (_name, t, facts, expected) => {
    expect(ledgerTokenFate(t, facts)).toEqual(expected);
  });
});
