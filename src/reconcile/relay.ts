import { Client } from 'pg';
import type { Db, Trx } from '../directory/db';
import { isIdentityLoss, OutboxEvent } from '../outbox';
import type { Logger } from '../log';
import { registerOutboxCollector } from '../metrics';
import type { PolicyStore } from '../policy';
import { enqueueTeamReconcile, QueueFactory, ReconcileTeamJob, RevokeLane, RevokeLaneJob } from '../queue';
import { markIdentitiesDeleted, recordIdentities, teamsByGroupId, USER_COLUMNS, UserRow } from './mapping';
import { withTimeout } from '../util';

/**
 * The outbox relay: moves committed outbox rows into BullMQ (reliability.md §2).
 *
 * - Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays (one per daemon or
 *   worker process) share the table without blocking or double-publishing a row.
 * - `published_at IS NULL` is the only cursor: ids are taken at insert, not commit, so
 *   paging by id would skip a slow transaction's lower id.
 * - LISTEN outbox (appendOutbox NOTIFYs at commit) wakes the loop; polling every
 *   `pollMs` is the source of truth, so a lost notification costs at most one interval.
 * - While Redis is down the rows stay, with `attempts`, `last_error` and a backed-off
 *   `available_at`; SCIM writes never wait for Redis.
 * - Delivery into the queue is at-least-once (a crash after `add`, before the commit): jobs
 *   name a key, so a duplicate costs one idempotent reconcile.
 */

export interface OutboxRelayOptions {
  db: Db;
  /** For LISTEN; without it the relay only polls. */
  databaseUrl?: string;
  policy: PolicyStore;
  queues: QueueFactory;
  revokeLane: RevokeLane;
  logger: Logger;
  /** Rows per transaction. @defaultValue 200 */
  batchSize?: number;
  /** Poll interval when idle. @defaultValue 1000 */
  pollMs?: number;
  /** Delete published rows older than this. @defaultValue 7 */
  pruneAfterDays?: number;
  /**
   * Team jobs wait this long before running, so a burst of changes to one group is read in
   * one reconcile (revocations do not wait: they take the revoke lane). @defaultValue 1000
   */
  coalesceMs?: number;
  /**
   * The wait for a team this relay enqueued within the last `busyWindowMs`: a team that keeps
   * changing is reconciled about this often instead of after every change. @defaultValue 5000
   */
  busyCoalesceMs?: number;
  /** @defaultValue 10000 */
  busyWindowMs?: number;
  /** After a NOTIFY, wait this long so one batch takes the commits of a burst. @defaultValue 100 */
  gatherMs?: number;
  /** An enqueue that takes longer counts as Redis being down. @defaultValue 5000 */
  enqueueTimeoutMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Stops the loop after the batch in flight; resolves when it is done. */
  stop(): Promise<void>;
  /** Publishes one batch; the number of rows published. Throws when the queue is unreachable. */
  drainOnce(): Promise<number>;
  /** Deletes published rows older than `pruneAfterDays`; the number deleted. */
  prune(): Promise<number>;
}

interface ClaimedRow {
  id: string;
  kind: string;
  payload: OutboxEvent;
  request_id: string | null;
  attempts: number;
  created_at: Date;
}

