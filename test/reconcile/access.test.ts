import { parsePolicy } from '../../src/policy';
import { mergeTokenInventory } from '../../src/tokens';
import type { TokenView } from '../../src/tokens';
import { type AccessFacts, type AccessTokenFact, explainAccess } from '../../src/reconcile/access';

/**
 * The access view's decision table: every path to a permission on a stack, and the highest wins.
 * Facts are what the readers hand over (bindings, desired members, group members, live tokens);
 * the rules come from a real policy text, so `file:line` is the line a person reads in the file.
 */

const FILE = 'config/sync.yaml';
const POLICY = `organization: acme
teams:
  - group: Platform Engineers
    team: platform
    stacks:
      - { project: infra, stack: "*", permission: admin }
      - { project: "*", stack: "*", permission: read }
  - group: SRE
    team: platform
    stacks:
      - { project: infra, stack: prod, permission: write }
  - group: Auditors
    team: audit
    stacks:
      - { project: "*", stack: prod, permission: read }
`;
// Rule lines in POLICY: Platform Engineers 3, SRE 8, Auditors 12.

const STACKS = ['infra/dev', 'infra/prod', 'web/prod'].map((s) => ({ projectName: s.split('/')[0]!, stackName: s.split('/')[1]! }));
const ALICE = { userId: 'u-alice', userName: 'alice@example.com', login: 'alice' };
const BOB = { userId: 'u-bob', userName: 'bob@example.com', login: 'bob' };
const CAROL = { userId: 'u-carol', userName: 'carol@example.com', login: null };

function facts(overrides: Partial<AccessFacts> = {}): AccessFacts {
  const policy = parsePolicy(overrides.orgDefault ? `${POLICY}orgDefaultPermission: ${overrides.orgDefault}\n` : POLICY, FILE);
  return {
    policyFile: FILE,
    orgDefault: policy.orgDefaultPermission,
    stacks: STACKS,
    rules: policy.rules,
    bindings: [
      { team: 'platform', ruleIndex: 0, group: { id: 'g-pe', displayName: 'Platform Engineers' } },
      { team: 'platform', ruleIndex: 1, group: { id: 'g-sre', displayName: 'SRE' } },
      { team: 'audit', ruleIndex: 2, group: { id: 'g-aud', displayName: 'Auditors' } },
    ],
    teamMembers: new Map([
      ['platform', new Set(['u-alice', 'u-bob'])],
      ['audit', new Set(['u-alice'])],
    ]),
    groupMembers: new Map([
      ['g-pe', ['u-alice']],
      ['g-sre', ['u-alice', 'u-bob']],
      ['g-aud', ['u-alice', 'u-carol']],
    ]),
    people: new Map([ALICE, BOB, CAROL].map((p) => [p.userId, p])),
    tokens: [],
    ...overrides,
  };
}

const scopedToken: AccessTokenFact = {
  id: 'tok-1',
  tokenName: 'pis-tok-abc',
  kind: 'scoped',
  ownerUserId: 'u-bob',
  ownerUserName: 'bob@example.com',
  parentTeam: 'platform',
  pulumiTeam: 'pis-tok-abc',
  grants: [{ project: 'web', stack: 'prod', permission: 'read' }],
};

/** One line per row: who, where, effective, and each path as a short chain. */
function lines(f: AccessFacts, filter = {}): string[] {
  return explainAccess(f, filter).map(
    (row) =>
      `${row.person.userName} ${row.project}/${row.stack} ${row.effective}: ${row.paths
        .map((p) =>
          p.kind === 'team'
            ? `${p.group.displayName} → ${p.rule.ref} → ${p.team} (${p.permission}, by ${p.grantedBy.map((r) => r.ref).join('+')})`
            : p.kind === 'token'
              ? `token ${p.tokenName} → ${p.team} (${p.permission})`
              : `org default (${p.permission})`,
        )
        .join(' | ')}`,
  );
}

