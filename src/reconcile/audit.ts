import { peopleByUserName, personById } from '../directory';
import type { Db, Trx } from '../directory/db';
import type { Logger } from '../log';
import { holdsDecided } from '../metrics';
import { canonicalContent, chainedFieldsOf, entryHash, GENESIS_HASH } from './audit-chain';
import { decideHold, type Hold } from './holds';
import type { Op } from './types';

/**
 * The audit log (docs/audit.md): an append-only hash chain. A Pulumi write is two entries: its
 * intent, appended before the call, and its outcome, appended after it and pointing at the
 * intent; a crash in between leaves an open intent, never a silent write. Drift repairs are
 * category `drift`. What an admin does (a SCIM client changed, a manual reconcile, a token
 * issued or revoked for someone, a hold decided) is category `admin`, with who did it (`actor`)
 * and through which surface (`channel`).
 */

type Conn = Db | Trx;

export type AuditCategory = 'reconcile' | 'drift' | 'tokens' | 'admin' | 'signals';
/** The surface an admin acted through. */
export type AdminChannel = 'api' | 'console' | 'cli';
/** How an op ended; `intent` while it has no outcome entry yet. */
export type AuditOutcome = 'applied' | 'already' | 'pending' | 'skipped' | 'failed';
/** How a re-run settled an intent its crashed run left open. */
export type IntentResolution = 'confirmed' | 'superseded';
export type StoredOutcome = AuditOutcome | IntentResolution | 'intent';

export interface AuditContext {
  category: AuditCategory;
  reason?: string;
  requestId?: string;
  jobId?: string;
  /** Who asked for it: an admin token's label, a signed-in person, the OS user of the CLI. */
  actor?: string;
  channel?: AdminChannel;
}

/** One op as the API shows it: its intent folded together with its latest outcome. */
export interface AuditEntry {
  id: string;
  at: string;
  category: AuditCategory;
  op: string;
  team: string | null;
  subject: string | null;
  detail: Record<string, unknown>;
  outcome: StoredOutcome;
  /** When the outcome was recorded; null while the intent is open or for a one-entry record. */
  completedAt: string | null;
  reason: string | null;
  requestId: string | null;
  jobId: string | null;
  actor: string | null;
  channel: AdminChannel | null;
}

/** An entry to append; the chain gives it its id, time and hashes. */
export interface NewAuditEntry {
  category: AuditCategory;
  op: string;
  team?: string | null;
  subject?: string | null;
  detail?: Record<string, unknown>;
  outcome: StoredOutcome;
  reason?: string | null;
  requestId?: string | null;
  jobId?: string | null;
  actor?: string | null;
  channel?: AdminChannel | null;
  /** For an outcome: the intent it completes. */
  intentId?: string | null;
}

/** Entries per `audit_append` call: bounds one statement's size; a longer append is several calls in one transaction. */
const APPEND_CHUNK = 1000;

/**
 * Appends entries to the chain, in order, in one transaction (the caller's, when `conn` is
 * one). `audit_append` does it in the database as one statement: it locks the head row FOR
 * UPDATE (writers take turns, id order is chain order), hashes and inserts the entries and
 * moves the head; alone, the lock is held for that statement only. Returns the new ids.
 */
export async function appendAudit(conn: Conn, entries: readonly NewAuditEntry[]): Promise<string[]> {
  if (entries.length === 0) return [];
  const contents = entries.map((e) =>
    canonicalContent({
      category: e.category,
      op: e.op,
      team: e.team ?? null,
      subject: e.subject ?? null,
      outcome: e.outcome,
      reason: e.reason ?? null,
      requestId: e.requestId ?? null,
      jobId: e.jobId ?? null,
      actor: e.actor ?? null,
      channel: e.channel ?? null,
      intentId: e.intentId ?? null,
      // Through JSON once, as jsonb will keep it (a Date becomes its ISO string, not `{}`).
      detail: JSON.parse(JSON.stringify(e.detail ?? {})) as unknown,
    }),
  );
  const append = async (c: Conn, part: string[]): Promise<bigint> =>
    BigInt((await c.raw('SELECT audit_append(?::text[]) AS first_id', [part])).rows[0].first_id as string);
  const ids: string[] = [];
  const run = async (c: Conn): Promise<void> => {
    for (let i = 0; i < contents.length; i += APPEND_CHUNK) {
      const part = contents.slice(i, i + APPEND_CHUNK);
      const first = await append(c, part);
      for (let k = 0n; k < BigInt(part.length); k++) ids.push(String(first + k));
    }
  };
  // One call commits on its own; several need one transaction, so the append is all or nothing.
  if (contents.length <= APPEND_CHUNK || ('isTransaction' in conn && conn.isTransaction)) await run(conn);
  else await (conn as Db).transaction(run);
  return ids;
}

