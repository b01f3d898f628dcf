import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { desiredWithout, createHandTokens, eventually, expectConverged, expectRevokedOnce, SMALL } from '../chaos/harness';
import { pushDirectory, seedFor } from '../helpers/stack/directory';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { SCIM_PATCH } from '../helpers/stack/scim-client';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';

/**
 * Redis loses its data (FLUSHALL on a private redis-server, never the machine's shared one) while
 * deactivations are in flight: their outbox rows are published, their jobs and the drift and
 * sweep schedules are gone. With no further SCIM write, the daemon notices (docs/robustness.md,
 * "Redis coming back empty"), sets its schedules again and reconciles: every team converges and
 * every departed creator's token is revoked within `reconcile.every` plus a minute.
 */

const RECONCILE_EVERY_MS = 30_000;
const DEPARTED = [0, 1, 2];

let redis: PrivateRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await startPrivateRedis();
  stack = await startStack({
    label: 'redisreset',
    seed: seedFor(SMALL),
    policy: benchPolicy({ reconcile: { every: `${RECONCILE_EVERY_MS / 1000}s` } }),
    pulumiLatencyMs: 5,
    redis,
    mode: 'source',
  });
}, 200_000);

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

async function unpublishedOutboxRows(): Promise<number> {
  const pg = new Client({ connectionString: stack.db.url });
  await pg.connect();
  try {
    return Number((await pg.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n);
  } finally {
    await pg.end();
  }
}

it('converges and revokes departed creators after Redis comes back empty, with no manual step', async () => {
  const push = await pushDirectory(stack.scim, SMALL, 4);
  await expectConverged(stack, desiredWithout(SMALL, new Set()), 90_000);
  const due = await createHandTokens(stack, SMALL, DEPARTED);
  const notDue = await createHandTokens(stack, SMALL, [5]);

  // A slow Pulumi keeps the deactivations' jobs waiting in Redis when its data goes.
  const slow = stack.emulator.faults.add({ path: '/api/**', kind: 'latency', latencyMs: 3000 });
  for (const u of DEPARTED) {
    const answer = await stack.scim.request('PATCH', `/Users/${push.userIds[u]}`, {
      schemas: [SCIM_PATCH],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect([200, 204]).toContain(answer.status);
  }
  await eventually('outbox published', async () => (await unpublishedOutboxRows()) === 0, 60_000);
  const flusher = new Redis(redis.url);
  try {
    await flusher.flushall();
  } finally {
    flusher.disconnect();
  }
  stack.emulator.faults.remove(slow);

  const bound = RECONCILE_EVERY_MS + 60_000;
  await expectConverged(stack, desiredWithout(SMALL, new Set(DEPARTED)), bound);
  await expectRevokedOnce(stack, due, notDue, bound);
  // Jobs already running when the data went may finish the work before the periodic check
  // notices the loss; the notice must still come.
  await eventually('the daemon noticed the loss', () => readFileSync(stack.daemon.logFile, 'utf8').includes('Redis lost its data'), 60_000);
}, 400_000);
