const fs = require('node:fs');
const path = require('node:path');

/**
 * Two projects. `unit` touches no service (no Postgres, no Redis, no daemon or worker process)
 * and runs without global-setup, in seconds: `npm run test:unit`. `integration` is every other
 * test, against the real Postgres and Redis (see test/helpers). `npm test` runs both.
 *
 * A new test file lands in `integration` unless it is listed here. test/config/config.test.ts
 * needs no service either, but it starts the three entry points as child processes (tens of
 * seconds on a busy machine), so it stays with the slow tests.
 */
const UNIT_TESTS = [
  'test/app/app.test.ts',
  'test/audit/intents.test.ts',
  'test/auth/dependencies.test.ts',
  'test/auth/settings.test.ts',
  'test/deploy/kit.test.ts',
  'test/web/dev-idp.test.ts',
  'test/web/access-review.test.ts',
  'test/web/status-summary.test.ts',
  'test/web/charts.test.ts',
  'test/web/plan-page.test.ts',
  'test/history/series.test.ts',
  'test/directory/embedded-postgres.test.ts',
  'test/emulator/emulator.test.ts',
  'test/emulator/persist.test.ts',
  'test/emulator/roles.test.ts',
  'test/log/log.test.ts',
  'test/metrics/metrics.test.ts',
  'test/policy/policy.test.ts',
  'test/policy/team-roles.test.ts',
  'test/emulator/environments.test.ts',
  'test/policy/environments.test.ts',
  'test/pulumi/client.test.ts',
  'test/pulumi/contract.test.ts',
  'test/pulumi/failure-class.test.ts',
  'test/pulumi/limiter.test.ts',
  'test/pulumi/doc-conformance.test.ts',
  'test/pulumi/units.test.ts',
  'test/reconcile/access.test.ts',
  'test/reconcile/plan.test.ts',
  'test/reconcile/plan-roles.test.ts',
  'test/reconcile/plan-environments.test.ts',
  'test/reconcile/safety.test.ts',
  'test/scim/unavailable.test.ts',
  'test/signals/plan.test.ts',
  'test/tokens/fate.test.ts',
  'test/tokens/lane-batch.test.ts',
  'test/tokens/naming.test.ts',
  'test/tokens/reconcile-plan.test.ts',
  'test/tokens/scope.test.ts',
  'test/tracing/start.test.ts',
];

// A renamed or deleted unit test must leave this list too, or the list silently stops meaning anything.
const missing = UNIT_TESTS.filter((file) => !fs.existsSync(path.join(__dirname, file)));
if (missing.length > 0) throw new Error(`jest.config.js lists unit tests that do not exist: ${missing.join(', ')}`);

const shared = {
  testEnvironment: 'node',
  // The transform cache lives with the dependencies, not in /tmp: a run leaves nothing there.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};

module.exports = {
  maxWorkers: 2,
  // Tests wait on conditions; a bound this generous only decides how long a hang takes to fail,
  // and a saturated machine (CI on a bad day) must not fail a test that would pass.
  testTimeout: 180_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: UNIT_TESTS.map((file) => `<rootDir>/${file}`),
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...UNIT_TESTS.map((file) => `<rootDir>/${file}`)],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
};
