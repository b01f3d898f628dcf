import type { Job, Worker } from 'bullmq';
import { createLogger } from '../../src/log';
import { registry } from '../../src/metrics';
import { createQueueFactory, QUEUE, type QueueFactory } from '../../src/queue';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * Stall recovery on real Redis (docs/robustness.md, "Stall recovery"): a worker dies mid-job without
 * releasing it; once its lock expires another worker's stall check puts the job back, and
 * `idp_sync_jobs_stalled_total` counts it. The factory's 1 s lock (WORKER_LOCK_DURATION_MS)
 * keeps the wait short.
 */

let factory: QueueFactory;
beforeAll(() => {
  factory = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix(), logger: createLogger({ silent: true }), lockDurationMs: 1000 });
});
afterAll(async () => {
  await factory.close(2000);
});

/** The counter as Prometheus scrapes it. */
async function stalledTotal(queue: string): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`idp_sync_jobs_stalled_total{queue="${queue}"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Starts a worker whose first job never finishes, and kills it (no lock renewal, no result) once that job runs. */
async function workerDyingMidJob(jobName: string): Promise<void> {
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const victim: Worker = factory.createWorker(QUEUE.reconcile, async () => {
    started();
    await new Promise<never>(() => undefined);
  });
  await factory.queue(QUEUE.reconcile).add(jobName, { team: jobName, reason: 'manual' });
  await running;
  await victim.close(true);
}

function next<T extends unknown[]>(worker: Worker, event: 'completed' | 'failed'): Promise<T> {
  return new Promise((resolve) => worker.once(event, (...args: unknown[]) => resolve(args as T)));
}

describe('stalled jobs', () => {
  it('a job whose worker died runs again on another worker, and the stall is counted', async () => {
    const before = await stalledTotal(QUEUE.reconcile);
    await workerDyingMidJob('orphan');

    const ran: string[] = [];
    const rescuer = factory.createWorker(QUEUE.reconcile, async (job: Job) => {
      ran.push(job.name);
      return 'done';
    });
    const [job, result] = await next<[Job, string]>(rescuer, 'completed');

    expect(job.name).toBe('orphan');
    expect(result).toBe('done');
    expect(ran).toEqual(['orphan']);
    expect(job.stalledCounter).toBe(1);
    expect(await stalledTotal(QUEUE.reconcile)).toBe(before + 1);
    await rescuer.close();
  }, 20_000);

  it('a stall past maxStalledCount fails the job for good and is counted too', async () => {
    const before = await stalledTotal(QUEUE.reconcile);
    await workerDyingMidJob('crasher');

    const ran: string[] = [];
    const rescuer = factory.createWorker(QUEUE.reconcile, async (job: Job) => void ran.push(job.name), { maxStalledCount: 0 });
    const [job, err] = await next<[Job, Error]>(rescuer, 'failed');

    expect(job.name).toBe('crasher');
    expect(err.message).toBe('job stalled more than allowable limit');
    expect(ran).toEqual([]);
    expect(await stalledTotal(QUEUE.reconcile)).toBe(before + 1);
    await rescuer.close();
  }, 20_000);
});
