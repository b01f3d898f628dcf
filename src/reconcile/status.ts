import type { Db } from '../directory';
import { readOutboxBacklog } from '../outbox';
import { listLoginConflicts } from './identity-links';
import type { EvictionPolicy, QueueFactory } from '../queue';
import type { ApplyResult } from './apply';
import type { DesiredTeam, Plan, PlanNote } from './types';

/**
 * Reconcile status: what each reconcile records (outcome, the team's groups, pending people),
 * and what `GET /api/v1/status` shows: queue depths, whether Redis runs with the noeviction policy
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
  /**
   * People waiting for access, counted once across teams: the `idp_sync_pending_users` metric.
   * `pendingUsers` has a row per team each waits in; a reconcile's log line counts its team's rows.
   */
  pendingPeople: number;
  pendingUsers: PendingUserStatus[];
  unknownCreatorTokens: Array<{ team: string; tokenId: string; tokenName: string; createdBy: string }>;
  unownedTeams: Array<{ team: string; detail: string }>;
  /** People not synced because another person resolves to the same login. */
  loginConflicts: Array<{ login: string; userId: string; since: string }>;
  /** People whose recorded login differs from what the policy gives them now (kept until an admin relinks). */
  loginChanges: Array<{ team: string; userId: string; login: string; proposed: string }>;
  /** Teams left untouched because a rule is ambiguous, and groups renamed in the IdP that stay bound. */
  blockedTeams: Array<{ team: string; detail: string }>;
  renamedGroups: Array<{ team: string; groupId: string; displayName: string }>;
  /** Holds waiting for an admin (ids; GET /api/v1/holds has them whole). */
  openHolds: Array<{ team: string; holdId: string; ops: number }>;
}

export interface PendingUserStatus {
  team: string;
  login: string;
  reason: string;
  firstSeenAt: string;
  lastAttemptAt: string;
  attempts: number;
  /** When the next reconcile of the team tries again; null for a login conflict, which waits for the directory or an admin. */
  nextAttemptAt: string | null;
}

/** How long a person without a Pulumi account waits before the team's reconcile tries again. */
export const DEFAULT_PENDING_RETRY_MS = 300_000;

/** Why a person waits without being retried: only a change in the directory or an admin ends a login conflict. */
const NOT_RETRIED = 'login_conflict';

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const retryAt = (p: { reason: string; last_attempt_at: Date }, retryMs: number): Date | null =>
  p.reason === NOT_RETRIED ? null : new Date(new Date(p.last_attempt_at).getTime() + retryMs);

