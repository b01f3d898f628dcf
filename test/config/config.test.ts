import { ConfigError, describeConfig, loadConfig, scimRateLimit } from '../../src/config';

describe('config', () => {
  it('applies the zero-config defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PULUMI_BACKEND_URL).toBe('https://api.pulumi.com');
    expect(config.SYNC_CONFIG).toBe('config/sync.yaml');
    expect(config.RUN_WORKERS).toBe(true);
    expect(config.WORKER_CONCURRENCY).toBe(16);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable in one error', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud', WORKER_CONCURRENCY: '0' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT:/m);
      expect(problems).toMatch(/^DATABASE_URL:/m);
      expect(problems).toMatch(/^LOG_LEVEL:/m);
      expect(problems).toMatch(/^WORKER_CONCURRENCY:/m);
    }
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PULUMI_ACCESS_TOKEN: '' }).PULUMI_ACCESS_TOKEN).toBeUndefined();
    // Numbers too: an empty PORT is the default port, not 0 (a random port).
    const numbers = loadConfig({ PORT: '', PULUMI_MAX_RPS: ' ', WORKER_CONCURRENCY: '', WORKER_LOCK_DURATION_MS: '', SAML_CLOCK_SKEW_MS: '' });
    expect(numbers.PORT).toBe(8080);
    expect(numbers.PULUMI_MAX_RPS).toBe(20);
    expect(numbers.WORKER_CONCURRENCY).toBe(16);
    expect(numbers.WORKER_LOCK_DURATION_MS).toBe(30_000);
    expect(numbers.SAML_CLOCK_SKEW_MS).toBe(30_000);
  });

  it('reads the SCIM rate limit: defaults, empty as unset, 0 turns it off', () => {
    expect(scimRateLimit(loadConfig({}))).toEqual({ perSecond: 200, burst: 1000 });
    expect(scimRateLimit(loadConfig({ SCIM_RATE_LIMIT_RPS: '', SCIM_RATE_LIMIT_BURST: ' ' }))).toEqual({ perSecond: 200, burst: 1000 });
    expect(scimRateLimit(loadConfig({ SCIM_RATE_LIMIT_RPS: '0.5', SCIM_RATE_LIMIT_BURST: '2' }))).toEqual({ perSecond: 0.5, burst: 2 });
    expect(scimRateLimit(loadConfig({ SCIM_RATE_LIMIT_RPS: '0' }))).toBe(false);
    expect(describeConfig(loadConfig({ SCIM_RATE_LIMIT_RPS: '50' }))).toMatchObject({ SCIM_RATE_LIMIT_RPS: 50, SCIM_RATE_LIMIT_BURST: 1000 });
  });

  it.each([
    ['SCIM_RATE_LIMIT_RPS', '-1'],
    ['SCIM_RATE_LIMIT_RPS', 'fast'],
    ['SCIM_RATE_LIMIT_RPS', 'Infinity'],
    ['SCIM_RATE_LIMIT_BURST', '0'],
    ['SCIM_RATE_LIMIT_BURST', '1.5'],
    ['SCIM_RATE_LIMIT_BURST', 'lots'],
  ])('rejects %s=%s naming the variable', (variable, value) => {
    let problems: string[] = [];
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${variable}: `))]);
  });

  it('never shows secret values when described for the log', () => {
    const described = describeConfig(
      loadConfig({ PULUMI_ACCESS_TOKEN: 'pul-abcdef', ADMIN_API_TOKEN: 'admin-secret-0123456789' }),
    );
    expect(JSON.stringify(described)).not.toContain('pul-abcdef');
    expect(JSON.stringify(described)).not.toContain('admin-secret');
    expect(described.PULUMI_ACCESS_TOKEN).toBe('set');
    expect(described.SCIM_BEARER_TOKEN).toBe('unset');
  });
});

describe('entry points with a bad environment', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const run = (entry: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ['-r', './test/helpers/stack/register-ts.cjs', entry], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it.each(['src/main.ts', 'workers/main.ts', 'src/cli/main.ts'])('%s exits 2 naming the variable, without a stack trace', (entry) => {
    const result = run(entry, { PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ {2}PORT:/m);
    expect(result.stderr).toMatch(/^ {2}LOG_LEVEL:/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
