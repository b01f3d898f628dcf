import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { createLogger } from '../../src/log';
import { createQueueFactory, QUEUE, type QueueFactory } from '../../src/queue';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * The queue factory's workers through the two events docs/robustness.md, "Redis down at boot", names besides
 * Redis being down at boot (test/chaos/redis-down-at-boot.test.ts): shutdown while a job
 * outlives the deadline — `close()` forces the worker closed instead of waiting forever, and
 * stall recovery gives the job to another worker — and Redis dropping every connection while a
 * job runs: the job still finishes, once, and the worker keeps taking jobs.
 */

function logCapture() {
  const stream = new PassThrough();
  const lines: Array<{ level: string; message: string }> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ level: 'info', stream }), lines };
}

/** A processor that reports when a job starts and finishes it only when told. */
function gatedProcessor() {
  const ran: string[] = [];
  let started!: () => void;
  let release!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const processor = async (job: Job) => {
    ran.push(job.name);
    started();
    await released;
    return `done ${job.name}`;
  };
  return { processor, ran, running, release };
}

function next<T extends unknown[]>(worker: Worker, event: 'completed' | 'failed'): Promise<T> {
  return new Promise((resolve) => worker.once(event, (...args: unknown[]) => resolve(args as T)));
}

describe('shutdown with a job that outlives the deadline', () => {
  const prefix = uniquePrefix();
  let rescue: QueueFactory | undefined;
  afterAll(async () => {
    await rescue?.close(2000);
  });

  it('forces the worker closed after the deadline; stall recovery then runs the job on another worker', async () => {
    const { logger, lines } = logCapture();
    const stopping = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix, logger, lockDurationMs: 1000 });
    const gate = gatedProcessor();
    stopping.createWorker(QUEUE.reconcile, gate.processor);
    await stopping.queue(QUEUE.reconcile).add('long', { team: 'long', reason: 'manual' });
    await gate.running;

    // Resolves although the job never finishes: without the forced close this waits forever.
    await stopping.close(300);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'worker did not finish its jobs before the deadline: forcing close' }));

    rescue = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix, logger: createLogger({ silent: true }), lockDurationMs: 1000 });
    const rescuer = rescue.createWorker(QUEUE.reconcile, async (job: Job) => `rescued ${job.name}`);
    const [job, result] = await next<[Job, string]>(rescuer, 'completed');
    expect(result).toBe('rescued long');
    expect(job.stalledCounter).toBe(1);
    gate.release();
  }, 20_000);
});

describe('Redis dropping every connection while a job runs', () => {
  let redis: PrivateRedis;
  let factory: QueueFactory;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    factory = createQueueFactory({ redisUrl: redis.url, prefix: uniquePrefix(), logger: createLogger({ silent: true }), lockDurationMs: 1000 });
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await factory?.close(2000);
    await redis?.stop();
  });

  it('finishes the job once, and the worker keeps taking jobs', async () => {
    const gate = gatedProcessor();
    const worker = factory.createWorker(QUEUE.reconcile, gate.processor);
    const queue = factory.queue(QUEUE.reconcile);
    await queue.add('interrupted', { team: 'interrupted', reason: 'manual' });
    await gate.running;

    const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    expect(killed).toBeGreaterThanOrEqual(2); // the producer's and the worker's connections at least
    const finished = next<[Job, string]>(worker, 'completed');
    gate.release();
    const [job, result] = await finished;
    expect([job.name, result]).toEqual(['interrupted', 'done interrupted']);

    // Producers fail fast while disconnected (the outbox keeps the work): add once it is back.
    if (factory.producer.status !== 'ready') await once(factory.producer, 'ready');
    const after = next<[Job, string]>(worker, 'completed');
    await queue.add('after', { team: 'after', reason: 'manual' });
    expect((await after)[1]).toBe('done after');
    expect(gate.ran).toEqual(['interrupted', 'after']);
    expect(await queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed')).toEqual({ completed: 2, failed: 0, wait: 0, active: 0, delayed: 0 });
  }, 20_000);
});
