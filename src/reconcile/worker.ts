import { DelayedError, Job, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from '../log';
import { recordReconcile } from '../metrics';
import type { Policy } from '../policy';
import { ConflictError, PulumiError, RateLimitedError, ServerError, NetworkError } from '../pulumi';
import {
  CreateWorkerOptions,
  enqueueTeamReconcile,
  FullReconcileJob,
  JOB,
  QUEUE,
  QueueFactory,
  ReconcileTeamJob,
} from '../queue';
import { Reconciler, ReconcileRequest, TeamBusyError } from './reconciler';

/**
 * The reconcile worker: `team` jobs reconcile one team; `full` jobs (drift schedule, admin
 * API, policy reload) fan out one `team` job per team. Errors are classified once, here
 * (style-anchors §5.4):
 * - Pulumi 429 → `worker.rateLimit(retryAfter)` + RateLimitError: the job waits, no attempt used.
 * - Network, 5xx and other transient errors → thrown: BullMQ retries with backoff.
 * - Permanent 4xx (bad request, auth, forbidden, unexpected 404/409) → UnrecoverableError
 *   and the team is marked degraded in status until a later reconcile succeeds.
 * - Team locked by another worker → delayed a second, no attempt used.
 */

export interface ReconcileWorkerOptions extends CreateWorkerOptions {
  queues: QueueFactory;
  reconciler: Reconciler;
  logger: Logger;
  /** Test hook passed to each team reconcile. */
  afterOp?: ReconcileRequest['afterOp'];
}

export function createReconcileWorker(options: ReconcileWorkerOptions): Worker {
  const { queues, reconciler, logger, afterOp, ...workerOptions } = options;
  const worker: Worker = queues.createWorker(
    QUEUE.reconcile,
    async (job: Job, token?: string) => {
      if (job.name === JOB.full) {
        const data = job.data as FullReconcileJob;
        const teams = await reconciler.allTeamNames();
        for (const team of teams) await enqueueTeamReconcile(queues, { team, reason: data.reason, requestId: data.requestId });
        logger.info('full reconcile fanned out', { category: 'reconcile', reason: data.reason, teams: teams.length, jobId: job.id });
        return { teams: teams.length };
      }
      const data = job.data as ReconcileTeamJob;
      const started = Date.now();
      try {
        const { plan, result } = await reconciler.reconcileTeam({ ...data, jobId: job.id, afterOp });
        return { ops: plan.ops.length, applied: result.applied, pending: result.pending.length };
      } catch (err) {
        const ms = Date.now() - started;
        if (err instanceof RateLimitedError) {
          recordReconcile('rate_limited', ms / 1000);
          await worker.rateLimit(Math.max(err.retryAfterMs, 1000));
          throw new RateLimitError();
        }
        if (err instanceof TeamBusyError) {
          await job.moveToDelayed(Date.now() + 1000, token);
          throw new DelayedError();
        }
        const permanent = isPermanent(err);
        recordReconcile(permanent ? 'terminal' : 'error', ms / 1000);
        await reconciler.recordFailure(data.team, data, err as Error, permanent, ms).catch((e) =>
          logger.warn('cannot record reconcile failure', { team: data.team, err: (e as Error).message }),
        );
        if (permanent) throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
        throw err;
      }
    },
    workerOptions,
  );
  return worker;
}

/** 4xx answers other than 429 do not get better by retrying. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof RateLimitedError || err instanceof ServerError || err instanceof NetworkError) return false;
  if (err instanceof ConflictError) return true;
  return err instanceof PulumiError && err.status >= 400 && err.status < 500;
}

export const DRIFT_SCHEDULER_ID = 'drift';

/**
 * The scheduled full reconcile (idempotent across processes and deploys). BullMQ keeps one
 * delayed job and makes the next when the previous starts.
 */
export async function upsertDriftSchedule(queues: QueueFactory, policy: Policy): Promise<void> {
  await queues.queue<FullReconcileJob>(QUEUE.reconcile).upsertJobScheduler(
    DRIFT_SCHEDULER_ID,
    policy.reconcile.cron ? { pattern: policy.reconcile.cron, tz: 'UTC' } : { every: policy.reconcile.everyMs },
    { name: JOB.full, data: { reason: 'drift' }, opts: { attempts: 3, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
}