export function subjectOf(op: Op): string | undefined {
  switch (op.kind) {
    case 'revokeToken':
      return op.tokenId;
    case 'removeMember':
    case 'addMember':
    case 'addOrgMember':
    case 'removeOrgMember':
    case 'demoteMember':
    case 'promoteMember':
      return op.login;
    case 'unassignTeamRole':
    case 'assignTeamRole':
      return op.roleId;
    case 'relinkLogin':
      return op.userId;
    case 'narrowGrant':
    case 'removeGrant':
    case 'widenGrant':
    case 'addGrant':
      return `${op.projectName}/${op.stackName}`;
    case 'removeEnvironment':
    case 'editEnvironmentPermission':
    case 'addEnvironmentPermission':
      return `${op.projectName}/${op.envName}`;
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
    case 'removeEnvironment':
      return { environment: true, from: op.from };
    case 'editEnvironmentPermission':
      return { environment: true, from: op.from, to: op.to, ...(op.maxOpenDuration ? { maxOpenDuration: op.maxOpenDuration } : {}) };
    case 'addEnvironmentPermission':
      return { environment: true, permission: op.permission, ...(op.maxOpenDuration ? { maxOpenDuration: op.maxOpenDuration } : {}) };
    case 'createTeam':
    case 'updateTeam':
      return { displayName: op.displayName };
    case 'adoptTeam':
      return { teamKind: op.teamKind };
    case 'assignTeamRole':
      return { roleName: op.roleName, ...(op.replaces ? { replaces: op.replaces } : {}) };
    case 'addMember':
    case 'addOrgMember':
    case 'removeOrgMember':
      // The person, so the audit page can filter by them whatever their login.
      return { userId: op.userId };
    default:
      return {};
  }
}

function opEntry(ctx: AuditContext, op: Op, outcome: StoredOutcome, detail: Record<string, unknown>, intentId?: string): NewAuditEntry {
  return {
    category: ctx.category,
    op: op.kind,
    team: 'team' in op ? op.team : null,
    subject: subjectOf(op) ?? null,
    detail,
    outcome,
    reason: ctx.reason,
    requestId: ctx.requestId,
    jobId: ctx.jobId,
    actor: ctx.actor,
    channel: ctx.channel,
    intentId,
  };
}

/**
 * The intent entries of ops about to be applied. `planTeam` names the team whose reconcile
 * planned an op without a team (an org member added for it), so that team's next reconcile is
 * the one that settles it if left open.
 */
export function intentEntries(ctx: AuditContext, ops: readonly Op[], planTeam?: string): NewAuditEntry[] {
  return ops.map((op) => opEntry(ctx, op, 'intent', { ...detailOf(op), ...(planTeam && !('team' in op) ? { planTeam } : {}) }));
}

/** The intents of ops about to be applied, one append; returns their ids in op order. */
export function recordIntents(conn: Conn, ctx: AuditContext, ops: readonly Op[], planTeam?: string): Promise<string[]> {
  return appendAudit(conn, intentEntries(ctx, ops, planTeam));
}

export interface OpOutcome {
  outcome: AuditOutcome;
  extra?: Record<string, unknown>;
}

/** The outcome entries of ops whose intents are `intentIds`. */
export function outcomeEntries(ctx: AuditContext, ops: readonly Op[], intentIds: readonly string[], outcomes: readonly OpOutcome[]): NewAuditEntry[] {
  return ops.map((op, i) => opEntry(ctx, op, outcomes[i].outcome, outcomes[i].extra ?? {}, intentIds[i]));
}

/** How far back a reconcile looks for intents left open (docs/audit.md). */
export const OPEN_INTENT_WINDOW_DAYS = 7;

