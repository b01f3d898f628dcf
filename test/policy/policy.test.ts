import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  attributeAt,
  GROUP_PATTERN_MAX_SUBJECT,
  loadPolicy,
  loginFor,
  parsePolicy,
  PolicyError,
  PolicyStore,
  resolveGrants,
  teamsForGroup,
} from '../../src/policy';
import { policyProblems } from '../helpers/policy';

const FILE = 'sync.yaml';

const problemsOf = (text: string) => policyProblems(text, FILE);

describe('policy file', () => {
  it('the shipped config/sync.yaml is valid', () => {
    const policy = loadPolicy(path.resolve(__dirname, '../../config/sync.yaml'));
    expect(policy.organization).toBe('acme');
    expect(policy.rules.length).toBeGreaterThan(0);
  });

  it('fills defaults for optional sections', () => {
    const policy = parsePolicy('organization: acme\n', FILE);
    expect(policy.login).toBe('userName');
    expect(policy.ownership).toEqual({ adoptExistingTeams: false, deleteTeamWhenGroupGone: false });
    expect(policy.tokens).toEqual({ revokeWhenCreatorLeaves: true, revokeUnknownCreators: false });
    expect(policy.reconcile).toEqual({ every: '15m', everyMs: 900_000, mode: 'enforce' });
    expect(policy.safety).toEqual({ maxRemovals: 10, window: '1h', windowMs: 3_600_000 });
    expect(policy.removeFromOrg).toBe('added');
  });

  it('accepts JSON, which is valid YAML', () => {
    const policy = parsePolicy('{"organization":"acme","teams":[{"group":"Ops","team":"ops"}]}', FILE);
    expect(policy.rules[0].team).toBe('ops');
  });

  it('names file, line and key of a bad permission', () => {
    const text = [
      'organization: acme',
      'teams:',
      '  - group: Ops',
      '    team: ops',
      '    stacks:',
      '      - { project: infra, stack: "*", permission: owner }',
    ].join('\n');
    const [problem] = problemsOf(text);
    expect(problem).toMatch(/^sync\.yaml:6 teams\.0\.stacks\.0\.permission: /);
  });

  it('names the line of an unknown key', () => {
    const [problem] = problemsOf('organization: acme\nreconcile:\n  every: 15m\n  evrey: 1h\n');
    expect(problem).toBe('sync.yaml:4 reconcile: unknown key "evrey"');
  });

  it('points at the parent when a required key is missing', () => {
    const [problem] = problemsOf('identity:\n  login: email\n');
    expect(problem).toMatch(/^sync\.yaml(:1)? organization: /);
  });

  it('rejects a pattern without a named team group and a broken regex', () => {
    const problems = problemsOf('organization: acme\nteams:\n  - groupPattern: "^pulumi-(.*)$"\n  - groupPattern: "^(unclosed"\n');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^sync\.yaml:3 teams\.0\.groupPattern: needs a named capture group "team"/);
    expect(problems[1]).toMatch(/^sync\.yaml:4 teams\.1\.groupPattern: is not a valid regular expression/);
  });

  it('refuses a groupPattern that can backtrack exponentially, or one too long to review, at load with file:line', () => {
    const long = `^(?<team>${'a'.repeat(200)})$`;
    const problems = problemsOf(`organization: acme\nteams:\n  - groupPattern: "^(?<team>(a+)+)$"\n  - groupPattern: "${long}"\n`);
    expect(problems[0]).toMatch(/^sync\.yaml:3 teams\.0\.groupPattern: may take exponential time on some group names/);
    expect(problems[1]).toMatch(/^sync\.yaml:4 teams\.1\.groupPattern: must be at most 200 characters/);
  });

  it('never runs a groupPattern against a group name longer than GROUP_PATTERN_MAX_SUBJECT', () => {
    const policy = parsePolicy('organization: acme\nteams:\n  - groupPattern: "^pulumi-(?<team>[a-z]+)-x*$"\n', FILE);
    const name = (n: number) => `pulumi-web-${'x'.repeat(n - 'pulumi-web-'.length)}`;
    expect(teamsForGroup(policy, { displayName: name(GROUP_PATTERN_MAX_SUBJECT) })).toHaveLength(1);
    expect(teamsForGroup(policy, { displayName: name(GROUP_PATTERN_MAX_SUBJECT + 1) })).toEqual([]);
  });

  it('asks for exactly one of group, groupExternalId and groupPattern, and a team for group rules', () => {
    const problems = problemsOf(
      'organization: acme\nteams:\n  - group: Ops\n  - stacks: []\n  - { group: A, groupPattern: "(?<team>x)", team: a }\n  - groupExternalId: 00g1\n  - { group: B, groupExternalId: 00g2, team: b }\n',
    );
    expect(problems).toEqual([
      'sync.yaml:3 teams.0.team: a "group" rule needs "team"',
      'sync.yaml:4 teams.1: a team rule needs exactly one of "group", "groupExternalId" or "groupPattern"',
      'sync.yaml:5 teams.2: a team rule needs exactly one of "group", "groupExternalId" or "groupPattern"',
      'sync.yaml:6 teams.3.team: a "groupExternalId" rule needs "team"',
      'sync.yaml:7 teams.4: a team rule needs exactly one of "group", "groupExternalId" or "groupPattern"',
    ]);
  });

  it('reads the live-org keys with their defaults, and refuses bad values naming file:line:key', () => {
    const policy = parsePolicy(
      'organization: acme\nidentity:\n  removeFromOrg: never\nteams:\n  - { groupExternalId: 00gABC, team: ops, adopt: grants }\nreconcile:\n  mode: observe\nsafety:\n  maxRemovals: 3\n  window: 30m\n',
      FILE,
    );
    expect(policy.removeFromOrg).toBe('never');
    expect(policy.rules[0]).toMatchObject({ key: 'externalId:00gABC', match: { kind: 'externalId', externalId: '00gABC' }, team: 'ops', adopt: 'grants' });
    expect(policy.reconcile.mode).toBe('observe');
    expect(policy.safety).toEqual({ maxRemovals: 3, window: '30m', windowMs: 1_800_000 });
    expect(parsePolicy('organization: acme\nownership:\n  adoptExistingTeams: true\nteams:\n  - { group: A, team: a }\n', FILE).rules[0].adopt).toBe('full');
    expect(problemsOf('organization: acme\nreconcile:\n  mode: yolo\nsafety:\n  maxRemovals: -1\n')).toEqual([
      expect.stringMatching(/^sync\.yaml:3 reconcile\.mode: /),
      'sync.yaml:5 safety.maxRemovals: must be 0 or more',
    ]);
  });

  it('reserves the scoped-token team prefix', () => {
    const [problem] = problemsOf('organization: acme\nteams:\n  - group: X\n    team: pis-tok-x\n');
    expect(problem).toMatch(/teams\.0\.team: names starting with "pis-tok-" are reserved/);
  });

  it('reports YAML syntax errors with their line', () => {
    const [problem] = problemsOf('organization: acme\nteams:\n  - group: [unclosed\n');
    expect(problem).toMatch(/^sync\.yaml:\d+: /);
  });

  it('rejects a bad login source and a bad duration', () => {
    const problems = problemsOf('organization: acme\nidentity:\n  login: "not a path!"\nreconcile:\n  every: soon\n');
    expect(problems).toEqual([
      expect.stringMatching(/^sync\.yaml:3 identity\.login: must be one of/),
      expect.stringMatching(/^sync\.yaml:5 reconcile\.every: must be a duration/),
    ]);
  });

  it('takes a cron pattern for the drift schedule', () => {
    expect(parsePolicy('organization: acme\nreconcile:\n  cron: "*/15 * * * *"\n', FILE).reconcile).toEqual({
      every: '15m',
      everyMs: 900_000,
      mode: 'enforce',
      cron: '*/15 * * * *',
    });
    expect(problemsOf('organization: acme\nreconcile:\n  cron: hourly\n')).toEqual([
      expect.stringMatching(/^sync\.yaml:3 reconcile\.cron: must be a cron pattern/),
    ]);
  });

  it('rejects a cron pattern the scheduler could not parse, with its line', () => {
    expect(problemsOf('organization: acme\nreconcile:\n  every: 1h\n  cron: "61 * * * *"\n')).toEqual([
      'sync.yaml:4 reconcile.cron: is not a valid cron pattern: Constraint error, got value 61 expected range 0-59',
    ]);
    expect(problemsOf('organization: acme\nreconcile:\n  cron: "0 0 30 2 *"\n')).toEqual([
      expect.stringMatching(/^sync\.yaml:3 reconcile\.cron: is not a valid cron pattern: /),
    ]);
  });

  it('reports an unreadable file by name', () => {
    expect(() => loadPolicy('/nonexistent/sync.yaml')).toThrow('/nonexistent/sync.yaml: cannot read: ENOENT');
  });

  it('PULUMI_ORG overrides organization', () => {
    expect(parsePolicy('organization: acme\n', FILE, { organization: 'other' }).organization).toBe('other');
  });
});

