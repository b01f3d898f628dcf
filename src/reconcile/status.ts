import type { Db } from '../directory/db';
import type { EvictionPolicy, QueueFactory } from '../queue';
import type { PlanNote } from './types';

/**
 * What `GET /api/v1/status` shows: queue depths, whether Redis runs with the noeviction policy
 * BullMQ needs, the outbox backlog, last reconcile per team (convergence is measurable from
 * these times), pending users, degraded teams, and tokens whose creator the directory does
 * not know.
 */

export interface TeamStatus {
  team: string;
  lastReconcileAt: string | null;
  lastSuccessAt: string | null;
  lastOutcome: string | null;
  lastError: string | null;
  lastReason: string | null;
  lastRequestId: string | null;
  lastOps: number;
  lastDurationMs: number | null;
  management: string | null;
  owned: boolean;
  degraded: boolean;
  degradedReason: string | null;
  notes: PlanNote[];
}

export interface SyncStatus {
  queues: Record<string, Record<string, number>> | { error: string };
  /** Redis' maxmemory-policy (`ok` unless it is not noeviction); null in a process without queues. */
  redis: EvictionPolicy | null;
  outbox: { depth: number; oldestAgeSeconds: number; failing: number };
  lastReconcileAt: string | null;
  teams: TeamStatus[];
  degradedTeams: string[];
  pendingUsers: Array<{ team: string; login: string; reason: string; firstSeenAt: string; lastAttemptAt: string; attempts: number }>;
  unknownCreatorTokens: Array<{ team: string; tokenId: string; tokenName: string; createdBy: string }>;
  unownedTeams: Array<{ team: string; detail: string }>;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export async function readStatus(db: Db, queues?: QueueFactory): Promise<SyncStatus> {
  const [rows, owned, pending, outboxRow, redis] = await Promise.all([
    db('team_status').orderBy('team').select('*'),
    db('owned_teams').select('name'),
    db('pending_users').orderBy(['team', 'login_lower']).select('*'),
    db.raw(
      `SELECT count(*)::int AS depth,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS age,
              count(*) FILTER (WHERE attempts > 0)::int AS failing
         FROM outbox WHERE published_at IS NULL`,
    ),
    queues ? queues.evictionPolicy() : null,
  ]);
  const ownedSet = new Set(owned.map((o: { name: string }) => o.name));
  let queueDepths: SyncStatus['queues'];
  try {
    queueDepths = queues ? await queues.depths() : {};
  } catch (err) {
    queueDepths = { error: `queue unavailable: ${(err as Error).message}` };
  }
  const teams: TeamStatus[] = rows.map((r: Record<string, unknown>) => ({
    team: r.team as string,
    lastReconcileAt: iso(r.last_reconcile_at as Date | null),
    lastSuccessAt: iso(r.last_success_at as Date | null),
    lastOutcome: r.last_outcome as string | null,
    lastError: r.last_error as string | null,
    lastReason: r.last_reason as string | null,
    lastRequestId: r.last_request_id as string | null,
    lastOps: r.last_ops as number,
    lastDurationMs: r.last_duration_ms as number | null,
    management: r.management as string | null,
    owned: ownedSet.has(r.team as string),
    degraded: r.degraded as boolean,
    degradedReason: r.degraded_reason as string | null,
    notes: r.notes as PlanNote[],
  }));
  const notes = teams.flatMap((t) => t.notes);
  const o = outboxRow.rows[0];
  return {
    queues: queueDepths,
    redis,
    outbox: { depth: o.depth, oldestAgeSeconds: o.age, failing: o.failing },
    lastReconcileAt: teams.reduce<string | null>((max, t) => (t.lastReconcileAt && (!max || t.lastReconcileAt > max) ? t.lastReconcileAt : max), null),
    teams,
    degradedTeams: teams.filter((t) => t.degraded).map((t) => t.team),
    pendingUsers: pending.map((p: Record<string, unknown>) => ({
      team: p.team as string,
      login: p.login as string,
      reason: p.reason as string,
      firstSeenAt: iso(p.first_seen_at as Date) as string,
      lastAttemptAt: iso(p.last_attempt_at as Date) as string,
      attempts: p.attempts as number,
    })),
    unknownCreatorTokens: notes.flatMap((n) => (n.kind === 'unknownCreatorToken' ? [{ team: n.team, tokenId: n.tokenId, tokenName: n.tokenName, createdBy: n.createdBy }] : [])),
    unownedTeams: notes.flatMap((n) => (n.kind === 'unownedTeam' ? [{ team: n.team, detail: n.detail }] : [])),
  };
}

/** Users waiting for a Pulumi account (for the metrics gauge). */
export async function countPendingUsers(db: Db): Promise<number> {
  const row = await db('pending_users').countDistinct({ n: 'login_lower' }).first();
  return Number(row?.n ?? 0);
}

