import { DelayedError, type Job, RateLimitError, UnrecoverableError, type Worker } from 'bullmq';
import type { Logger } from '../log';
import { recordFullReconcileSuccess, recordReconcile } from '../metrics';
import type { Policy } from '../policy';
import { classifyFailure } from '../pulumi';
import {
  type CreateWorkerOptions,
  enqueueTeamReconcile,
  type FullReconcileJob,
  JOB,
  QUEUE,
  type QueueFactory,
  type ReconcileTeamJob,
  teamDedupId,
} from '../queue';
import type { Reconciler, ReconcileRequest, TeamReconcileOutcome } from './reconciler';
import { TeamBusyError } from './team-lock';

/**
 * The reconcile worker: `team` jobs reconcile one team; `full` jobs (drift schedule, admin
 * API, policy reload) fan out one `team` job per team. Failures follow the one
 * classification of src/pulumi (`classifyFailure`):
 * - rate-limited → `worker.rateLimit(retryAfter)` + RateLimitError: the job waits, no attempt used.
 * - transient → thrown: BullMQ retries with backoff.
 * - permanent → UnrecoverableError, and the team is marked degraded in status until a later
 *   reconcile succeeds.
 * - Team locked by another worker → delayed a second, no attempt used.
 */

export interface ReconcileWorkerOptions extends CreateWorkerOptions {
  queues: QueueFactory;
  reconciler: Reconciler;
  logger: Logger;
  /** Test hook passed to each team reconcile. */
  afterOp?: ReconcileRequest['afterOp'];
  /**
   * What a `team` job runs: the team reconcile and whatever must follow it in the same job
   * (src/runtime adds the tokens controller's team step). @defaultValue reconciler.reconcileTeam
   */
  runTeam?: (request: ReconcileRequest) => Promise<Pick<TeamReconcileOutcome, 'plan' | 'result' | 'nextPendingRetryAt'>>;
}

export function createReconcileWorker(options: ReconcileWorkerOptions): Worker {
  const { queues, reconciler, logger, afterOp, runTeam, ...workerOptions } = options;
  const reconcileTeam = runTeam ?? ((request: ReconcileRequest) => reconciler.reconcileTeam(request));
  const worker: Worker = queues.createWorker(
    QUEUE.reconcile,
    async (job: Job, token?: string) => {
      if (job.name === JOB.full) {
        const data = job.data as FullReconcileJob;
        const teams = await reconciler.allTeamNames();
        for (const team of teams) await enqueueTeamReconcile(queues, { team, reason: data.reason, requestId: data.requestId });
        logger.info('full reconcile fanned out', { category: 'reconcile', reason: data.reason, teams: teams.length, jobId: job.id });
        // The org-level part of a full reconcile: people who left and may still hold a seat.
        await reconciler.reconcileOrgDepartures({ reason: data.reason, requestId: data.requestId, jobId: job.id });
        recordFullReconcileSuccess();
        return { teams: teams.length };
      }
      const data = job.data as ReconcileTeamJob;
      const started = Date.now();
      try {
        const { plan, result, nextPendingRetryAt } = await reconcileTeam({ ...data, jobId: job.id, afterOp });
        if (nextPendingRetryAt) await schedulePendingRetry(queues, data.team, nextPendingRetryAt);
        return { ops: plan.ops.length, applied: result.applied, pending: result.pending.length };
      } catch (err) {
        const ms = Date.now() - started;
        const failure = classifyFailure(err);
        if (failure.kind === 'rate-limited') {
          recordReconcile('rate_limited', ms / 1000);
          await worker.rateLimit(Math.max(failure.retryAfterMs, 1000));
          throw new RateLimitError();
        }
        if (err instanceof TeamBusyError) {
          await job.moveToDelayed(Date.now() + 1000, token);
          throw new DelayedError();
        }
        const permanent = failure.kind === 'permanent';
        recordReconcile(permanent ? 'terminal' : 'error', ms / 1000);
        await reconciler
          .recordFailure(data.team, data, err as Error, permanent, ms)
          .catch((e) => logger.warn('cannot record reconcile failure', { team: data.team, err: (e as Error).message }));
        if (permanent) throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
        throw err;
      }
    },
    workerOptions,
  );
  return worker;
}

/**
 * A team reconcile at the time its pending people are due for another try, so they are retried
 * then and not only at the next drift reconcile. Keyed apart from the team's own jobs: a waiting
 * retry must not absorb a directory change meant to run now. One retry per team waits at a time.
 */
async function schedulePendingRetry(queues: QueueFactory, team: string, at: Date): Promise<void> {
  await queues
    .queue<ReconcileTeamJob>(QUEUE.reconcile)
    .add(
      JOB.team,
      { team, reason: PENDING_RETRY_REASON },
      { deduplication: { id: `pending-retry-${teamDedupId(team)}`, keepLastIfActive: true }, delay: Math.max(0, at.getTime() - Date.now()) },
    );
}

/** The reason of a team job that retries the team's pending people. */
export const PENDING_RETRY_REASON = 'pending-retry';

export const DRIFT_SCHEDULER_ID = 'drift';

/**
 * The scheduled full reconcile (idempotent across processes and deploys). BullMQ keeps one
 * delayed job and makes the next when the previous starts.
 */
export async function upsertDriftSchedule(queues: QueueFactory, policy: Policy): Promise<void> {
  await queues
    .queue<FullReconcileJob>(QUEUE.reconcile)
    .upsertJobScheduler(DRIFT_SCHEDULER_ID, policy.reconcile.cron ? { pattern: policy.reconcile.cron, tz: 'UTC' } : { every: policy.reconcile.everyMs }, {
      name: JOB.full,
      data: { reason: 'drift' },
      opts: { attempts: 3, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
}
