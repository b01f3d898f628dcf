import { Client } from 'pg';
import type { Db, Trx } from '../directory';
import type { Logger } from '../log';
import { registerOutboxCollector } from '../metrics';
import { QueueUnavailableError } from '../queue';
import { withTimeout } from '../util';
import type { OutboxEvent } from './events';

/**
 * The outbox relay: moves committed outbox rows into the queue (docs/architecture.md).
 *
 * - Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays (one per daemon or
 *   worker process) share the table without blocking or double-publishing a row.
 * - `published_at IS NULL` is the only cursor: ids are taken at insert, not commit, so
 *   paging by id would skip a slow transaction's lower id.
 * - LISTEN outbox (appendOutbox NOTIFYs at commit) wakes the loop; polling every
 *   `pollMs` is the source of truth, so a lost notification costs at most one interval.
 * - While the queue is down the rows stay, with `attempts`, `last_error` and a backed-off
 *   `available_at`; SCIM writes never wait for Redis.
 * - Delivery is at-least-once (a crash after publishing, before the commit): the jobs a
 *   dispatch publishes name a key, so a duplicate costs one idempotent reconcile.
 *
 * What the events mean is not this part's business: `dispatch` (built by src/runtime) decides
 * which jobs a batch causes.
 */

/** One claimed event as the dispatcher sees it. */
export interface ClaimedEvent {
  event: OutboxEvent;
  /** The SCIM request that wrote it. */
  requestId: string | undefined;
  /** That request's W3C traceparent, when tracing was on. */
  traceparent: string | undefined;
  /** When the write committed (the row's created_at). */
  committedAt: Date;
}

/**
 * Turns a batch into jobs. `prepare` runs inside the claiming transaction (it may read and
 * record state there) and returns the publish step, which the relay bounds in time: a queue
 * that does not answer leaves the rows for a later attempt.
 */
export interface OutboxDispatch {
  prepare(trx: Trx, events: readonly ClaimedEvent[]): Promise<() => Promise<void>>;
}

export interface OutboxRelayOptions {
  db: Db;
  /** For LISTEN; without it the relay only polls. */
  databaseUrl?: string;
  dispatch: OutboxDispatch;
  logger: Logger;
  /** Rows per transaction. @defaultValue 200 */
  batchSize?: number;
  /** Poll interval when idle. @defaultValue 1000 */
  pollMs?: number;
  /** Delete published rows older than this. @defaultValue 7 */
  pruneAfterDays?: number;
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
  traceparent: string | null;
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
  const gatherMs = options.gatherMs ?? 100;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 5000;
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
          `SELECT id, kind, payload, request_id, traceparent, attempts, created_at FROM outbox
            WHERE published_at IS NULL AND available_at <= now()
            ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [batchSize],
        )
      ).rows;
      if (rows.length === 0) return { published: 0 };
      const ids = rows.map((r) => r.id);
      const publish = await options.dispatch.prepare(
        trx,
        rows.map((r) => ({ event: r.payload, requestId: r.request_id ?? undefined, traceparent: r.traceparent ?? undefined, committedAt: r.created_at })),
      );
      try {
        // BullMQ waits for a connection that is not ready instead of failing: bound it, so
        // the rows' locks are released and the backoff recorded.
        await withTimeout(publish(), enqueueTimeoutMs, `queue did not answer within ${enqueueTimeoutMs} ms`);
      } catch (err) {
        const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
        const delayMs = Math.min(500 * 2 ** (attempts - 1), MAX_BACKOFF_MS);
        // What prepare recorded is harmless to keep; the rows wait for the queue.
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

  async function prune(): Promise<number> {
    return db('outbox')
      .whereNotNull('published_at')
      .where('published_at', '<', db.raw(`now() - (? || ' days')::interval`, [String(pruneAfterDays)]))
      .delete();
  }

  async function listen(): Promise<void> {
    if (!options.databaseUrl) return;
    const client = new Client({ connectionString: options.databaseUrl });
    // Remember a NOTIFY that arrives while a batch is being drained: without this, that
    // commit would wait for the next NOTIFY or the poll interval, and a deactivation's
    // revocation with it.
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
      unregister = registerOutboxCollector(() => readOutboxBacklog(db));
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

/** Rows not yet published: how many, the oldest one's age, and how many failed to publish before. */
export interface OutboxBacklog {
  depth: number;
  oldestAgeSeconds: number;
  failing: number;
}

export async function readOutboxBacklog(db: Db): Promise<OutboxBacklog> {
  const row = (
    await db.raw(
      `SELECT count(*)::int AS depth,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS age,
              count(*) FILTER (WHERE attempts > 0)::int AS failing
         FROM outbox WHERE published_at IS NULL`,
    )
  ).rows[0];
  return { depth: row.depth, oldestAgeSeconds: row.age, failing: row.failing };
}

/**
 * Marks the rows published within the last `withinMs` unpublished again, so the relay hands them
 * to the dispatch once more: their jobs were lost with Redis' data (docs/robustness.md, "Redis
 * coming back empty"). Safe because every job re-reads current state when it runs. The number of rows.
 */
export async function republishRecent(db: Db, withinMs: number): Promise<number> {
  return db('outbox')
    .whereNotNull('published_at')
    .where('published_at', '>', db.raw(`now() - (? || ' milliseconds')::interval`, [String(withinMs)]))
    .update({ published_at: null, available_at: db.fn.now() });
}