const MAX_BACKOFF_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const pollMs = options.pollMs ?? 1000;
  const pruneAfterDays = options.pruneAfterDays ?? 7;
  const coalesceMs = options.coalesceMs ?? 1000;
  const busyCoalesceMs = options.busyCoalesceMs ?? 5000;
  const busyWindowMs = options.busyWindowMs ?? 10_000;
  const gatherMs = options.gatherMs ?? 100;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 5000;
  /** When this relay last enqueued each team; approximate across relays, which is enough. */
  const lastEnqueued = new Map<string, number>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let notifiedWhileBusy = false;
  let listener: Client | undefined;
  let unregister: (() => void) | undefined;
  let failures = 0;
  let lastPrune = 0;

  async function drainOnce(): Promise<number> {
    const outcome = await db.transaction(async (trx): Promise<{ published: number; error?: Error }> => {
      const rows: ClaimedRow[] = (
        await trx.raw(
          `SELECT id, kind, payload, request_id, attempts, created_at FROM outbox
            WHERE published_at IS NULL AND available_at <= now()
            ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [batchSize],
        )
      ).rows;
      if (rows.length === 0) return { published: 0 };
      const ids = rows.map((r) => r.id);
      const { teamJobs, revokeJobs } = await route(trx, rows);
      const now = Date.now();
      for (const [team, at] of lastEnqueued) if (now - at > busyWindowMs) lastEnqueued.delete(team);
      try {
        // BullMQ waits for a connection that is not ready instead of failing: bound it, so
        // the rows' locks are released and the backoff recorded.
        await withTimeout(
          Promise.all([
            ...[...teamJobs.values()].map((job) =>
              enqueueTeamReconcile(options.queues, job, { delayMs: lastEnqueued.has(job.team) ? busyCoalesceMs : coalesceMs }),
            ),
            ...[...revokeJobs.values()].map((job) => options.revokeLane.enqueue(job)),
          ]),
          enqueueTimeoutMs,
          `queue did not answer within ${enqueueTimeoutMs} ms`,
        );
        for (const team of teamJobs.keys()) if (!lastEnqueued.has(team)) lastEnqueued.set(team, now);
      } catch (err) {
        const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
        const delayMs = Math.min(500 * 2 ** (attempts - 1), MAX_BACKOFF_MS);
        // The identity updates above are harmless to keep; the rows wait for the queue.
        await trx('outbox')
          .whereIn('id', ids)
          .update({
            attempts: trx.raw('attempts + 1'),
            last_error: String((err as Error).message).slice(0, 500),
            available_at: trx.raw(`now() + (? || ' milliseconds')::interval`, [String(delayMs)]),
          });
        // Commit the backoff (throwing here would roll it back), then report the failure.
        return { published: 0, error: err as Error };
      }
      await trx('outbox').whereIn('id', ids).update({ published_at: trx.fn.now(), last_error: null });
      return { published: rows.length };
    });
    if (outcome.error) throw new QueueUnavailableError(outcome.error.message, { cause: outcome.error });
    return outcome.published;
  }

  /** Which team reconciles and revoke-lane jobs a batch of events causes, deduplicated. */
  async function route(trx: Trx, rows: ClaimedRow[]) {
    const policy = options.policy.current;
    const teamJobs = new Map<string, ReconcileTeamJob>();
    const revokeJobs = new Map<string, RevokeLaneJob>();
    const touchedUsers = new Set<string>();
    const deletedUsers = new Set<string>();
    const teamsOf = await teamsByGroupId(trx, policy, rows.flatMap((row) => groupIdsOf(row.payload)));
    for (const row of rows) {
      const event = row.payload;
      const requestId = row.request_id ?? undefined;
      for (const groupId of groupIdsOf(event)) {
        for (const team of teamsOf.get(groupId) ?? []) teamJobs.set(team, { team, reason: event.kind, ...(requestId ? { requestId } : {}) });
      }
      if ('userId' in event) {
        if (event.kind === 'user.deleted') deletedUsers.add(event.userId);
        else touchedUsers.add(event.userId);
      }
      if (isIdentityLoss(event)) {
        const at = row.created_at.getTime();
        if (event.kind === 'group.members_changed') {
          for (const userId of event.removed) revokeJobs.set(userId, { userId, reason: event.kind, groupId: event.groupId, requestId, at });
        } else if ('userId' in event) {
          revokeJobs.set(event.userId, { userId: event.userId, reason: event.kind, requestId, at });
        }
      }
    }
    if (touchedUsers.size > 0) {
      const users: UserRow[] = await trx('users').whereIn('id', [...touchedUsers]).select(...USER_COLUMNS);
      await recordIdentities(trx, policy, users);
    }
    await markIdentitiesDeleted(trx, [...deletedUsers]);
    return { teamJobs, revokeJobs };
  }

  async function prune(): Promise<number> {
    return db('outbox')
      .whereNotNull('published_at')
      .where('published_at', '<', db.raw(`now() - (? || ' days')::interval`, [String(pruneAfterDays)]))
      .delete();
  }

  async function listen(): Promise<void> {
    if (!options.databaseUrl) return;
    const client = new Client({ connectionString: options.databaseUrl });
    // (tokens part, issue 5) Remember a NOTIFY that arrives while a batch is being drained:
    // without this, that commit waited for the next NOTIFY or the poll interval (up to
    // `pollMs`) — on a quiet system a deactivation's revoke took a second instead of ms.
    client.on('notification', () => {
      notifiedWhileBusy = !wake;
      wake?.();
    });
    client.on('error', (err) => {
      logger.warn('outbox LISTEN connection lost; polling continues', { err: err.message });
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query('LISTEN outbox');
      listener = client;
    } catch (err) {
      logger.warn('outbox LISTEN unavailable; polling only', { err: (err as Error).message });
      await client.end().catch(() => undefined);
    }
  }

  async function run(): Promise<void> {
    while (running) {
      let published = 0;
      try {
        if (!listener) await listen();
        published = await drainOnce();
        if (failures > 0) logger.info('outbox relay reaches the queue again', { afterFailures: failures });
        failures = 0;
        if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
          lastPrune = Date.now();
          const pruned = await prune();
          if (pruned > 0) logger.info('pruned published outbox rows', { pruned });
        }
      } catch (err) {
        failures++;
        const level = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug';
        logger[level]('outbox relay cannot publish; rows stay in the outbox', { err: (err as Error).message, failures });
      }
      if (!running) break;
      // A full batch means more is waiting: go again at once. Otherwise sleep until
      // NOTIFY or the poll interval; after failures, back off.
      if (published === batchSize && failures === 0) continue;
      if (notifiedWhileBusy && failures === 0) {
        notifiedWhileBusy = false;
        continue;
      }
      const sleepMs = failures > 0 ? Math.min(pollMs * 2 ** Math.min(failures, 6), MAX_BACKOFF_MS) : pollMs;
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), sleepMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (woken && running && failures === 0) await new Promise((r) => setTimeout(r, gatherMs));
    }
  }

  return {
    drainOnce,
    prune,
    start() {
      if (running) return;
      running = true;
      unregister = registerOutboxCollector(async () => {
        const row = (
          await db.raw(
            `SELECT count(*)::int AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS age
               FROM outbox WHERE published_at IS NULL`,
          )
        ).rows[0];
        return { depth: row.depth, oldestAgeSeconds: row.age };
      });
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      unregister?.();
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}

export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
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
