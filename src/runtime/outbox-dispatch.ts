import type { Trx } from '../directory';
import {
  createOutboxRelay,
  isIdentityLoss,
  type ClaimedEvent,
  type OutboxDispatch,
  type OutboxEvent,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../outbox';
import type { PolicyStore } from '../policy';
import { enqueueTeamReconcile, type QueueFactory, type ReconcileTeamJob, type RevokeLane, type RevokeLaneJob } from '../queue';
import { recordIdentityChanges, teamsByGroupId } from '../reconcile';
import { withSpan } from '../tracing';

/**
 * What a batch of outbox events sets in motion (docs/architecture.md, "the pipeline"): one
 * reconcile job per affected team, and one revoke-lane job per person who lost access. Jobs
 * carry keys only; each one re-reads current state when it runs.
 *
 * Each job is enqueued in a span continuing the trace of the row that caused it, so the job
 * (which carries the enqueuing traceparent) and its Pulumi calls join the SCIM request's trace.
 * A job that several rows caused continues the last one, as its requestId does, and links the
 * others (docs/architecture.md, "Tracing").
 */

export interface OutboxDispatchOptions {
  policy: PolicyStore;
  queues: QueueFactory;
  revokeLane: RevokeLane;
  /**
   * Team jobs wait this long before running, so a burst of changes to one group is read in
   * one reconcile (revocations do not wait: they take the revoke lane). @defaultValue 1000
   */
  coalesceMs?: number;
  /**
   * The wait for a team enqueued within the last `busyWindowMs`: a team that keeps changing is
   * reconciled about this often instead of after every change. @defaultValue 5000
   */
  busyCoalesceMs?: number;
  /** @defaultValue 10000 */
  busyWindowMs?: number;
}

export function createOutboxDispatch(options: OutboxDispatchOptions): OutboxDispatch {
  const coalesceMs = options.coalesceMs ?? 1000;
  const busyCoalesceMs = options.busyCoalesceMs ?? 5000;
  const busyWindowMs = options.busyWindowMs ?? 10_000;
  /** When each team was last enqueued here; approximate across processes, which is enough. */
  const lastEnqueued = new Map<string, number>();

  return {
    async prepare(trx: Trx, events: readonly ClaimedEvent[]) {
      const policy = options.policy.current;
      await recordIdentityChanges(
        trx,
        policy,
        events.map((e) => e.event),
      );
      const teamsOf = await teamsByGroupId(
        trx,
        policy,
        events.flatMap((e) => groupIdsOf(e.event)),
      );
      const teamJobs = new Map<string, ReconcileTeamJob>();
      const revokeJobs = new Map<string, RevokeLaneJob>();
      /** Job key → the traceparents of the rows behind it, oldest first. */
      const causes = new Map<string, string[]>();
      const causedBy = (key: string, traceparent: string | undefined) => {
        if (!traceparent) return;
        const list = causes.get(key) ?? [];
        causes.set(key, [...list.filter((t) => t !== traceparent), traceparent]);
      };
      for (const { event, requestId, traceparent, committedAt } of events) {
        const at = committedAt.getTime();
        for (const groupId of groupIdsOf(event)) {
          for (const team of teamsOf.get(groupId) ?? []) {
            teamJobs.set(team, { team, reason: event.kind, at, ...(requestId ? { requestId } : {}) });
            causedBy(`team:${team}`, traceparent);
          }
        }
        if (!isIdentityLoss(event)) continue;
        if (event.kind === 'group.members_changed') {
          // A mass removal from a group cuts off people who are still active: it goes only
          // to the team reconciles, whose guard holds it for an admin (safety.maxRemovals).
          // Deactivations and deletions take the lane as their own events.
          if (event.removed.length > policy.safety.maxRemovals) continue;
          const teams = [...(teamsOf.get(event.groupId) ?? [])];
          for (const userId of event.removed) {
            revokeJobs.set(userId, { userId, reason: event.kind, groupId: event.groupId, teams, requestId, at });
            causedBy(`revoke:${userId}`, traceparent);
          }
        } else if ('userId' in event) {
          const teams = [...new Set(groupIdsOf(event).flatMap((groupId) => [...(teamsOf.get(groupId) ?? [])]))];
          revokeJobs.set(event.userId, { userId: event.userId, reason: event.kind, teams, requestId, at });
          causedBy(`revoke:${event.userId}`, traceparent);
        }
      }
      return async () => {
        const now = Date.now();
        for (const [team, at] of lastEnqueued) if (now - at > busyWindowMs) lastEnqueued.delete(team);
        const inTraceOf = (key: string, enqueue: () => Promise<void>) => {
          const traceparents = causes.get(key) ?? [];
          return withSpan(`outbox publish ${key.split(':')[0]}`, { parent: traceparents.at(-1), links: traceparents.slice(0, -1) }, enqueue);
        };
        await Promise.all([
          ...[...teamJobs.values()].map((job) =>
            inTraceOf(`team:${job.team}`, () =>
              enqueueTeamReconcile(options.queues, job, { delayMs: lastEnqueued.has(job.team) ? busyCoalesceMs : coalesceMs }),
            ),
          ),
          ...[...revokeJobs.values()].map((job) => inTraceOf(`revoke:${job.userId}`, () => options.revokeLane.enqueue(job))),
        ]);
        for (const team of teamJobs.keys()) if (!lastEnqueued.has(team)) lastEnqueued.set(team, now);
      };
    },
  };
}

function groupIdsOf(event: OutboxEvent): string[] {
  switch (event.kind) {
    case 'group.created':
    case 'group.updated':
    case 'group.members_changed':
    case 'group.deleted':
      return [event.groupId];
    case 'user.created':
      return [];
    default:
      return event.groupIds;
  }
}

export type DirectoryRelayOptions = Omit<OutboxRelayOptions, 'dispatch'> & OutboxDispatchOptions;

/** The relay of the pipeline: the outbox part publishing through this dispatch. */
export function createDirectoryRelay(options: DirectoryRelayOptions): OutboxRelay {
  return createOutboxRelay({ ...options, dispatch: createOutboxDispatch(options) });
}
