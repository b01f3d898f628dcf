import { randomUUID } from 'node:crypto';
import { plan } from '../../src/reconcile';
import type { AccessToken } from '../../src/pulumi';
import { tokenName } from '../../src/tokens/naming';

/**
 * The reconciler's creator-bound rule leaves tokens this part issued to this part: their
 * `createdBy` is the daemon's own login (unknown to the directory, or a person if the daemon
 * runs on a personal token), and the ledger revokes them by their recorded owner.
 */

const token = (id: string, name: string, createdBy: string): AccessToken => ({
  id,
  name,
  description: '',
  created: '2026-01-01T00:00:00Z',
  createdBy,
  lastUsed: 0,
  expires: 0,
  admin: false,
  type: 'team',
});

it('never revokes a ledger-issued token, whoever Pulumi says created it', () => {
  const ledgerName = tokenName(randomUUID(), 1);
  const ops = plan({
    team: 'platform',
    desired: {
      name: 'platform',
      displayName: 'Platform',
      description: '',
      groups: [{ id: 'g1', displayName: 'Platform' }],
      members: new Map([['alice', { login: 'alice', userId: 'u-alice' }]]),
      grants: new Map(),
      unmappedUsers: 0,
    },
    actual: {
      name: 'platform',
      kind: 'pulumi',
      displayName: 'Platform',
      description: '',
      members: ['alice'],
      grants: [],
      tokens: [
        token('t-ledger', ledgerName, 'idp-sync-bot'),
        token('t-bob', 'by-hand', 'bob'),
        token('t-bot', 'ci', 'some-bot'),
        token('t-ada', tokenName(randomUUID(), 2), 'ada'),
      ],
    },
    owned: true,
    orgMembers: new Set(['alice']),
    // The daemon runs on Ada's personal token; Ada and Bob are known but not members.
    identities: new Map([
      ['bob', { userId: 'u-bob', state: 'active' }],
      ['ada', { userId: 'u-ada', state: 'active' }],
    ]),
    policy: { adoptExistingTeams: false, deleteTeamWhenGroupGone: false, revokeWhenCreatorLeaves: true, revokeUnknownCreators: true },
  }).ops;
  expect(
    ops
      .filter((op) => op.kind === 'revokeToken')
      .map((op) => (op as { tokenId: string }).tokenId)
      .sort(),
  ).toEqual(['t-bob', 't-bot']);
});