export async function readStatus(db: Db, queues?: QueueFactory, options: { pendingRetryMs?: number } = {}): Promise<SyncStatus> {
  const retryMs = options.pendingRetryMs ?? DEFAULT_PENDING_RETRY_MS;
  const [rows, owned, pending, pendingPeople, outboxBacklog, redis] = await Promise.all([
    db('team_status').orderBy('team').select('*'),
    db('owned_teams').select('name'),
    db('pending_users').orderBy(['team', 'login_lower']).select('*'),
    countPendingUsers(db),
    readOutboxBacklog(db),
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
  return {
    queues: queueDepths,
    redis,
    outbox: outboxBacklog,
    lastReconcileAt: teams.reduce<string | null>((max, t) => (t.lastReconcileAt && (!max || t.lastReconcileAt > max) ? t.lastReconcileAt : max), null),
    teams,
    degradedTeams: teams.filter((t) => t.degraded).map((t) => t.team),
    pendingPeople,
    pendingUsers: pending.map((p: PendingRow) => ({
      team: p.team,
      login: p.login,
      reason: p.reason,
      firstSeenAt: iso(p.first_seen_at) as string,
      lastAttemptAt: iso(p.last_attempt_at) as string,
      attempts: p.attempts,
      nextAttemptAt: iso(retryAt(p, retryMs)),
    })),
    unknownCreatorTokens: notes.flatMap((n) =>
      n.kind === 'unknownCreatorToken' ? [{ team: n.team, tokenId: n.tokenId, tokenName: n.tokenName, createdBy: n.createdBy }] : [],
    ),
    unownedTeams: notes.flatMap((n) => (n.kind === 'unownedTeam' ? [{ team: n.team, detail: n.detail }] : [])),
    loginConflicts: (await listLoginConflicts(db)).map((c) => ({ login: c.login, userId: c.userId, since: c.since.toISOString() })),
    loginChanges: notes.flatMap((n) => (n.kind === 'loginChange' ? [{ team: n.team, userId: n.userId, login: n.login, proposed: n.proposed }] : [])),
    blockedTeams: notes.flatMap((n) => (n.kind === 'blocked' ? [{ team: n.team, detail: n.detail }] : [])),
    renamedGroups: notes.flatMap((n) => (n.kind === 'groupRenamed' ? [{ team: n.team, groupId: n.groupId, displayName: n.displayName }] : [])),
    openHolds: notes.flatMap((n) => (n.kind === 'held' ? [{ team: n.team, holdId: n.holdId, ops: n.ops }] : [])),
  };
}

interface PendingRow {
  team: string;
  login: string;
  reason: string;
  first_seen_at: Date;
  last_attempt_at: Date;
  attempts: number;
}

/** People waiting for access, each counted once however many teams they wait in (the metrics gauge, and status). */
export async function countPendingUsers(db: Db): Promise<number> {
  const row = await db('pending_users').countDistinct({ n: 'login_lower' }).first();
  return Number(row?.n ?? 0);
}

/** Teams marked degraded (a permanent Pulumi failure) until their next success (for the metrics gauge). */
export async function countDegradedTeams(db: Db): Promise<number> {
  const row = await db('team_status').where('degraded', true).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** What one successful reconcile leaves in status: its outcome, the team's groups and its pending people. */
export interface ReconcileSuccess {
  team: string;
  request: { reason: string; requestId?: string };
  plan: Plan;
  result: ApplyResult;
  desired: DesiredTeam | null;
  /** Pending logins not retried this time (their retry delay has not passed) and still desired. */
  deferred: string[];
  /** @defaultValue DEFAULT_PENDING_RETRY_MS */
  pendingRetryMs?: number;
  durationMs: number;
  /** `observed`: reconcile.mode observe recorded the plan without applying it. @defaultValue success */
  outcome?: 'success' | 'observed';
}

/** Who waits in the team once a reconcile is recorded: tried now, deferred or in conflict alike. */
export interface TeamPending {
  /** The team's rows in status' `pendingUsers`. */
  count: number;
  /** The earliest time a reconcile of the team tries one of them again; null when none is retried. */
  nextRetryAt: Date | null;
}

export async function recordReconcileSuccess(db: Db, s: ReconcileSuccess): Promise<TeamPending> {
  const { team, request, plan, result, desired, deferred, durationMs } = s;
  const outcome = s.outcome ?? 'success';
  // A role only Pulumi can resolve, and did not: the rest applied, the team stays degraded until it does.
  const roleProblem = plan.notes.find((n) => n.kind === 'roleUnresolved');
  return db.transaction(async (trx) => {
    // The groups and the rules that bind them to the team (a renamed group stays bound). A
    // blocked team keeps its bindings as they were.
    if (desired && plan.management !== 'none' && !desired.blocked) {
      await trx('team_groups')
        .where('team', team)
        .whereNotIn(
          'group_id',
          desired.groups.map((g) => g.id),
        )
        .delete();
      await trx('team_groups')
        .insert(desired.groups.map((g) => ({ team, group_id: g.id, rule_key: g.ruleKey ?? null, seen_at: trx.fn.now() })))
        .onConflict(['team', 'group_id'])
        .merge(['seen_at', 'rule_key']);
    }
    // People whose login clashes with someone else's wait too, with that reason.
    const pending = [...result.pending, ...(desired?.conflicted ?? []).map((m) => ({ login: m.login, userId: m.userId, reason: 'login_conflict' }))];
    const pendingNow = new Set(pending.map((p) => p.login.toLowerCase()));
    await trx('pending_users')
      .where('team', team)
      .whereNotIn('login_lower', [...pendingNow, ...deferred])
      .delete();
    for (const p of pending) {
      await trx('pending_users')
        .insert({ team, login_lower: p.login.toLowerCase(), login: p.login, user_id: p.userId, reason: p.reason })
        .onConflict(['team', 'login_lower'])
        .merge({ reason: p.reason, last_attempt_at: trx.fn.now(), attempts: trx.raw('pending_users.attempts + 1') });
    }
    await trx('team_status')
      .insert({
        team,
        last_reconcile_at: trx.fn.now(),
        last_success_at: trx.fn.now(),
        last_outcome: outcome,
        last_error: null,
        last_reason: request.reason,
        last_request_id: request.requestId ?? null,
        last_ops: plan.ops.length,
        last_duration_ms: durationMs,
        management: plan.management,
        degraded: roleProblem !== undefined,
        degraded_reason: roleProblem?.detail ?? null,
        degraded_at: roleProblem ? trx.fn.now() : null,
        notes: JSON.stringify(plan.notes),
      })
      .onConflict('team')
      .merge();
    const waiting: PendingRow[] = await trx('pending_users').where('team', team).select('*');
    const retries = waiting.flatMap((p) => retryAt(p, s.pendingRetryMs ?? DEFAULT_PENDING_RETRY_MS) ?? []);
    return { count: waiting.length, nextRetryAt: retries.length ? new Date(Math.min(...retries.map((d) => d.getTime()))) : null };
  });
}

/**
 * Takes back every team's last success: the org it was true of is gone (the built-in emulator
 * started with a fresh org), so status must not claim those teams until a reconcile confirms
 * them again (docs/console.md, "Sync status"). Returns how many teams it touched.
 */
export async function markStatusUnverified(db: Db, reason: string): Promise<number> {
  return db('team_status').where('last_outcome', 'success').update({ last_outcome: UNVERIFIED, last_reason: reason });
}

/** The outcome of a team whose last success no longer holds, until its next reconcile. */
export const UNVERIFIED = 'unverified';

/** Records a failed reconcile; `permanent` marks the team degraded until a success. */
export async function recordReconcileFailure(
  db: Db,
  team: string,
  request: { reason: string; requestId?: string },
  err: Error,
  permanent: boolean,
  durationMs: number,
): Promise<void> {
  const message = `${err.name}: ${err.message}`.slice(0, 1000);
  await db('team_status')
    .insert({
      team,
      last_reconcile_at: db.fn.now(),
      last_outcome: permanent ? 'degraded' : 'error',
      last_error: message,
      last_reason: request.reason,
      last_request_id: request.requestId ?? null,
      last_duration_ms: durationMs,
      ...(permanent ? { degraded: true, degraded_reason: message, degraded_at: db.fn.now() } : {}),
    })
    .onConflict('team')
    .merge();
}

/** Logins of a team that had no Pulumi account within the last `retryMs`: not tried again yet. */
export async function recentlyPendingLogins(db: Db, team: string, retryMs: number): Promise<Set<string>> {
  const rows: Array<{ login_lower: string }> = await db('pending_users')
    .where('team', team)
    .whereNot('reason', NOT_RETRIED)
    .where('last_attempt_at', '>', db.raw(`now() - (? || ' milliseconds')::interval`, [String(retryMs)]))
    .select('login_lower');
  return new Set(rows.map((r) => r.login_lower));
}
