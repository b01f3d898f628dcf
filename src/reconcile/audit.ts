import type { Db, Trx } from '../directory/db';
import { holdsDecided } from '../metrics';
import { decideHold, type Hold } from './holds';
import type { Op } from './types';

/**
 * The audit log: one row per applied op (and per op that failed or was deferred), with the
 * reason and the request id of the SCIM or admin call that caused it. Drift repairs are
 * category `drift`. What an admin does (a SCIM client changed, a manual reconcile, a token
 * issued or revoked for someone, a hold decided) is category `admin`, with who did it (`actor`)
 * and through which surface (`channel`).
 */

type Conn = Db | Trx;

export type AuditCategory = 'reconcile' | 'drift' | 'tokens' | 'admin' | 'signals';
/** The surface an admin acted through. */
export type AdminChannel = 'api' | 'console' | 'cli';
export type AuditOutcome = 'applied' | 'already' | 'pending' | 'skipped' | 'failed';

export interface AuditContext {
  category: AuditCategory;
  reason?: string;
  requestId?: string;
  jobId?: string;
  /** Who asked for it: an admin token's label, a signed-in person, the OS user of the CLI. */
  actor?: string;
  channel?: AdminChannel;
}

export interface AuditEntry {
  id: string;
  at: string;
  category: AuditCategory;
  op: string;
  team: string | null;
  subject: string | null;
  detail: Record<string, unknown>;
  outcome: AuditOutcome;
  reason: string | null;
  requestId: string | null;
  jobId: string | null;
  actor: string | null;
  channel: AdminChannel | null;
}

export function subjectOf(op: Op): string | undefined {
  switch (op.kind) {
    case 'revokeToken':
      return op.tokenId;
    case 'removeMember':
    case 'addMember':
    case 'addOrgMember':
    case 'removeOrgMember':
      return op.login;
    case 'relinkLogin':
      return op.userId;
    case 'narrowGrant':
    case 'removeGrant':
    case 'widenGrant':
    case 'addGrant':
      return `${op.projectName}/${op.stackName}`;
    default:
      return undefined;
  }
}

function detailOf(op: Op): Record<string, unknown> {
  switch (op.kind) {
    case 'revokeToken':
      return { tokenName: op.tokenName, createdBy: op.createdBy, why: op.why };
    case 'narrowGrant':
    case 'widenGrant':
      return { from: op.from, to: op.to };
    case 'removeGrant':
      return { from: op.from };
    case 'addGrant':
      return { permission: op.permission };
    case 'createTeam':
    case 'updateTeam':
      return { displayName: op.displayName };
    case 'adoptTeam':
      return { teamKind: op.teamKind };
    default:
      return {};
  }
}

export interface OpRecord {
  op: Op;
  outcome: AuditOutcome;
  extra?: Record<string, unknown>;
}

const AUDIT_INSERT_CHUNK = 500;

/** Several ops' rows in one INSERT per chunk of 500: a reconcile's audit is one round trip, not one per op. */
export async function recordOps(conn: Conn, ctx: AuditContext, records: readonly OpRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += AUDIT_INSERT_CHUNK) {
    await conn('audit_log').insert(
      records.slice(i, i + AUDIT_INSERT_CHUNK).map(({ op, outcome, extra }) => ({
        category: ctx.category,
        op: op.kind,
        team: 'team' in op ? op.team : null,
        subject: subjectOf(op) ?? null,
        detail: JSON.stringify({ ...detailOf(op), ...extra }),
        outcome,
        reason: ctx.reason ?? null,
        request_id: ctx.requestId ?? null,
        job_id: ctx.jobId ?? null,
        actor: ctx.actor ?? null,
        channel: ctx.channel ?? null,
      })),
    );
  }
}

export interface AdminAction {
  /** What was done, e.g. `scim-client.create`, `reconcile`, `hold.approve`. */
  op: string;
  team?: string;
  /** What it was done to: a client name, a token or hold id. */
  subject?: string;
  actor: string;
  channel: AdminChannel;
  detail?: Record<string, unknown>;
  requestId?: string;
}

/** One admin action, category `admin`. */
export async function recordAdminAction(conn: Conn, action: AdminAction): Promise<void> {
  await conn('audit_log').insert({
    category: 'admin',
    op: action.op,
    team: action.team ?? null,
    subject: action.subject ?? null,
    detail: JSON.stringify(action.detail ?? {}),
    outcome: 'applied',
    request_id: action.requestId ?? null,
    actor: action.actor,
    channel: action.channel,
  });
}

