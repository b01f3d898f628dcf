import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startNodeProcess, startPrivateRedis, waitFor, type PrivateRedis } from '../helpers/stack/processes';
import { startEmulator, type Emulator } from '../../src/emulator';
import { acmeSeed } from '../helpers/acme-seed';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * docs/robustness.md, "noeviction": the daemon (`npm start`) and a worker (`npm run worker`), run from
 * source as real processes against a private redis-server set to `allkeys-lru`, refuse to start
 * with one line naming the setting and the fix; with REDIS_EVICTION_CHECK=warn the same
 * environment starts; with Redis down at boot the daemon is not refused. CONFIG and INFO refused
 * (an unreadable policy) is in test/queue/eviction-policy.test.ts.
 */

let redis: PrivateRedis;
let database: TestDatabase;
let emulator: Emulator;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pis-eviction-'));
/** Every process a test started; one still running (a failed test) is stopped after it. */
const started: Run[] = [];
/**
 * How long a process from source may take to start, refuse or get ready: a few seconds on a quiet
 * machine, minutes on a saturated one. Waiting costs nothing when it comes sooner.
 */
const BOOT_MS = 180_000;

beforeAll(async () => {
  redis = await startPrivateRedis();
  const admin = new Redis(redis.url);
  try {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
  } finally {
    admin.disconnect();
  }
  database = await createTestDatabase();
  emulator = await startEmulator({ seed: acmeSeed });
}, 2 * BOOT_MS);

afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await emulator?.stop();
  await redis?.stop();
  await database?.drop();
});

interface Run {
  /** Resolves with the exit code once the process has exited and its output is read. */
  closed: Promise<number | null>;
  /** The exit code, or 'still running' after `ms`. */
  exitCode(ms: number): Promise<number | null | 'still running'>;
  /** Waits until `probe` holds; throws with the output if the process exits first. */
  until(what: string, probe: () => Promise<boolean>): Promise<void>;
  output(): string;
  stop(): Promise<number | string>;
}

/** Starts an entry from source with this test's Postgres and Redis, collecting stdout and stderr. */
function run(entry: 'src/main.js' | 'workers/main.js', env: Record<string, string>): Run {
  const proc = startNodeProcess(
    entry,
    {
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    `eviction-${path.basename(path.dirname(entry))}`,
    'source',
  );
  let output = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  proc.child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // 'close' comes after the output streams ended, so nothing written before exit is missed.
  const closed = once(proc.child, 'close').then(([code]) => code as number | null);
  const exitCode = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
    try {
      return await Promise.race([closed, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const until = async (what: string, probe: () => Promise<boolean>) => {
    await Promise.race([
      waitFor(what, probe, BOOT_MS, 100),
      closed.then((code) => {
        throw new Error(`${entry} exited (${code}) before ${what}:\n${output}`);
      }),
    ]);
  };
  const handle: Run = { closed, exitCode, until, output: () => output, stop: () => proc.stop() };
  started.push(handle);
  return handle;
}

/** One line, no stack trace, naming the setting, its value, the risk and the fix. */
function expectRefusal(output: string): void {
  expect(output).toMatch(
    /^(pulumi-idp-sync|worker) refuses to start: Redis maxmemory-policy is "allkeys-lru", not "noeviction": .*lost or run twice.*CONFIG SET maxmemory-policy noeviction.*redis\.conf.*REDIS_EVICTION_CHECK=warn/m,
  );
  expect(output.match(/maxmemory-policy is/g)).toHaveLength(1);
  expect(output).not.toMatch(/\n\s+at /);
}

const readyz = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;

describe('the daemon at boot, on a Redis with maxmemory-policy allkeys-lru', () => {
  it(
    'refuses: exits 2 with one line naming the setting and the fix, and never serves /readyz',
    async () => {
      const port = await freePort();
      const daemon = run('src/main.js', { PORT: String(port) });
      let served = false;
      let code: Awaited<ReturnType<Run['exitCode']>> = 'still running';
      const deadline = Date.now() + BOOT_MS;
      while (code === 'still running' && Date.now() < deadline) {
        served ||= await fetch(`http://127.0.0.1:${port}/readyz`).then(
          () => true,
          () => false,
        );
        code = await daemon.exitCode(100);
      }
      expect(code).toBe(2);
      expect(served).toBe(false);
      expectRefusal(daemon.output());
      expect(daemon.output()).not.toContain('"listening"');
    },
    2 * BOOT_MS,
  );

  it(
    'starts with REDIS_EVICTION_CHECK=warn, warning about the policy',
    async () => {
      const port = await freePort();
      const daemon = run('src/main.js', { PORT: String(port), REDIS_EVICTION_CHECK: 'warn' });
      try {
        await daemon.until('/readyz', readyz(port));
        expect(daemon.output()).toMatch(/"level":"warn".*maxmemory-policy is \\"allkeys-lru\\"/);
      } finally {
        expect(await daemon.stop()).toBe(0);
      }
    },
    2 * BOOT_MS,
  );
});

describe('the daemon at boot, with Redis down', () => {
  it(
    'is not refused: it logs that the policy could not be checked, keeps running, and is ready once Redis is up',
    async () => {
      const late = await startPrivateRedis();
      await late.stop();
      try {
        const port = await freePort();
        const daemon = run('src/main.js', { PORT: String(port), REDIS_URL: late.url });
        await daemon.until('the could-not-check line', async () => daemon.output().includes('could not check Redis maxmemory-policy'));
        expect(await daemon.exitCode(1000)).toBe('still running');
        expect(daemon.output()).toMatch(/"level":"info".*could not check Redis maxmemory-policy/);
        await late.start();
        await daemon.until('/readyz', readyz(port));
        expect(daemon.output()).not.toContain('refuses to start');
        expect(await daemon.stop()).toBe(0);
      } finally {
        await late.stop();
      }
    },
    2 * BOOT_MS,
  );
});

describe('a worker at boot, on a Redis with maxmemory-policy allkeys-lru', () => {
  const pulumiEnv = () => ({ PULUMI_BACKEND_URL: emulator.url, PULUMI_ACCESS_TOKEN: emulator.accessToken, PULUMI_ORG: emulator.state.org });

  it(
    'refuses: exits 2 with one line naming the setting and the fix',
    async () => {
      const worker = run('workers/main.js', pulumiEnv());
      expect(await worker.exitCode(BOOT_MS)).toBe(2);
      expectRefusal(worker.output());
      expect(worker.output()).not.toContain('worker started');
    },
    2 * BOOT_MS,
  );

  it(
    'starts with REDIS_EVICTION_CHECK=warn',
    async () => {
      const worker = run('workers/main.js', { ...pulumiEnv(), REDIS_EVICTION_CHECK: 'warn' });
      try {
        await worker.until('worker started', async () => worker.output().includes('worker started'));
        expect(worker.output()).toMatch(/"level":"warn".*maxmemory-policy is \\"allkeys-lru\\"/);
      } finally {
        expect(await worker.stop()).toBe(0);
      }
    },
    2 * BOOT_MS,
  );
});
