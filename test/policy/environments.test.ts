import { ENVIRONMENT_PERMISSIONS, environmentRank, parsePolicy, resolveEnvironmentGrants, sameOpenDuration } from '../../src/policy';
import { policyProblems } from '../helpers/policy';

/** `environments:` in team rules: validation with file:line:key, and resolution against the org's environments. */

const FILE = 'sync.yaml';

const problemsOf = (text: string) => policyProblems(text, FILE);

const rule = (entry: string) => ['organization: acme', 'teams:', '  - group: Ops', '    team: ops', '    environments:', `      - ${entry}`].join('\n');

describe('environments in team rules', () => {
  it('compiles project and environment globs, the level and the open limit', () => {
    const policy = parsePolicy(rule('{ project: infra, environment: "*", permission: open, maxOpenDuration: 1h30m }'), FILE);
    expect(policy.rules[0].environments).toEqual([{ project: 'infra', environment: '*', permission: 'open', maxOpenDuration: '1h30m' }]);
    expect(parsePolicy('organization: acme\nteams:\n  - group: Ops\n    team: ops\n', FILE).rules[0].environments).toEqual([]);
  });

  it.each([
    [
      '{ project: infra, environment: "*", permission: owner }',
      'sync.yaml:6 teams.0.environments.0.permission: Invalid option: expected one of "read"|"open"|"write"|"admin"',
    ],
    [
      '{ project: infra, environment: "*", permission: open, maxOpenDuration: an hour }',
      'sync.yaml:6 teams.0.environments.0.maxOpenDuration: must be a positive Go duration such as 30m, 1h or 1h30m',
    ],
    [
      '{ project: infra, environment: "*", permission: open, maxOpenDuration: 0s }',
      'sync.yaml:6 teams.0.environments.0.maxOpenDuration: must be a positive Go duration such as 30m, 1h or 1h30m',
    ],
    ['{ project: infra, permission: read }', 'sync.yaml:6 teams.0.environments.0.environment: Invalid input: expected string, received undefined'],
    ['{ project: infra, environment: dev, permission: read, stack: dev }', 'sync.yaml:6 teams.0.environments.0: unknown key "stack"'],
  ])('%s is refused naming file, line and key', (entry, problem) => {
    expect(problemsOf(rule(entry))).toEqual([problem]);
  });

  it('orders the levels read < open < write < admin; anything else ranks below read', () => {
    expect([...ENVIRONMENT_PERMISSIONS].sort((a, b) => environmentRank(a) - environmentRank(b))).toEqual(['read', 'open', 'write', 'admin']);
    expect(environmentRank('none')).toBeLessThan(environmentRank('read'));
  });

  it('resolves globs against the org environments; two rules on one environment: the highest level wins, then the longest open', () => {
    const environments = [
      { project: 'infra', name: 'prod' },
      { project: 'infra', name: 'dev' },
      { project: 'app', name: 'dev' },
    ];
    const grants = resolveEnvironmentGrants(
      [
        { project: 'infra', environment: '*', permission: 'open', maxOpenDuration: '15m' },
        { project: '*', environment: 'dev', permission: 'write', maxOpenDuration: '30m' },
        { project: 'infra', environment: 'dev', permission: 'read' },
        { project: 'infra', environment: 'prod', permission: 'open', maxOpenDuration: '1h' },
      ],
      environments,
    );
    expect(Object.fromEntries([...grants].map(([key, g]) => [key, [g.permission, g.maxOpenDuration]]))).toEqual({
      'app/dev': ['write', '30m'],
      'infra/dev': ['write', '30m'],
      'infra/prod': ['open', '1h'],
    });
  });

  it('compares open limits as durations: Pulumi may spell 1h as 1h0m0s, and unset as "" or 0s', () => {
    expect(sameOpenDuration('1h', '1h0m0s')).toBe(true);
    expect(sameOpenDuration(undefined, '')).toBe(true);
    expect(sameOpenDuration(undefined, '0s')).toBe(true);
    expect(sameOpenDuration('1h', '30m')).toBe(false);
    expect(sameOpenDuration('1h', undefined)).toBe(false);
  });
});