/** What a Shared Signals event made the daemon do to one person (category `signals`). */
export interface SignalAuditEntry {
  /** `signal.end-sessions`, `signal.revoke-tokens`, `signal.deprovision`. */
  op: string;
  /** The SCIM user acted on. */
  userId: string;
  /** The SET's `jti`: also the entry's request id, so `?requestId=<jti>` finds everything it caused. */
  jti: string;
  issuer: string;
  eventType: string;
  detail?: Record<string, unknown>;
}

export async function recordSignalAction(conn: Conn, entry: SignalAuditEntry): Promise<void> {
  await conn('audit_log').insert({
    category: 'signals',
    op: entry.op,
    subject: entry.userId,
    detail: JSON.stringify({ ...entry.detail, jti: entry.jti, issuer: entry.issuer, eventType: entry.eventType }),
    outcome: 'applied',
    reason: entry.eventType,
    request_id: entry.jti,
  });
}

/**
 * An admin's decision on a pending hold and its audit entry, committed together (throws
 * HoldNotPendingError when the hold is not pending). The caller enqueues the team's reconcile.
 */
export async function decideHoldAudited(
  db: Db,
  id: string,
  decision: 'approved' | 'rejected',
  by: Pick<AdminAction, 'actor' | 'channel' | 'detail' | 'requestId'>,
): Promise<Hold> {
  const hold = await db.transaction(async (trx) => {
    const decided = await decideHold(trx, id, decision, { name: by.actor, channel: by.channel });
    await recordAdminAction(trx, {
      op: decision === 'approved' ? 'hold.approve' : 'hold.reject',
      team: decided.team,
      subject: decided.id,
      actor: by.actor,
      channel: by.channel,
      detail: { ...by.detail, reason: decided.reason, removals: decided.removals, revocations: decided.revocations },
      requestId: by.requestId,
    });
    return decided;
  });
  holdsDecided.inc({ decision });
  return hold;
}

export interface AuditQuery {
  team?: string;
  requestId?: string;
  category?: AuditCategory;
  op?: string;
  /** ISO timestamps. */
  since?: string;
  until?: string;
  /** Return entries with id below this (the `next` of the previous page). */
  before?: string;
  /** @defaultValue 100, at most 1000 */
  limit?: number;
}

/** Newest first, keyset-paged by id. */
export async function queryAudit(db: Db, q: AuditQuery): Promise<{ entries: AuditEntry[]; next?: string }> {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const query = db('audit_log')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (q.team) query.where('team', q.team);
  if (q.requestId) query.where('request_id', q.requestId);
  if (q.category) query.where('category', q.category);
  if (q.op) query.where('op', q.op);
  if (q.since) query.where('at', '>=', q.since);
  if (q.until) query.where('at', '<', q.until);
  if (q.before) query.where('id', '<', q.before);
  const rows = await query.select('*');
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      at: new Date(r.at).toISOString(),
      category: r.category,
      op: r.op,
      team: r.team,
      subject: r.subject,
      detail: r.detail,
      outcome: r.outcome,
      reason: r.reason,
      requestId: r.request_id,
      jobId: r.job_id,
      actor: r.actor,
      channel: r.channel,
    })),
    ...(rows.length > limit ? { next: String(page[page.length - 1].id) } : {}),
  };
}

/**
 * The tokens part's audit writer (its `TokenAuditWriter`): entries land in the same log,
 * category `tokens`, op = the action (`token.revoked` …).
 */
export function createTokenAuditWriter(db: Db) {
  return async (entry: {
    action: string;
    team: string;
    reason: string;
    requestId: string | null;
    latencyMs: number | null;
    detail: Record<string, unknown>;
  }): Promise<void> => {
    await db('audit_log').insert({
      category: 'tokens',
      op: entry.action,
      team: entry.team,
      subject: typeof entry.detail.tokenId === 'string' ? entry.detail.tokenId : null,
      detail: JSON.stringify({ ...entry.detail, ...(entry.latencyMs === null ? {} : { latencyMs: entry.latencyMs }) }),
      outcome: 'applied',
      reason: entry.reason,
      request_id: entry.requestId,
    });
  };
}
