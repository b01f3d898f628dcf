import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startNodeProcess, startPrivateRedis, waitFor, type PrivateRedis } from '../helpers/stack/processes';
import { oktaUser } from '../helpers/stack/scim-client';
import { loadConfig } from '../../src/config';
import { DRIFT_SCHEDULER_ID } from '../../src/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * docs/robustness.md, "Redis down at boot": Redis down when the daemon starts. The daemon (run
 * from source as a real process, built-in emulator) listens, answers /healthz, is ready on
 * /readyz (whose body reports Redis down), and acknowledges SCIM writes — their outbox rows wait
 * in Postgres.
 * Once the private redis-server comes up on that port, the relay publishes the rows and the
 * start-up schedules (token sweep, drift) are in Redis.
 */

const SCIM_TOKEN = 'redis-down-at-boot-scim-token';
/** Generous: a daemon compiling its TypeScript on a saturated machine takes long to answer, and waiting costs nothing. */
const WAIT_MS = 120_000;

let redis: PrivateRedis;
let database: TestDatabase;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pis-redis-down-'));

beforeAll(async () => {
  // Started and stopped at once: a port on which nothing answers until the test starts it again.
  redis = await startPrivateRedis();
  await redis.stop();
  database = await createTestDatabase();
}, 300_000);

afterAll(async () => {
  await redis?.stop();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface OutboxRow {
  kind: string;
  published_at: Date | null;
  attempts: number;
}

async function deactivationRow(userId: string): Promise<OutboxRow | undefined> {
  return database.db('outbox').where('kind', 'user.deactivated').whereRaw(`payload->>'userId' = ?`, [userId]).first('kind', 'published_at', 'attempts');
}

interface Daemon {
  base: string;
  /** Waits until `probe` holds; fails with the daemon's output if it exits or the wait ends first. */
  until(what: string, probe: () => Promise<boolean>): Promise<void>;
  output(): string;
  stop(): Promise<number | string>;
}

/** `npm start` from source, its Redis the private one (down until a test starts it). */
function startDaemon(port: number): Daemon {
  const proc = startNodeProcess(
    'src/main.js',
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      SCIM_BEARER_TOKEN: SCIM_TOKEN,
      LOG_LEVEL: 'info',
    },
    'redis-down-at-boot',
    'source',
  );
  let output = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  proc.child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const closed = once(proc.child, 'close');
  return {
    base: `http://127.0.0.1:${port}`,
    async until(what, probe) {
      try {
        await Promise.race([
          waitFor(what, probe, WAIT_MS, 100),
          closed.then(([code]) => {
            throw new Error(`the daemon exited (${code}) before ${what}`);
          }),
        ]);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${output}`);
      }
    },
    output: () => output,
    stop: () => proc.stop(),
  };
}

const healthy = (daemon: Daemon) => async () => (await fetch(`${daemon.base}/healthz`).catch(() => undefined))?.status === 200;

it('starts, serves SCIM and keeps the outbox while Redis is down; publishes once Redis is up', async () => {
  const daemon = startDaemon(await freePort());
  const scim = (method: string, route: string, body: unknown) =>
    fetch(`${daemon.base}/scim/v2${route}`, {
      method,
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });

  let exitCode: number | string | undefined;
  try {
    await daemon.until('/healthz answers', healthy(daemon));

    // Ready: SCIM needs Postgres only. The body reports Redis down without making the daemon unready.
    const readyz = await fetch(`${daemon.base}/readyz`);
    expect(readyz.status).toBe(200);
    const checks = ((await readyz.json()) as { checks: Record<string, { ok: boolean }> }).checks;
    expect(checks.postgres.ok).toBe(true);
    expect(checks.redis.ok).toBe(false);

    const created = await scim('POST', '/Users', oktaUser(1));
    expect(created.status).toBe(201);
    const userId = ((await created.json()) as { id: string }).id;
    // Identity loss: the relay must put a revoke-lane job into Redis for this row.
    const deactivated = await scim('PATCH', `/Users/${userId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(deactivated.status).toBe(200);

    await daemon.until('the relay tried to publish the deactivation', async () => ((await deactivationRow(userId))?.attempts ?? 0) > 0);
    expect((await deactivationRow(userId))?.published_at).toBeNull();

    await redis.start();
    await daemon.until('the deactivation is published', async () => (await deactivationRow(userId))?.published_at instanceof Date);

    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    // The daemon runs with the default QUEUE_PREFIX.
    const prefix = loadConfig({}).QUEUE_PREFIX;
    const revoke = new Queue('revoke', { connection, prefix });
    const reconcile = new Queue('reconcile', { connection, prefix });
    try {
      await daemon.until(
        'the token sweep and drift schedules are set',
        async () => (await revoke.getJobScheduler('tokens-sweep')) !== undefined && (await reconcile.getJobScheduler(DRIFT_SCHEDULER_ID)) !== undefined,
      );
    } finally {
      await revoke.close();
      await reconcile.close();
      connection.disconnect();
    }
    await daemon.until('/readyz reports Redis up', async () => {
      const body = (await (await fetch(`${daemon.base}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
      return body.checks.redis.ok;
    });
  } finally {
    exitCode = await daemon.stop();
    await redis.stop();
  }
  expect(exitCode).toBe(0);
}, 300_000);

it('stops cleanly on SIGTERM while Redis is still down (start-up queue calls pending)', async () => {
  const daemon = startDaemon(await freePort());
  let exitCode: number | string | undefined;
  try {
    await daemon.until('/healthz answers', healthy(daemon));
  } finally {
    exitCode = await daemon.stop();
  }
  expect(exitCode).toBe(0);
  // The pending schedule upserts are abandoned quietly, not retried or reported after stop.
  expect(daemon.output()).not.toMatch(/queue call failed|unhandled/i);
}, 300_000);
