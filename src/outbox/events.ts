import { preparedRaw, type Trx } from '../directory';
import { currentTraceparent } from '../tracing';

/**
 * Outbox events: what a committed SCIM write changed, as ids only. The relay turns them into
 * keyed reconcile jobs; a job re-reads current state, so an event is a hint about *which*
 * keys to look at, never a diff to apply. `groupIds` on user events are the user's groups at
 * the time of the write (after a delete they can no longer be read back).
 */
export type OutboxEvent =
  | { kind: 'user.created'; userId: string }
  | { kind: 'user.updated'; userId: string; groupIds: string[] }
  | { kind: 'user.deactivated'; userId: string; groupIds: string[] }
  | { kind: 'user.reactivated'; userId: string; groupIds: string[] }
  | { kind: 'user.deleted'; userId: string; groupIds: string[] }
  | { kind: 'group.created'; groupId: string }
  | { kind: 'group.updated'; groupId: string }
  | { kind: 'group.members_changed'; groupId: string; added: string[]; removed: string[] }
  | { kind: 'group.deleted'; groupId: string };

export type OutboxKind = OutboxEvent['kind'];

/** Events that mean someone lost access: they also go to the fast revoke lane. */
export function isIdentityLoss(event: OutboxEvent): boolean {
  return event.kind === 'user.deactivated' || event.kind === 'user.deleted' || (event.kind === 'group.members_changed' && event.removed.length > 0);
}

export interface OutboxRow {
  id: string;
  kind: OutboxKind;
  payload: OutboxEvent;
  request_id: string | null;
  /** The W3C traceparent of the request that wrote it; null when tracing was off. */
  traceparent: string | null;
  created_at: Date;
}

/**
 * Appends an event inside the caller's transaction: it commits or rolls back with the write. The
 * active trace goes with it, so the work it causes continues the request's trace.
 */
export async function appendOutbox(trx: Trx, event: OutboxEvent, requestId?: string): Promise<void> {
  // One prepared statement: the insert, and a NOTIFY that wakes the relay at commit time
  // (polling remains the source of truth).
  await preparedRaw(
    trx,
    `WITH appended AS (INSERT INTO outbox (kind, payload, request_id, traceparent) VALUES (?, ?::jsonb, ?, ?) RETURNING id)
     SELECT pg_notify('outbox', '') FROM appended`,
    [event.kind, JSON.stringify(event), requestId ?? null, currentTraceparent() ?? null],
  );
}
