import { createHash } from 'node:crypto';
import { type Job, type JobsOptions, type Processor, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { warnAtMostEvery, type Logger } from '../log';
import { withTimeout } from '../util';
import { jobsStalled, registerQueueCollector, registerRedisNoEvictionCollector } from '../metrics';
import { bullmqTelemetry, currentTraceparent, withJobSpan } from '../tracing';
import { checkEvictionPolicy, createRedis, type EvictionCheck, type EvictionPolicy, readEvictionPolicy } from './redis';

/**
 * The one place queues and workers are built, so every queue gets the same: connection options
 * (producers fail fast, workers wait for Redis), the check that Redis does not evict,
 * retention, listeners and bounded shutdown.
 *
 * Queues:
 * - `reconcile`: `team` jobs `{team, reason, requestId}` deduplicated per team, and `full`
 *   jobs (drift schedule, admin API, policy reload) that fan out one `team` job per team.
 * - `revoke`: the fast lane for identity loss `{userId, requestId, at, reason}`. This part
 *   only enqueues; the tokens part (src/tokens) runs the worker with
 *   `factory.createWorker(QUEUE.revoke, processor)`.
 *
 * Job data carries keys and ids only: never SCIM payloads, logins or token values (BullMQ
 * stores job data in clear text). While tracing is on, each job also carries the traceparent of
 * the context that enqueued it, and each worker runs the job in a span continuing it.
 */

export { createLimitsRedis, createRedis, resolveRedis, DEFAULT_REDIS_URL, EvictionPolicyError } from './redis';
export type { EvictionCheck, EvictionPolicy, RedisEndpoint } from './redis';
export { redisEpochKey, watchRedisEpoch } from './redis-epoch';
export type { RedisEpochWatch, RedisEpochWatchOptions, RedisResetReason } from './redis-epoch';

/** The queue did not take a job in time (Redis down or not answering): callers answer 503 or retry later. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

export const QUEUE = { reconcile: 'reconcile', revoke: 'revoke' } as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export const JOB = { team: 'team', full: 'full' } as const;

/** What caused a reconcile: an outbox event kind, `drift`, `manual`, `policy-reload`, `pending-retry`. */
export type ReconcileReason = string;

export interface ReconcileTeamJob {
  team: string;
  reason: ReconcileReason;
  /** The SCIM (or admin API) request that caused it, for the audit log. */
  requestId?: string;
  /** When the directory change that caused it committed (epoch ms), if one did. */
  at?: number;
  /** The W3C traceparent of the context that enqueued it; the enqueue functions set it (docs/architecture.md, "Tracing"). */
  traceparent?: string;
}

export interface FullReconcileJob {
  /**
   * `emulator-start`: a start against the built-in emulator, whose org may have been re-seeded.
   * `redis-reset`: Redis lost its data, and with it the jobs in flight.
   */
  reason: 'drift' | 'manual' | 'policy-reload' | 'emulator-start' | 'redis-reset';
  requestId?: string;
  /** The W3C traceparent of the context that enqueued it; the enqueue functions set it (docs/architecture.md, "Tracing"). */
  traceparent?: string;
}

export interface RevokeLaneJob {
  /** The SCIM user who lost access. */
  userId: string;
  /** The outbox event kind: user.deactivated, user.deleted or group.members_changed. */
  reason: string;
  /** Set for group.members_changed: the group the user left. */
  groupId?: string;
  /** Teams the change took the user off (their groups' teams), so the lane need not ask Pulumi. */
  teams?: string[];
  requestId?: string;
  /** When the directory change committed (epoch ms): the start of the revoke latency. */
  at: number;
  /** The W3C traceparent of the context that enqueued it; the enqueue functions set it (docs/architecture.md, "Tracing"). */
  traceparent?: string;
}

/**
 * A Shared Signals action on the revoke lane (job name `signal`): what a verified SET asked
 * for one person. Carries ids only; the SET itself is never stored.
 */
export interface SignalJob {
  /** The SCIM user the SET's subject names. */
  userId: string;
  actions: Array<'end-sessions' | 'revoke-tokens' | 'deprovision'>;
  /** The SET's `jti`, `iss` and event type URI, for the audit log. */
  jti: string;
  issuer: string;
  eventType: string;
  /** When the SET arrived (epoch ms): the start of the signal-to-revoke latency. */
  at: number;
}

export const SIGNAL_JOB = 'signal';

/**
 * BullMQ ids must not contain ':' nor be all digits (docs/robustness.md, "Job ids and deduplication"); team names can be
 * neither, but the prefix keeps the id space of teams apart from anything else.
 */
export function teamDedupId(team: string): string {
  return `team-${team.replace(/:/g, '_')}`;
}

export function revokeDedupId(userId: string): string {
  return `revoke-${userId.replace(/:/g, '_')}`;
}

/**
 * Retries with exponential backoff and jitter; completed jobs are kept briefly for the
 * dashboard. Deduplication (not jobId) keys the jobs, so retention never swallows a new
 * job (docs/robustness.md, "Job ids and deduplication").
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};

export interface QueueFactoryOptions {
  redisUrl: string;
  /** BullMQ key prefix (QUEUE_PREFIX); tests use a unique one per file. */
  prefix: string;
  logger: Logger;
  /**
   * Workers' job lock duration, ms, also their stalled-check interval (BullMQ ships both
   * equal): a crashed worker's job runs again within about twice this. @defaultValue 30000
   */
  lockDurationMs?: number;
  /**
   * A readable `maxmemory-policy` other than noeviction: `refuse` makes `startupCheck()` reject,
   * `warn` logs a warning. The entry points pass REDIS_EVICTION_CHECK (default refuse).
   * @defaultValue warn
   */
  evictionCheck?: EvictionCheck;
}