describe('PolicyStore', () => {
  it('reloads a changed file and keeps the running policy when the new one is invalid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    try {
      const file = path.join(dir, 'sync.yaml');
      fs.writeFileSync(file, 'organization: acme\n');
      const store = new PolicyStore(file);
      const changes: string[] = [];
      store.on('changed', (next) => changes.push(next.organization));

      fs.writeFileSync(file, 'organization: beta\n');
      expect(store.reload().organization).toBe('beta');
      fs.writeFileSync(file, 'organization: [\n');
      expect(() => store.reload()).toThrow(PolicyError);
      expect(store.current.organization).toBe('beta');
      expect(changes).toEqual(['beta']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('login mapping', () => {
  const user = {
    userName: 'Alice.Smith@example.com',
    externalId: '00u1abc',
    resource: {
      emails: [
        { value: 'alice@home.example', type: 'home' },
        { value: 'alice@work.example', type: 'work' },
      ],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 4711 },
      name: { givenName: 'Alice' },
    },
  };

  it.each([
    ['userName', 'Alice.Smith@example.com'],
    ['userNameLocalPart', 'Alice.Smith'],
    ['externalId', '00u1abc'],
    ['email', 'alice@work.example'],
  ] as const)('%s', (source, expected) => {
    expect(loginFor(source, user)).toBe(expected);
  });

  it('prefers the primary email over the work email', () => {
    const resource = {
      emails: [
        { value: 'w@x', type: 'work' },
        { value: 'p@x', primary: true },
      ],
    };
    expect(loginFor('email', { userName: 'u', resource })).toBe('p@x');
  });

  it('reads extension attributes by schema URN and core paths case-insensitively', () => {
    expect(loginFor({ attributePath: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber' }, user)).toBe('4711');
    expect(attributeAt(user.resource, 'Name.GivenName')).toBe('Alice');
  });

  it('is undefined when the attribute is missing or blank', () => {
    expect(loginFor({ attributePath: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter' }, user)).toBeUndefined();
    expect(loginFor('externalId', { userName: 'x', externalId: '  ' })).toBeUndefined();
  });
});

describe('team rules and grants', () => {
  const policy = parsePolicy(
    [
      'organization: acme',
      'teams:',
      '  - { group: Platform Engineers, team: platform }',
      '  - { groupPattern: "^pulumi-(?<team>[a-z0-9-]+)$" }',
      '  - { group: pulumi-web, team: web-extra }',
    ].join('\n'),
    FILE,
  );

  it('matches exact group names case-insensitively', () => {
    expect(teamsForGroup(policy, { displayName: 'platform ENGINEERS' })).toEqual([{ team: 'platform', ruleIndex: 0, ruleKey: 'group:platform engineers' }]);
  });

  it('names the team from the pattern and lets several rules match one group', () => {
    expect(teamsForGroup(policy, { displayName: 'pulumi-web' })).toEqual([
      { team: 'web', ruleIndex: 1, ruleKey: expect.stringMatching(/^pattern:/) },
      { team: 'web-extra', ruleIndex: 2, ruleKey: 'group:pulumi-web' },
    ]);
    expect(teamsForGroup(policy, { displayName: 'other' })).toEqual([]);
  });

  it('never derives a scoped-token team name from a pattern', () => {
    expect(teamsForGroup(policy, { displayName: 'pulumi-pis-tok-abc' })).toEqual([]);
  });

  const stacks = ['infra/dev', 'infra/prod', 'web/dev', 'web/prod', 'data/dev'].map((s) => {
    const [projectName, stackName] = s.split('/');
    return { projectName, stackName };
  });

  it('resolves globs against the org stacks; the highest permission wins', () => {
    const grants = resolveGrants(
      [
        { project: '*', stack: 'dev', permission: 101 },
        { project: 'web', stack: '*', permission: 102 },
        { project: 'infra', stack: 'p?od', permission: 103 },
        { project: 'web', stack: 'dev', permission: 101 },
      ],
      stacks,
    );
    expect(Object.fromEntries([...grants].map(([k, v]) => [k, v.permission]))).toEqual({
      'infra/dev': 101,
      'infra/prod': 103,
      'web/dev': 102,
      'web/prod': 102,
      'data/dev': 101,
    });
  });

  it('treats regex characters in globs literally', () => {
    expect(resolveGrants([{ project: 'a.b', stack: '*', permission: 101 }], [{ projectName: 'axb', stackName: 'dev' }]).size).toBe(0);
  });
});
