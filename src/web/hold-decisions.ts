import { z } from 'zod';
import { HttpError } from '../app';
import type { Db } from '../directory/db';
import { enqueueTeamReconcile, QueueUnavailableError, type QueueFactory } from '../queue';
import { decideHoldAudited, getHold, type AdminChannel, type Hold } from '../reconcile';
import { withTimeout } from '../util';

/**
 * An admin's decision on a hold, as the admin API and the console take it: the decision and its
 * audit entry commit together, then the team's reconcile is enqueued so an approval applies
 * what is still planned. A queue that does not take the job leaves the decision recorded (the
 * drift schedule applies it) and answers 503.
 */

/** How long a decision waits for Redis to take the team's reconcile. */
const ENQUEUE_TIMEOUT_MS = 2000;

export interface AdminActor {
  name: string;
  channel: AdminChannel;
  /** More about the actor for the audit entry (the console's person id). */
  detail?: Record<string, unknown>;
}

export async function decideHoldAndReconcile(
  deps: { db: Db; queues?: QueueFactory },
  id: string,
  decision: 'approved' | 'rejected',
  actor: AdminActor,
  requestId?: string,
): Promise<Hold> {
  const { db } = deps;
  if (!z.uuid().safeParse(id).success || !(await getHold(db, id))) throw new HttpError(404, 'unknown_hold', `no hold with id ${JSON.stringify(id)}`);
  const hold = await decideHoldAudited(db, id, decision, { actor: actor.name, channel: actor.channel, detail: actor.detail, requestId });
  const recorded = `the hold is ${decision}, but the reconcile that acts on it could not be enqueued`;
  if (!deps.queues) throw new QueueUnavailableError(`${recorded} (this process has no queue); the next drift reconcile applies it`);
  try {
    await withTimeout(
      enqueueTeamReconcile(deps.queues, { team: hold.team, reason: `hold-${decision}`, requestId }),
      ENQUEUE_TIMEOUT_MS,
      `Redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`,
    );
  } catch (err) {
    throw new QueueUnavailableError(`${recorded} (${(err as Error).message}); the next drift reconcile applies it`);
  }
  return hold;
}
