import { execFile } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError, describeConfig, embeddedDatabaseUrl, loadConfig, loadDaemonConfig, loadEmulatorSettings, scimRateLimit } from '../../src/config';
import { createTestDatabase } from '../helpers/db';
import { freePort, startNodeProcess, startPrivateRedis, tailLog, waitFor } from '../helpers/stack/processes';

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

  it('gives the CLI and workers the database the daemon starts in the embedded Postgres', () => {
    expect(embeddedDatabaseUrl(loadConfig({ EMBEDDED_PG_PORT: '55432' }))).toBe('postgres://postgres:postgres@127.0.0.1:55432/pulumi_idp_sync');
  });

  it('never shows secret values when described for the log', () => {
    const described = describeConfig(loadConfig({ PULUMI_ACCESS_TOKEN: 'pul-abcdef', ADMIN_API_TOKEN: 'admin-secret-0123456789' }));
    expect(JSON.stringify(described)).not.toContain('pul-abcdef');
    expect(JSON.stringify(described)).not.toContain('admin-secret');
    expect(described.PULUMI_ACCESS_TOKEN).toBe('set');
    expect(described.SCIM_BEARER_TOKEN).toBe('unset');
  });
});

describe('the daemon and the built-in Pulumi emulator', () => {
  const refusal = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadDaemonConfig(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
    return [];
  };

  it('a development start without a token uses the emulator, as the two-command start needs', () => {
    expect(refusal({})).toEqual([]);
    expect(refusal({ NODE_ENV: 'development' })).toEqual([]);
  });

  it('refuses an empty token and a production start without one, naming PULUMI_ACCESS_TOKEN on one line', () => {
    expect(refusal({ PULUMI_ACCESS_TOKEN: '' })).toEqual([expect.stringMatching(/^PULUMI_ACCESS_TOKEN: is empty; set the token, or PULUMI_EMULATOR=1 /)]);
    expect(refusal({ PULUMI_ACCESS_TOKEN: ' ', NODE_ENV: 'development' })).toEqual([expect.stringMatching(/^PULUMI_ACCESS_TOKEN: is empty; /)]);
    expect(refusal({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^PULUMI_ACCESS_TOKEN: unset with NODE_ENV=production; set the token, or PULUMI_EMULATOR=1 /),
    ]);
    for (const problem of [...refusal({ PULUMI_ACCESS_TOKEN: '' }), ...refusal({ NODE_ENV: 'production' })]) expect(problem).not.toContain('\n');
  });

  it('PULUMI_EMULATOR=1 allows the emulator; a token needs no permission', () => {
    expect(refusal({ NODE_ENV: 'production', PULUMI_EMULATOR: '1' })).toEqual([]);
    expect(refusal({ PULUMI_ACCESS_TOKEN: '', PULUMI_EMULATOR: 'true' })).toEqual([]);
    expect(refusal({ NODE_ENV: 'production', PULUMI_ACCESS_TOKEN: 'pul-test-token' })).toEqual([]);
    expect(refusal({ NODE_ENV: 'production', PULUMI_EMULATOR: 'yes' })).toEqual([expect.stringMatching(/^PULUMI_EMULATOR: /)]);
  });

  it('the worker and CLI configuration does not refuse: they never start the emulator', () => {
    expect(loadConfig({ NODE_ENV: 'production', PULUMI_ACCESS_TOKEN: '' }).PULUMI_EMULATOR).toBe(false);
  });
});

describe('emulator settings', () => {
  it('default to 127.0.0.1:8090 and the demo org; EMULATOR_PORT wins over PORT, empty counts as unset', () => {
    expect(loadEmulatorSettings({})).toEqual({ port: 8090, host: '127.0.0.1', seedFile: undefined, org: undefined, accessToken: undefined });
    expect(loadEmulatorSettings({ PORT: '9000' }).port).toBe(9000);
    expect(loadEmulatorSettings({ EMULATOR_PORT: '9100', PORT: '9000', EMULATOR_HOST: '', EMULATOR_ORG: 'acme' })).toMatchObject({
      port: 9100,
      host: '127.0.0.1',
      org: 'acme',
    });
  });

  it('name a bad port', () => {
    expect(() => loadEmulatorSettings({ EMULATOR_PORT: '70000' })).toThrow(/^invalid configuration:\n {2}EMULATOR_PORT: /);
  });
});

/**
 * Each entry point compiles its TypeScript as it starts: seconds on a quiet machine, far more on
 * a saturated one. Waiting costs nothing when the process is fine, so the bound is generous.
 */
