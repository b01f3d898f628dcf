import type { Job, Worker } from 'bullmq';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createQueueFactory, enqueueTeamReconcile, QUEUE, type QueueFactory, type ReconcileTeamJob } from '../../src/queue';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * QUEUE_PREFIX keeps installations that share one Redis apart: staging's workers never take
 * production's jobs, nor the other way round, and deduplication per team stays within each.
 */

const base = uniquePrefix();
let staging: QueueFactory;
let production: QueueFactory;
beforeAll(() => {
  const logger = createLogger({ silent: true });
  staging = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: `${base}-staging`, logger });
  production = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: `${base}-production`, logger });
});
afterAll(async () => {
  // Both prefixes start with `base`: one scan removes what either installation wrote.
  const keys: string[] = [];
  for await (const batch of production.producer.scanStream({ match: `${base}-*` })) keys.push(...(batch as string[]));
  if (keys.length > 0) await production.producer.del(...keys);
  await Promise.all([staging.close(2000), production.close(2000)]);
});

/** A worker of one at a time that records what it ran: it takes the queue's jobs in the order they were added. */
function recordingWorker(factory: QueueFactory, ran: ReconcileTeamJob[]): Worker<ReconcileTeamJob> {
  return factory.createWorker<ReconcileTeamJob>(QUEUE.reconcile, async (job: Job<ReconcileTeamJob>) => void ran.push(job.data), { concurrency: 1 });
}

function completion(worker: Worker<ReconcileTeamJob>): Promise<ReconcileTeamJob> {
  return new Promise((resolve) => worker.once('completed', (job: Job<ReconcileTeamJob>) => resolve(job.data)));
}

describe('QUEUE_PREFIX', () => {
  it('two installations on one Redis never run each other’s jobs', async () => {
    // Staging's job is added first, while staging has no worker, for the same team: in a shared
    // queue, production's worker would take it before its own, or deduplication would drop one.
    await enqueueTeamReconcile(staging, { team: 'platform', reason: 'staging' });

    const productionRan: ReconcileTeamJob[] = [];
    const productionWorker = recordingWorker(production, productionRan);
    const productionDone = completion(productionWorker);
    await enqueueTeamReconcile(production, { team: 'platform', reason: 'production' });
    await productionDone;

    expect(productionRan).toEqual([{ team: 'platform', reason: 'production' }]);
    expect(await staging.queue(QUEUE.reconcile).getJobCounts('wait', 'active', 'completed')).toEqual({ wait: 1, active: 0, completed: 0 });

    const stagingRan: ReconcileTeamJob[] = [];
    const stagingDone = completion(recordingWorker(staging, stagingRan));
    await stagingDone;

    expect(stagingRan).toEqual([{ team: 'platform', reason: 'staging' }]);
    expect(productionRan).toHaveLength(1);
  }, 20_000);
});

describe('QUEUE_PREFIX setting', () => {
  it('defaults to pis', () => {
    expect(loadConfig({}).QUEUE_PREFIX).toBe('pis');
    expect(loadConfig({ QUEUE_PREFIX: ' ' }).QUEUE_PREFIX).toBe('pis');
  });

  it('takes a name, or a hash tag for Redis Cluster', () => {
    expect(loadConfig({ QUEUE_PREFIX: 'pis-staging' }).QUEUE_PREFIX).toBe('pis-staging');
    expect(loadConfig({ QUEUE_PREFIX: '{pis}' }).QUEUE_PREFIX).toBe('{pis}');
  });

  it.each(['pis:staging', 'pis staging', '{pis', 'a{pis}'])('refuses %j, naming the variable', (value) => {
    expect(() => loadConfig({ QUEUE_PREFIX: value })).toThrow(ConfigError);
    expect(() => loadConfig({ QUEUE_PREFIX: value })).toThrow(/QUEUE_PREFIX: must be/);
  });
});