export interface CreateWorkerOptions extends Partial<Omit<WorkerOptions, 'connection' | 'prefix'>> {
  /** Jobs this worker runs at once. @defaultValue 4 */
  concurrency?: number;
}

export interface QueueFactory {
  readonly prefix: string;
  /** The shared producer connection (fails fast while Redis is down). */
  readonly producer: Redis;
  queue<T = unknown>(name: QueueName): Queue<T>;
  createWorker<T = unknown, R = unknown>(name: QueueName, processor: Processor<T, R>, options?: CreateWorkerOptions): Worker<T, R>;
  /**
   * Job counts per state of every queue this factory built. Rejects after 2 s without an
   * answer: BullMQ holds commands until Redis has been reachable once, and the callers (a
   * metrics scrape, the status page) must answer while it is not.
   */
  depths(): Promise<Record<string, Record<string, number>>>;
  /**
   * The check of `maxmemory-policy` the factory started when created. Rejects with
   * EvictionPolicyError when `evictionCheck` is `refuse` and Redis reports another policy than
   * noeviction; resolves (ok null) when the policy cannot be read. Await it before starting work.
   */
  startupCheck(): Promise<EvictionPolicy>;
  /** Redis' `maxmemory-policy`, read now. BullMQ needs `noeviction`. */
  evictionPolicy(): Promise<EvictionPolicy>;
  /**
   * Runs a queue call start-up needs (a scheduler upsert) without holding start-up: BullMQ
   * holds a command until Redis is ready, so awaiting one at boot with Redis down would keep
   * the daemon from listening (docs/robustness.md, "Redis down at boot"). A rejection (say the connection
   * dropped mid-command) is logged and the call retried with backoff; `close()` abandons it.
   * Resolves true once the call succeeded, false when abandoned; never rejects.
   */
  inBackground(what: string, call: () => Promise<unknown>): Promise<boolean>;
  /**
   * Stops workers (waiting for active jobs up to `deadlineMs`, then forcing: an abandoned job
   * is re-delivered by stall recovery), then queues and connections.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** BullMQ's own default lock duration and stalled-check interval. */
const DEFAULT_LOCK_DURATION_MS = 30_000;

/** How long `depths()` waits for Redis. */
const DEPTHS_TIMEOUT_MS = 2000;

/** Backoff of `inBackground` retries: 1 s, doubling, at most this. */
const MAX_BACKGROUND_RETRY_MS = 30_000;

const COUNTED_STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

export function createQueueFactory(options: QueueFactoryOptions): QueueFactory {
  const { prefix, logger } = options;
  // Producers fail fast instead of queueing commands while Redis is away: the outbox keeps
  // the work, and an admin request gets an error rather than hanging.
  const producer = createRedis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  producer.on('error', (err) => logger.debug('redis producer connection error', { err: err.message }));
  const queues = new Map<string, Queue>();
  const workers: Array<{ worker: Worker; connection: Redis }> = [];
  let closing = false;
  /** Ends the backoff pauses of `inBackground` calls at once (close). */
  const wakers = new Set<() => void>();

  const unregister = registerQueueCollector(async () => {
    const out = [];
    for (const [queue, counts] of Object.entries(await depths())) {
      for (const [state, count] of Object.entries(counts)) out.push({ queue, state, count });
    }
    return out;
  });
  const startupCheck = checkEvictionPolicy(producer, logger, options.evictionCheck ?? 'warn');
  // Handled by whoever awaits startupCheck(); a factory nobody asks must not crash the process.
  startupCheck.catch(() => undefined);
  const unregisterEviction = registerRedisNoEvictionCollector(async () => (await readEvictionPolicy(producer)).ok);

  function queue<T>(name: QueueName): Queue<T> {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: producer, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS, telemetry: bullmqTelemetry() });
      q.on('error', (err) => logger.debug('queue error', { queue: name, err: err.message }));
      queues.set(name, q);
    }
    return q as unknown as Queue<T>;
  }

  function createWorker<T, R>(name: QueueName, processor: Processor<T, R>, workerOptions: CreateWorkerOptions = {}): Worker<T, R> {
    const connection = createRedis(options.redisUrl);
    connection.on('error', (err) => logger.debug('redis worker connection error', { err: err.message }));
    const traced: Processor<T, R> = (job, token, signal) =>
      withJobSpan(
        job.name === name ? name : `${name} ${job.name}`,
        (job.data as { traceparent?: string } | undefined)?.traceparent,
        { 'bullmq.job.id': job.id ?? '', 'bullmq.job.attempts_made': job.attemptsMade },
        () => processor(job, token, signal),
      );
    const worker = new Worker<T, R>(name, traced, {
      concurrency: 4,
      // `worker.rateLimit()` on a Pulumi 429 only takes effect when a limiter is set
      // (BullMQ guide/rate-limiting); the limit itself is far above what we reach.
      limiter: { max: 10_000, duration: 1000 },
      maxStalledCount: 2,
      lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
      stalledInterval: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
      telemetry: bullmqTelemetry(),
      ...workerOptions,
      connection,
      prefix,
    });
    // While Redis is down every reconnect attempt is an error: warn once a minute, not each time.
    const warnWorkerError = warnAtMostEvery(logger);
    worker.on('error', (err) => warnWorkerError('worker error', { queue: name, err: err.message }));
    worker.on('stalled', (jobId) => {
      jobsStalled.inc({ queue: name });
      logger.warn('job stalled: its worker lost the lock, it runs again', { queue: name, jobId });
    });
    worker.on('failed', (job: Job<T, R> | undefined, err: Error) => {
      const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
      logger[final ? 'error' : 'warn'](final ? 'job failed for good' : 'job failed, will retry', {
        queue: name,
        jobId: job?.id,
        jobName: job?.name,
        attemptsMade: job?.attemptsMade,
        err: err.message,
      });
    });
    workers.push({ worker: worker as unknown as Worker, connection });
    return worker;
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      // Unref'd: a retry that is waiting must not keep a stopping process alive.
      const timer = setTimeout(wake, ms).unref();
      wakers.add(wake);
    });
  }

  async function inBackground(what: string, call: () => Promise<unknown>): Promise<boolean> {
    for (let attempt = 1; !closing; attempt++) {
      try {
        await call();
        if (attempt > 1) logger.info('queue call done after retries', { what, attempts: attempt });
        return true;
      } catch (err) {
        // Closing disconnects the producer, which rejects the call: not a failure to report.
        if (closing) break;
        const retryInMs = Math.min(1000 * 2 ** (attempt - 1), MAX_BACKGROUND_RETRY_MS);
        logger.warn('queue call failed (Redis unavailable?); retrying', { what, err: (err as Error).message, attempt, retryInMs });
        await pause(retryInMs);
      }
    }
    return false;
  }

  async function depths(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    const counts = async () => {
      for (const [name, q] of queues) out[name] = await q.getJobCounts(...COUNTED_STATES);
    };
    await withTimeout(counts(), DEPTHS_TIMEOUT_MS, `Redis did not answer within ${DEPTHS_TIMEOUT_MS} ms`);
    return out;
  }

  return {
    prefix,
    producer,
    queue,
    createWorker,
    depths,
    startupCheck: () => startupCheck,
    evictionPolicy: () => readEvictionPolicy(producer),
    inBackground,
    async close(deadlineMs = 10_000) {
      closing = true;
      for (const wake of [...wakers]) wake();
      unregister();
      unregisterEviction();
      await settlesWithin(startupCheck, 2000);
      await Promise.all(
        workers.map(async ({ worker, connection }) => {
          const closed = await settlesWithin(worker.close(), deadlineMs);
          if (!closed) {
            logger.warn('worker did not finish its jobs before the deadline: forcing close', { queue: worker.name });
            await settlesWithin(worker.close(true), 2000);
          }
          connection.disconnect();
        }),
      );
      await Promise.all([...queues.values()].map((q) => settlesWithin(q.close(), 2000)));
      producer.disconnect();
    },
  };
}