/** An intent whose op never reported an outcome (its process died in between). */
export type OpenIntent = Pick<AuditEntry, 'id' | 'at' | 'category' | 'op' | 'team' | 'subject' | 'detail'>;

/**
 * Open intents of one team's reconciles (its own ops, and org ops planned for it), or, with
 * `team: null`, of org departures. Runs under that team's lock, so none of them is in flight.
 */
export async function openIntents(
  conn: Conn,
  scope: { team: string | null; categories: readonly AuditCategory[]; ops?: readonly string[]; subjects?: readonly string[] },
): Promise<OpenIntent[]> {
  const q = conn('audit_log as i')
    .where('i.outcome', 'intent')
    // Bounded, so each reconcile's look stays cheap however long the log grows; older ones are reported, not settled.
    .where('i.at', '>', conn.raw(`now() - interval '${OPEN_INTENT_WINDOW_DAYS} days'`))
    .whereIn('i.category', [...scope.categories])
    .whereNotExists(conn('audit_log as o').whereRaw('o.intent_id = i.id'))
    .orderBy('i.id');
  if (scope.team === null) q.whereNull('i.team').whereRaw(`i.detail->>'planTeam' IS NULL`);
  else {
    const team = scope.team;
    q.where((w) => w.where('i.team', team).orWhere((o) => o.whereNull('i.team').whereRaw(`i.detail->>'planTeam' = ?`, [team])));
  }
  if (scope.ops) q.whereIn('i.op', [...scope.ops]);
  if (scope.subjects) q.whereIn('i.subject', [...scope.subjects]);
  const rows = await q.select('i.id', 'i.at', 'i.category', 'i.op', 'i.team', 'i.subject', 'i.detail');
  return rows.map((r) => ({ ...r, id: String(r.id), at: new Date(r.at).toISOString() }));
}

/**
 * Settles open intents: `confirmed` when the state a re-run read shows the op's effect,
 * `superseded` when it does not (the re-run's own plan decides again, with its own entries).
 */
