import { type Job, RateLimitError, UnrecoverableError, type Worker } from 'bullmq';
import { classifyFailure } from '../pulumi';
import { QUEUE, type QueueFactory, type RevokeLaneJob } from '../queue';
import type { TokensController } from './controller';

/**
 * The worker of the `revoke` queue — the fast lane. It is its own queue with its own worker
 * (and, in the runtime wiring, its own Pulumi client and limiter), so a revoke never waits
 * behind team reconciles, whatever their backlog. The same queue carries the scheduled token
 * sweep (`sweep` jobs), which is short and also about revoking.
 */

export const SWEEP_JOB = 'sweep';
const SWEEP_SCHEDULER_ID = 'tokens-sweep';

export interface RevokeLaneOptions {
  /** Revoke jobs run at once. @defaultValue 8 */
  concurrency?: number;
  /** How often the expiry / crash-recovery sweep runs; 0 = never (tests). @defaultValue 60000 */
  sweepEveryMs?: number;
}

export interface RevokeLaneWorker {
  worker: Worker;
  /**
   * The sweep's scheduler set (or removed) in Redis: true once done, false when the queue
   * factory closed first. Start-up does not wait for it (Redis may be down at boot).
   */
  scheduled: Promise<boolean>;
  /** Sets the sweep's scheduler again (after Redis lost its data). */
  reschedule(): Promise<void>;
  /** Whether the sweep's scheduler is as it should be (present, or absent when the sweep is off). */
  scheduleIntact(): Promise<boolean>;
}

export function startRevokeLaneWorker(factory: QueueFactory, controller: TokensController, options: RevokeLaneOptions = {}): RevokeLaneWorker {
  const worker: Worker = factory.createWorker<RevokeLaneJob | Record<string, never>>(
    QUEUE.revoke,
    async (job: Job) => {
      try {
        if (job.name === SWEEP_JOB) return await controller.sweep();
        const data = job.data as RevokeLaneJob;
        return await controller.person({
          userId: data.userId,
          requestId: data.requestId ?? null,
          requestedAt: Number.isFinite(data.at) ? new Date(data.at) : null,
        });
      } catch (err) {
        // The one classification every worker uses (src/pulumi `classifyFailure`).
        const failure = classifyFailure(err);
        if (failure.kind === 'rate-limited') {
          // Pulumi asked us to wait: pause this queue without using up an attempt.
          await worker.rateLimit(failure.retryAfterMs);
          throw new RateLimitError();
        }
        if (failure.kind === 'permanent') throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
        throw err;
      }
    },
    { concurrency: options.concurrency ?? 8 },
  );

  const sweepEveryMs = options.sweepEveryMs ?? 60_000;
  const queue = factory.queue(QUEUE.revoke);
  const reschedule = async () => {
    if (sweepEveryMs > 0) await queue.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: sweepEveryMs }, { name: SWEEP_JOB, data: {}, opts: { attempts: 1 } });
    else await queue.removeJobScheduler(SWEEP_SCHEDULER_ID);
  };
  const scheduled = factory.inBackground('token sweep schedule', reschedule);
  const scheduleIntact = async () => sweepEveryMs > 0 === Boolean(await queue.getJobScheduler(SWEEP_SCHEDULER_ID));
  return { worker, scheduled, reschedule, scheduleIntact };
}
