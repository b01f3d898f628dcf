import type { Db, Trx } from '../directory';
import { opKey } from './safety';
import type { Op } from './types';

/**
 * Holds: guarded removals that wait for an admin (docs/live-org.md). One open hold per team
 * at most; it always lists what is still planned, so approving applies what is true at that
 * moment. A rejected hold keeps its ops out of every reconcile while they stay planned, and
 * closes once the plan no longer contains them.
 */

type Conn = Db | Trx;

export type HoldStatus = 'pending' | 'approved' | 'rejected' | 'applied' | 'superseded';

export interface Hold {
  id: string;
  team: string;
  status: HoldStatus;
  reason: string;
  removals: number;
  revocations: number;
  ops: Op[];
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decidedChannel: string | null;
}

interface HoldRow {
  id: string;
  team: string;
  status: HoldStatus;
  reason: string;
  removals: number;
  revocations: number;
  ops: Op[];
  created_at: Date;
  updated_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decided_channel: string | null;
}

function fromRow(r: HoldRow): Hold {
  return {
    id: r.id,
    team: r.team,
    status: r.status,
    reason: r.reason,
    removals: r.removals,
    revocations: r.revocations,
    ops: r.ops,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    decidedAt: r.decided_at?.toISOString() ?? null,
    decidedBy: r.decided_by,
    decidedChannel: r.decided_channel,
  };
}

/** What an admin decided about a team's guarded removals, as the next reconcile needs it. */
export interface HoldDecisions {
  approved: Set<string>;
  rejected: Set<string>;
  /** The approved hold, to mark applied once its ops ran. */
  approvedHoldId?: string;
  /** Rejected holds and their op keys, to close those no longer planned. */
  rejectedHolds: Array<{ id: string; keys: Set<string> }>;
}

export async function decisionsFor(conn: Conn, team: string): Promise<HoldDecisions> {
  const rows: HoldRow[] = await conn('holds').where('team', team).whereIn('status', ['approved', 'rejected']).select('*');
  const out: HoldDecisions = { approved: new Set(), rejected: new Set(), rejectedHolds: [] };
  for (const row of rows) {
    const keys = new Set(row.ops.map(opKey));
    if (row.status === 'approved') {
      out.approvedHoldId = row.id;
      for (const k of keys) out.approved.add(k);
    } else {
      out.rejectedHolds.push({ id: row.id, keys });
      for (const k of keys) out.rejected.add(k);
    }
  }
  return out;
}

/**
 * Brings the team's holds in line with this reconcile: the open hold lists exactly the ops held
 * now (made when there was none; closed as superseded when nothing is held), an approved hold
 * is marked applied, and rejected holds whose ops are no longer planned close. Returns the id of
 * the team's open hold when ops are held, and the hold itself when this call opened it.
 */
export async function syncHolds(
  conn: Conn,
  team: string,
  update: { held: readonly Op[]; reason?: string; planned: readonly Op[]; decisions: HoldDecisions },
): Promise<{ openId?: string; opened?: Hold }> {
  const { held, decisions } = update;
  if (decisions.approvedHoldId)
    await conn('holds').where({ id: decisions.approvedHoldId, status: 'approved' }).update({ status: 'applied', updated_at: conn.fn.now() });
  const planned = new Set(update.planned.map(opKey));
  for (const r of decisions.rejectedHolds) {
    if (![...r.keys].some((k) => planned.has(k)))
      await conn('holds').where({ id: r.id, status: 'rejected' }).update({ status: 'superseded', updated_at: conn.fn.now() });
  }
  const open = (await conn('holds').where({ team, status: 'pending' }).first()) as HoldRow | undefined;
  if (held.length === 0) {
    if (open) await conn('holds').where({ id: open.id, status: 'pending' }).update({ status: 'superseded', updated_at: conn.fn.now() });
    return {};
  }
  const counts = {
    removals: held.filter((op) => op.kind !== 'revokeToken' && op.kind !== 'relinkLogin').length,
    revocations: held.filter((op) => op.kind === 'revokeToken').length,
  };
  if (open) {
    await conn('holds')
      .where({ id: open.id })
      .update({ ops: JSON.stringify(held), reason: update.reason ?? open.reason, ...counts, updated_at: conn.fn.now() });
    return { openId: open.id };
  }
  try {
    const [row] = (await conn('holds')
      .insert({ team, reason: update.reason ?? 'guarded removals', ops: JSON.stringify(held), ...counts })
      .returning('*')) as HoldRow[];
    return { openId: row.id, opened: fromRow(row) };
  } catch (err) {
    // Another worker opened this team's hold first (one open hold per team): it stands.
    if ((err as { code?: string }).code !== '23505') throw err;
    const theirs = (await conn('holds').where({ team, status: 'pending' }).first('id')) as { id: string } | undefined;
    return { openId: theirs?.id };
  }
}

export async function listHolds(conn: Conn, filter: { status?: HoldStatus | 'all' } = {}): Promise<Hold[]> {
  const q = conn('holds').orderBy([{ column: 'created_at', order: 'desc' }, 'id']);
  if (filter.status !== 'all') q.where('status', filter.status ?? 'pending');
  return ((await q.select('*')) as HoldRow[]).map(fromRow);
}

export async function getHold(conn: Conn, id: string): Promise<Hold | undefined> {
  const row = (await conn('holds').where('id', id).first()) as HoldRow | undefined;
  return row ? fromRow(row) : undefined;
}

export class HoldNotPendingError extends Error {
  override readonly name = 'HoldNotPendingError';
}

/**
 * Records an admin's decision on a pending hold. Approving lets the next reconcile of the team
 * apply the held ops that are still planned then; rejecting keeps them out. The caller enqueues
 * that reconcile and audits the decision.
 */
export async function decideHold(conn: Conn, id: string, decision: 'approved' | 'rejected', actor: { name: string; channel: string }): Promise<Hold> {
  const [row] = (await conn('holds')
    .where({ id, status: 'pending' })
    .update({ status: decision, decided_at: conn.fn.now(), decided_by: actor.name, decided_channel: actor.channel, updated_at: conn.fn.now() })
    .returning('*')) as HoldRow[];
  if (!row) throw new HoldNotPendingError(`hold ${id} is not pending`);
  return fromRow(row);
}

/** Guarded removals applied org-wide since `windowMs` ago (the window of safety.window). */
export async function recentGuardedRemovals(conn: Conn, windowMs: number): Promise<number> {
  const row = await conn('audit_log')
    .where('at', '>', conn.raw(`now() - (? || ' milliseconds')::interval`, [String(windowMs)]))
    .whereIn('outcome', ['applied'])
    .whereRaw(`(detail->>'guarded') = 'true'`)
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

export async function countOpenHolds(conn: Conn): Promise<number> {
  const row = await conn('holds').where('status', 'pending').count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