export async function settleIntents(
  conn: Conn,
  ctx: AuditContext,
  settled: ReadonlyArray<{ intent: OpenIntent; resolution: IntentResolution; detail?: Record<string, unknown> }>,
): Promise<void> {
  await appendAudit(
    conn,
    settled.map(({ intent, resolution, detail }) => ({
      category: intent.category,
      op: intent.op,
      team: intent.team,
      subject: intent.subject,
      detail: { ...detail, intentAt: intent.at },
      outcome: resolution,
      reason: ctx.reason,
      requestId: ctx.requestId,
      jobId: ctx.jobId,
      intentId: intent.id,
    })),
  );
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

/** One admin action, category `admin`: one entry, written with (or after) what it records. */
export async function recordAdminAction(conn: Conn, action: AdminAction): Promise<void> {
  await appendAudit(conn, [
    {
      category: 'admin',
      op: action.op,
      team: action.team,
      subject: action.subject,
      detail: action.detail,
      outcome: 'applied',
      requestId: action.requestId,
      actor: action.actor,
      channel: action.channel,
    },
  ]);
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

/** One signal action: one chained entry, written after what it records. */
export async function recordSignalAction(conn: Conn, entry: SignalAuditEntry): Promise<void> {
  await appendAudit(conn, [
    {
      category: 'signals',
      op: entry.op,
      subject: entry.userId,
      detail: { ...entry.detail, jti: entry.jti, issuer: entry.issuer, eventType: entry.eventType },
      outcome: 'applied',
      reason: entry.eventType,
      requestId: entry.jti,
    },
  ]);
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
  /** A SCIM user id, userName or Pulumi login: entries about them, or done by them. */
  person?: string;
  requestId?: string;
  category?: AuditCategory;
  op?: string;
  /** ISO timestamps. */
  since?: string;
  until?: string;
  /** The `next` of the previous page: entries below this id. */
  cursor?: string;
  /** @defaultValue 100, at most 1000 */
  limit?: number;
}

/** The user ids and lower-cased logins a person filter stands for. */
async function personKeys(db: Db, person: string): Promise<{ ids: string[]; logins: string[]; names: string[] }> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(person);
  const refs = isUuid ? [await personById(db, person)].filter((r) => r !== undefined) : await peopleByUserName(db, person, 10);
  const byLogin: string[] = isUuid ? [] : await db('identities').where('login_lower', person.toLowerCase()).pluck('user_id');
  const ids = [...new Set([...refs.map((r) => r.id), ...byLogin, ...(isUuid ? [person] : [])])];
  const logins: string[] = ids.length > 0 ? await db('identities').whereIn('user_id', ids).pluck('login_lower') : [];
  return { ids, logins: [...new Set([...logins, person.toLowerCase()])], names: [person, ...refs.map((r) => r.user_name)] };
}

/** Newest first, keyset-paged by id; one entry per op (intent and outcome folded together). */
export async function queryAudit(db: Db, q: AuditQuery): Promise<{ entries: AuditEntry[]; next?: string }> {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const query = db('audit_log as a')
    .joinRaw('LEFT JOIN LATERAL (SELECT c.outcome, c.detail, c.at FROM audit_log c WHERE c.intent_id = a.id ORDER BY c.id DESC LIMIT 1) AS done ON true')
    .whereNull('a.intent_id')
    .orderBy('a.id', 'desc')
    .limit(limit + 1);
  if (q.team) query.where('a.team', q.team);
  if (q.requestId) query.where('a.request_id', q.requestId);
  if (q.category) query.where('a.category', q.category);
  if (q.op) query.where('a.op', q.op);
  if (q.since) query.where('a.at', '>=', q.since);
  if (q.until) query.where('a.at', '<', q.until);
  if (q.cursor) query.where('a.id', '<', q.cursor);
  if (q.person) {
    const { ids, logins, names } = await personKeys(db, q.person);
    query.where((w) => {
      w.whereIn('a.actor', names).orWhereRaw('lower(a.subject) = ANY(?)', [logins]);
      // Signal actions and relinks name the person by user id in `subject`.
      if (ids.length > 0) w.orWhereRaw('a.subject = ANY(?)', [ids]);
      for (const key of ['userId', 'personId', 'creatorUserId']) if (ids.length > 0) w.orWhereRaw(`a.detail->>'${key}' = ANY(?)`, [ids]);
    });
  }
  const rows = await query.select('a.*', 'done.outcome as done_outcome', 'done.detail as done_detail', 'done.at as done_at');
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      at: new Date(r.at).toISOString(),
      category: r.category,
      op: r.op,
      team: r.team,
      subject: r.subject,
      detail: { ...r.detail, ...r.done_detail },
      outcome: r.done_outcome ?? r.outcome,
      completedAt: r.done_at ? new Date(r.done_at).toISOString() : null,
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
 * category `tokens`, op = the action (`token.revoked` …); with `intentId`, the entry is the
 * outcome of that intent.
 */
export function createTokenAuditWriter(db: Db) {
  return async (entry: {
    action: string;
    team: string;
    reason: string;
    requestId: string | null;
    latencyMs: number | null;
    detail: Record<string, unknown>;
    outcome?: 'intent' | 'applied' | 'already' | 'failed';
    intentId?: string;
  }): Promise<string> => {
    const [id] = await appendAudit(db, [
      {
        category: 'tokens',
        op: entry.action,
        team: entry.team,
        // A token write's subject is the token; a lane member removal's is the login it removed.
        subject: typeof entry.detail.tokenId === 'string' ? entry.detail.tokenId : typeof entry.detail.login === 'string' ? entry.detail.login : null,
        detail: { ...entry.detail, ...(entry.latencyMs === null ? {} : { latencyMs: entry.latencyMs }) },
        outcome: entry.outcome ?? 'applied',
        reason: entry.reason,
        requestId: entry.requestId,
        intentId: entry.intentId,
      },
    ]);
    return id;
  };
}

/** Where the chain stops fitting, or how much of it was checked. */
export type AuditVerdict =
  | { ok: true; entries: number; headId: string; headHash: string; anchorsChecked: number }
  | { ok: false; entryId: string; problem: string; entriesChecked: number };

const VERIFY_PAGE = 2000;

/**
 * Walks the chain in id order and names the first entry that does not fit: its hash is not
 * that of its contents (changed), its `prev_hash` is not the hash of the entry before it, or
 * ids skip (an entry before it was removed). Then the head row and every anchor must name an
 * entry the walk met, with the same hash (a removed tail). Reads only.
 */
export async function verifyAuditChain(db: Db): Promise<AuditVerdict> {
  const head = (await db('audit_head').where('singleton', true).first('last_id', 'last_hash')) as { last_id: string; last_hash: string } | undefined;
  const anchors = (await db('audit_anchors').orderBy('head_id').select('head_id', 'head_hash', 'at')) as Array<{
    head_id: string;
    head_hash: string;
    at: Date;
  }>;
  // What must be met on the walk: every anchor and the head row, each by id with its hash.
  const wanted = new Map<string, Array<{ hash: string; what: string; anchor: boolean }>>();
  const want = (id: string, hash: string, what: string, anchor: boolean) => wanted.set(id, [...(wanted.get(id) ?? []), { hash, what, anchor }]);
  for (const a of anchors) want(String(a.head_id), a.head_hash, `the anchor taken at ${new Date(a.at).toISOString()}`, true);
  if (head) want(String(head.last_id), head.last_hash, 'the chain head', false);
  let prevHash = GENESIS_HASH;
  let prevId: bigint | undefined;
  let checked = 0;
  let anchorsChecked = 0;
  const fail = (entryId: string, problem: string): AuditVerdict => ({ ok: false, entryId, problem, entriesChecked: checked });
  for (;;) {
    const q = db('audit_log').orderBy('id').limit(VERIFY_PAGE).select('*');
    if (prevId !== undefined) q.where('id', '>', String(prevId));
    const rows = await q;
    for (const row of rows) {
      const id = String(row.id);
      if (entryHash(row.prev_hash, chainedFieldsOf(row)) !== row.hash) return fail(id, 'its contents do not match its hash: the entry was changed');
      if (row.prev_hash !== prevHash) return fail(id, 'its prev_hash is not the hash of the entry before it: that entry was changed or removed');
      if (prevId !== undefined && BigInt(id) !== prevId + 1n) return fail(id, `entries ${prevId + 1n}–${BigInt(id) - 1n} before it are missing`);
      for (const mark of wanted.get(id) ?? []) {
        if (mark.hash !== row.hash) return fail(id, `its hash differs from the one ${mark.what} holds`);
        if (mark.anchor) anchorsChecked += 1;
      }
      wanted.delete(id);
      prevHash = row.hash;
      prevId = BigInt(id);
      checked += 1;
    }
    if (rows.length < VERIFY_PAGE) break;
  }
  // Appends since the head was read extend the walk; an anchor or head beyond it means a removed tail.
  for (const [id, [mark]] of [...wanted].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1))) {
    if (id !== '0') return fail(id, `the entry is missing, but ${mark.what} names it: the log's tail was removed`);
  }
  return { ok: true, entries: checked, headId: prevId === undefined ? '0' : String(prevId), headHash: prevHash, anchorsChecked };
}

