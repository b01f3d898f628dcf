import { adminTeamsForGroup, parsePolicy, PolicyError } from '../../src/policy';

/** A rule's `role` and `admins` keys (README.md, "Policy reference"): what they compile to, and the errors that name file:line:key. */

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'sync.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).problems.map((p) => `${p.line}:${p.key}: ${p.message}`);
  }
  throw new Error('expected a PolicyError');
}

describe('role and admins in a team rule', () => {
  it('compiles a role name and an admins group named by display name or by the IdP id', () => {
    const policy = parsePolicy(
      `organization: acme
teams:
  - { group: Platform, team: platform, role: auditors, admins: Platform Leads }
  - { groupExternalId: g-1, team: data, admins: { groupExternalId: g-leads } }
  - { group: Web, team: web }
`,
      'sync.yaml',
    );
    expect(policy.rules.map((r) => [r.role, r.admins])).toEqual([
      ['auditors', { kind: 'group', name: 'Platform Leads', nameLower: 'platform leads' }],
      [undefined, { kind: 'externalId', externalId: 'g-leads' }],
      [undefined, undefined],
    ]);
    expect(adminTeamsForGroup(policy, { displayName: 'PLATFORM LEADS' }).map((m) => m.team)).toEqual(['platform']);
    expect(adminTeamsForGroup(policy, { displayName: 'Leads', externalId: 'g-leads' }).map((m) => m.team)).toEqual(['data']);
    expect(adminTeamsForGroup(policy, { displayName: 'Platform' })).toEqual([]);
  });

  it.each([
    ['admins on a pattern rule', '  - groupPattern: "^pulumi-(?<team>[a-z]+)$"\n    admins: Leads\n', '4:teams.0.admins: "admins" needs a rule with one team'],
    [
      'admins naming a group two ways',
      '  - group: P\n    team: p\n    admins: { group: L, groupExternalId: x }\n',
      '5:teams.0.admins: needs exactly one of "group" or "groupExternalId"',
    ],
    ['an unknown admins key', '  - group: P\n    team: p\n    admins: { name: L }\n', '5:teams.0.admins: unknown key "name"'],
    ['an empty role', '  - group: P\n    team: p\n    role: " "\n', '5:teams.0.role: must not be empty'],
  ])('refuses %s, naming line and key', (_name, rule, expected) => {
    expect(problemsOf(`organization: acme\nteams:\n${rule}`)[0]).toContain(expected);
  });
});