const SPAWN_TIMEOUT_MS = 150_000;
jest.setTimeout(SPAWN_TIMEOUT_MS + 30_000);

describe('entry points with a bad environment', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const run = (entry: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ['-r', './test/helpers/stack/register-ts.cjs', entry], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: SPAWN_TIMEOUT_MS,
    });

  it.each(['src/main.ts', 'workers/main.ts', 'src/cli/main.ts'])('%s exits 2 naming the variable, without a stack trace', (entry) => {
    const result = run(entry, { PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ {2}PORT:/m);
    expect(result.stderr).toMatch(/^ {2}LOG_LEVEL:/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('src/main.ts with NODE_ENV=production and no Pulumi token exits 2 with one line naming PULUMI_ACCESS_TOKEN', () => {
    const { PULUMI_ACCESS_TOKEN: _token, PULUMI_EMULATOR: _emulator, ...inherited } = process.env;
    const result = spawnSync(process.execPath, ['-r', './test/helpers/stack/register-ts.cjs', 'src/main.ts'], {
      env: { ...inherited, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: SPAWN_TIMEOUT_MS,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('  '))).toEqual([
      expect.stringMatching(/^ {2}PULUMI_ACCESS_TOKEN: unset with NODE_ENV=production; set the token, or PULUMI_EMULATOR=1 /),
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('src/main.ts exits 2 on an empty Pulumi token, as Compose passes when the variable is missing', () => {
    const result = run('src/main.ts', { PULUMI_ACCESS_TOKEN: '', PULUMI_EMULATOR: '' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ {2}PULUMI_ACCESS_TOKEN: is empty; /m);
  });

  it('src/emulator/main.ts exits 2 naming the variable', () => {
    const result = run('src/emulator/main.ts', { EMULATOR_PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ {2}EMULATOR_PORT:/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  describe('a half-made SAML setup', () => {
    // Stand-ins for Postgres and Redis that count who connects: a config error must come first.
    let listeners: net.Server[] = [];
    let connections = 0;
    const listen = async () => {
      const server = net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      listeners.push(server);
      return (server.address() as AddressInfo).port;
    };
    afterEach(async () => {
      await Promise.all(listeners.map((s) => new Promise((resolve) => s.close(resolve))));
      listeners = [];
      connections = 0;
    });

    it.each(['src/main.ts', 'workers/main.ts', 'src/cli/main.ts'])('%s exits 2 naming the variables, before connecting to Postgres or Redis', async (entry) => {
      const env = {
        DATABASE_URL: `postgres://postgres@127.0.0.1:${await listen()}/test`,
        REDIS_URL: `redis://127.0.0.1:${await listen()}`,
        PULUMI_ACCESS_TOKEN: 'pul-test-token',
        SAML_IDP_SSO_URL: 'https://idp.example/sso',
        PUBLIC_URL: '',
        SAML_IDP_ISSUER: '',
        SAML_IDP_CERT: '',
        SAML_IDP_CERT_FILE: '',
      };
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          ['-r', './test/helpers/stack/register-ts.cjs', entry, 'scim-token', 'list'],
          { env: { ...process.env, ...env }, encoding: 'utf8', timeout: SPAWN_TIMEOUT_MS },
          (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
        );
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^ {2}SAML_IDP_ISSUER: required when SAML_IDP_SSO_URL is set/m);
      expect(result.stderr).toMatch(/^ {2}PUBLIC_URL: /m);
      expect(result.stderr).toMatch(/^ {2}SAML_IDP_CERT \/ SAML_IDP_CERT_FILE: /m);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(connections).toBe(0);
    });
  });
});

describe('a production daemon asked for the emulator', () => {
  it('starts with NODE_ENV=production, an empty token and PULUMI_EMULATOR=1, and stops cleanly', async () => {
    const database = await createTestDatabase();
    const redis = await startPrivateRedis();
    const port = await freePort();
    const daemon = startNodeProcess(
      'src/main.js',
      {
        NODE_ENV: 'production',
        PULUMI_ACCESS_TOKEN: '',
        PULUMI_EMULATOR: '1',
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      'emulator-asked',
      'source',
    );
    try {
      const exitedEarly = daemon.exited.then((code) => {
        throw new Error(`daemon exited ${code} before it was ready:\n${tailLog(daemon.logFile)}`);
      });
      await Promise.race([waitFor('daemon /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, SPAWN_TIMEOUT_MS), exitedEarly]);
      expect(await daemon.stop()).toBe(0);
    } finally {
      await daemon.kill();
      await redis.stop();
      await database.drop();
    }
  });
});