/**
 * Copies the chain head into `audit_anchors` when it moved since the last anchor, and returns
 * it so the caller can write it to the log stream too (a copy outside the database).
 */
export async function anchorAuditHead(db: Db): Promise<{ headId: string; headHash: string } | undefined> {
  const rows = (
    await db.raw(
      `INSERT INTO audit_anchors (head_id, head_hash)
       SELECT h.last_id, h.last_hash FROM audit_head h
       WHERE h.singleton AND h.last_id > 0
         AND NOT EXISTS (SELECT 1 FROM audit_anchors a WHERE a.head_id = h.last_id AND a.head_hash = h.last_hash)
       RETURNING head_id, head_hash`,
    )
  ).rows as Array<{ head_id: string; head_hash: string }>;
  return rows[0] ? { headId: String(rows[0].head_id), headHash: rows[0].head_hash } : undefined;
}

/**
 * Anchors the head every `everyMs` and writes it to the log stream as well (`audit head
 * anchored`), so a copy lives outside the database. A failed round is logged and retried at the next.
 */
export function startAuditAnchoring(db: Db, logger: Logger, everyMs: number): { stop(): void } {
  if (everyMs <= 0) return { stop: () => undefined };
  const round = async () => {
    try {
      const anchored = await anchorAuditHead(db);
      if (anchored) logger.info('audit head anchored', { category: 'audit', ...anchored });
    } catch (err) {
      logger.warn('audit head not anchored', { category: 'audit', err: (err as Error).message });
    }
  };
  const timer = setInterval(() => void round(), everyMs).unref();
  return { stop: () => clearInterval(timer) };
}