/** True when the promise settled in time (a rejection counts as settled). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fast lane's producer side. */
export interface RevokeLane {
  enqueue(job: RevokeLaneJob): Promise<void>;
}

/**
 * Identity-loss events go here in addition to their team reconcile. Deduplicated per user
 * while waiting (latest data wins, one follow-up while active); priority is the queue itself.
 */
export function createRevokeLane(factory: QueueFactory): RevokeLane {
  const q = factory.queue<RevokeLaneJob>(QUEUE.revoke);
  return {
    async enqueue(job) {
      await q.add('revoke', withTraceparent(job), {
        deduplication: { id: revokeDedupId(job.userId), keepLastIfActive: true },
        attempts: 10,
        backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
      });
    },
  };
}

/**
 * A signal's actions for one person, ahead of nothing else on the fast lane. The job id is
 * derived from the SET and the person, so a SET delivered twice (poll after a crash) is one job.
 */
export async function enqueueSignal(factory: QueueFactory, job: SignalJob): Promise<void> {
  await factory.queue<SignalJob>(QUEUE.revoke).add(SIGNAL_JOB, job, {
    jobId: `signal-${createHash('sha256').update(`${job.issuer}\n${job.jti}\n${job.userId}`).digest('hex').slice(0, 40)}`,
    attempts: 10,
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
  });
}