describe('explainAccess', () => {
  it.each([
    [
      'overlapping rules: every path is listed and the highest is effective',
      facts(),
      { userId: 'u-alice' },
      [
        // Two groups reach team platform; its grant on infra/prod is admin (rule 1), not SRE's write.
        `alice@example.com infra/dev admin: Platform Engineers → ${FILE}:3 → platform (admin, by ${FILE}:3) | SRE → ${FILE}:8 → platform (admin, by ${FILE}:3)`,
        `alice@example.com infra/prod admin: Platform Engineers → ${FILE}:3 → platform (admin, by ${FILE}:3) | SRE → ${FILE}:8 → platform (admin, by ${FILE}:3) | Auditors → ${FILE}:12 → audit (read, by ${FILE}:12)`,
        `alice@example.com web/prod read: Platform Engineers → ${FILE}:3 → platform (read, by ${FILE}:3) | SRE → ${FILE}:8 → platform (read, by ${FILE}:3) | Auditors → ${FILE}:12 → audit (read, by ${FILE}:12)`,
      ],
    ],
    [
      'a stack: each person with access',
      facts(),
      { stack: { project: 'infra', stack: 'prod' } },
      [
        `alice@example.com infra/prod admin: Platform Engineers → ${FILE}:3 → platform (admin, by ${FILE}:3) | SRE → ${FILE}:8 → platform (admin, by ${FILE}:3) | Auditors → ${FILE}:12 → audit (read, by ${FILE}:12)`,
        `bob@example.com infra/prod admin: SRE → ${FILE}:8 → platform (admin, by ${FILE}:3)`,
      ],
    ],
    [
      'the org default adds a path to each row and can be the highest',
      facts({ orgDefault: 'write' }),
      { userId: 'u-bob', stack: { project: 'web', stack: 'prod' } },
      [`bob@example.com web/prod write: org default (write) | SRE → ${FILE}:8 → platform (read, by ${FILE}:3)`],
    ],
    [
      'an org default of none adds nothing, and a group member who is not a desired member has no access',
      facts({ orgDefault: 'none' }),
      { stack: { project: 'web', stack: 'prod' } },
      [
        `alice@example.com web/prod read: Platform Engineers → ${FILE}:3 → platform (read, by ${FILE}:3) | SRE → ${FILE}:8 → platform (read, by ${FILE}:3) | Auditors → ${FILE}:12 → audit (read, by ${FILE}:12)`,
        `bob@example.com web/prod read: SRE → ${FILE}:8 → platform (read, by ${FILE}:3)`,
      ],
    ],
    [
      "a scoped token's private team is a path of its owner",
      facts({ tokens: [scopedToken] }),
      { userId: 'u-bob', stack: { project: 'web', stack: 'prod' } },
      [`bob@example.com web/prod read: SRE → ${FILE}:8 → platform (read, by ${FILE}:3) | token pis-tok-abc → pis-tok-abc (read)`],
    ],
    [
      "a team token has its team's grants; a token outlives its owner's directory entry",
      facts({
        tokens: [
          { ...scopedToken, kind: 'team', grants: null, pulumiTeam: 'audit', parentTeam: 'audit', ownerUserId: 'u-gone', ownerUserName: 'gone@example.com' },
        ],
      }),
      { stack: { project: 'web', stack: 'prod' }, userId: 'u-gone' },
      ['gone@example.com web/prod read: token pis-tok-abc → audit (read)'],
    ],
  ])('%s', (_name, f, filter, expected) => {
    expect(lines(f, filter)).toEqual(expected);
  });

  it('answers every person on every stack without a filter, sorted by person then stack', () => {
    expect(explainAccess(facts()).map((r) => `${r.person.userName} ${r.project}/${r.stack}`)).toEqual([
      'alice@example.com infra/dev',
      'alice@example.com infra/prod',
      'alice@example.com web/prod',
      'bob@example.com infra/dev',
      'bob@example.com infra/prod',
      'bob@example.com web/prod',
    ]);
  });
});

describe('mergeTokenInventory', () => {
  const view = (over: Partial<TokenView>): TokenView => ({
    id: 'l-1',
    owner: 'bob@example.com',
    ownerUserId: 'u-bob',
    team: 'platform',
    kind: 'scoped',
    pulumiTeam: 'pis-tok-abc',
    scope: [{ project: 'web', stack: 'prod', permission: 'read' }],
    grants: null,
    tokenName: 'pis-tok-abc',
    pulumiTokenId: 'p-1',
    description: '',
    expiresAt: null,
    state: 'active',
    revokeReason: null,
    createdAt: '2026-11-01T00:00:00.000Z',
    revokedAt: null,
    ...over,
  });

  it('joins Pulumi’s listing with the ledger, keeps tokens made in Pulumi and ledger tokens not listed', () => {
    const merged = mergeTokenInventory(
      [view({}), view({ id: 'l-2', pulumiTokenId: null, tokenName: 'pis-tok-def', pulumiTeam: 'pis-tok-def', scope: null, kind: 'team' })],
      new Map([
        [
          'pis-tok-abc',
          [
            {
              id: 'p-1',
              name: 'pis-tok-abc',
              description: '',
              created: '2026-11-01T00:00:01Z',
              createdBy: 'sync-bot',
              lastUsed: 1_800_000_000,
              expires: 0,
              admin: false,
              type: 'team' as const,
            },
          ],
        ],
        [
          'platform',
          [
            {
              id: 'p-9',
              name: 'ci',
              description: '',
              created: '2026-10-01T00:00:00Z',
              createdBy: 'alice',
              lastUsed: 0,
              expires: 1_900_000_000,
              admin: false,
              type: 'team' as const,
            },
          ],
        ],
      ]),
    );
    expect(merged).toEqual([
      expect.objectContaining({
        tokenName: 'pis-tok-abc',
        kind: 'scoped',
        owner: 'bob@example.com',
        scope: ['web/prod:read'],
        listed: true,
        lastUsedAt: '2027-01-15T08:00:00.000Z',
        expiresAt: null,
      }),
      expect.objectContaining({
        tokenName: 'pis-tok-def',
        kind: 'team',
        ledgerId: 'l-2',
        scope: null,
        listed: false,
        lastUsedAt: null,
        createdAt: '2026-11-01T00:00:00.000Z',
      }),
      expect.objectContaining({ tokenName: 'ci', team: 'platform', kind: 'unmanaged', owner: 'alice', ledgerId: null, expiresAt: '2030-03-17T17:46:40.000Z' }),
    ]);
  });
});
