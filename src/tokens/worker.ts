import { type Job, RateLimitError, UnrecoverableError, type Worker } from 'bullmq';
import { classifyFailure } from '../pulumi';
import { QUEUE, type QueueFactory, type RevokeLaneJob, SIGNAL_JOB, type SignalJob } from '../queue';
import type { TokensController } from './controller';
import { createGroupCommit } from './group-commit';
import type { IdentityLoss } from './lane';

/**
 * The worker of the `revoke` queue — the fast lane. It is its own queue with its own worker
 * (and, in the runtime wiring, the Pulumi budget's priority class), so a revoke never waits
 * behind team reconciles, whatever their backlog. Its jobs stay one per person (retried and
 * deduplicated per person), but the people whose jobs run at once are revoked as one batch
 * (`TokensController.people`): a lone departure starts at once, a mass offboarding becomes a
 * few batches. The same queue carries the scheduled token sweep (`sweep` jobs) and Shared
 * Signals actions (`signal` jobs), both short and about revoking.
 */

export const SWEEP_JOB = 'sweep';
const SWEEP_SCHEDULER_ID = 'tokens-sweep';

export interface RevokeLaneOptions {
  /** Revoke jobs run at once, the largest batch. @defaultValue 1000 */
  concurrency?: number;
  /** How often the expiry / crash-recovery sweep runs; 0 = never (tests). @defaultValue 60000 */
  sweepEveryMs?: number;
  /**
   * Runs a Shared Signals job (`signal`): the actions a verified SET asked for one person, built
   * in src/runtime (they end sessions too, which this part does not know of). Absent: such a job fails.
   */
  signal?: (job: SignalJob) => Promise<unknown>;
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
  const person = createGroupCommit((losses: IdentityLoss[]) => controller.people(losses));
  const worker: Worker = factory.createWorker<RevokeLaneJob | Record<string, never>>(
    QUEUE.revoke,
    async (job: Job) => {
      try {
        if (job.name === SWEEP_JOB) return await controller.sweep();
        if (job.name === SIGNAL_JOB) {
          if (!options.signal) throw new UnrecoverableError('this worker runs no Shared Signals actions');
          return await options.signal(job.data as SignalJob);
        }
        const data = job.data as RevokeLaneJob;
        return await person({
          userId: data.userId,
          requestId: data.requestId ?? null,
          requestedAt: Number.isFinite(data.at) ? new Date(data.at) : null,
          teams: data.teams,
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
    { concurrency: options.concurrency ?? 1000 },
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