/**
 * Enqueues one reconcile of a team; a burst for one team collapses to ≤ 1 active + 1 waiting.
 * `delayMs` opens a coalescing window: while the job waits, further adds for the team are
 * absorbed by it (it reads state when it runs); while it is active, one follow-up is kept
 * (keepLastIfActive, latest data wins) and gets the same delay.
 */
export async function enqueueTeamReconcile(factory: QueueFactory, job: ReconcileTeamJob, options: { delayMs?: number } = {}): Promise<void> {
  await factory.queue<ReconcileTeamJob>(QUEUE.reconcile).add(JOB.team, withTraceparent(job), {
    deduplication: { id: teamDedupId(job.team), keepLastIfActive: true },
    ...(options.delayMs ? { delay: options.delayMs } : {}),
  });
}

export async function enqueueFullReconcile(factory: QueueFactory, job: FullReconcileJob): Promise<void> {
  await factory.queue<FullReconcileJob>(QUEUE.reconcile).add(JOB.full, withTraceparent(job), {
    deduplication: { id: 'full', keepLastIfActive: true },
    attempts: 3,
  });
}

/** The job with the active trace's traceparent, unless it names one already. */
function withTraceparent<T extends { traceparent?: string }>(job: T): T {
  const traceparent = job.traceparent ?? currentTraceparent();
  return traceparent ? { ...job, traceparent } : job;
}
