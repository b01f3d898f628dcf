import type { Db } from '../directory/db';
import { BadRequestError, classifyFailure, ConflictError, type EnvironmentGrant, NotFoundError, type PulumiClient } from '../pulumi';
import { type AuditContext, type AuditOutcome, appendAudit, intentEntries, type NewAuditEntry, type OpOutcome, outcomeEntries, recordIntents } from './audit';
import { opKey } from './safety';
import type { Op } from './types';

/**
 * Executes a plan through the Pulumi client in plan order (parallel within a kind). Every op is
 * idempotent (409 on add and 404 on remove count as done, in the client or here), so a
 * re-delivered job that re-plans from current state can never double anything.
 *
 * Audit (docs/audit.md): the ops go in chunks of up to AUDIT_CHUNK ops of one kind. A chunk's
 * intents are committed before any of its calls, its outcomes appended after the last of them.
 * Only the first append (the first two chunks' intents) and the last (the last outcomes) hold
 * up the plan: the appends in between run while a chunk's calls do. A process that dies mid-plan leaves
 * intents without outcomes, which the team's next reconcile settles; no call is made unannounced.
 */

export interface PendingUser {
  login: string;
  userId: string;
  reason: string;
}

export interface ApplyResult {
  /** Ops that wrote to Pulumi or to our ownership records. */
  applied: number;
  pending: PendingUser[];
}

export interface ApplyContext {
  db: Db;
  client: PulumiClient;
  org: string;
  audit: AuditContext;
  /** The team whose plan this is (org ops in it are settled by that team's next reconcile). */
  planTeam?: string;
  /** Called after each op; the org-member cache learns about additions here. */
  onOrgMemberAdded?: (login: string) => void;
  /** Called after each op completes (tests stop a worker mid-apply here). */
  afterOp?: (op: Op, index: number) => Promise<void> | void;
  /** Ops of one kind in flight at once (the client's per-org limiter still applies). @defaultValue 8 */
  concurrency?: number;
  /** Keys (`opKey`) of guarded removals: audited as such, so the safety window can count them. */
  guardedKeys?: ReadonlySet<string>;
}

/** Ops per chunk: large enough to keep appends rare, small enough to keep lanes busy. */
const AUDIT_CHUNK = 64;
const NOT_ATTEMPTED: OpOutcome = { outcome: 'skipped', extra: { why: 'not attempted: an earlier op of the plan failed' } };

/** Runs of ops of one kind, at most AUDIT_CHUNK long, in plan order. */
function chunksOf(ops: readonly Op[]): Op[][] {
  const chunks: Op[][] = [];
  for (let start = 0; start < ops.length; ) {
    let end = start;
    while (end < ops.length && end - start < AUDIT_CHUNK && ops[end].kind === ops[start].kind) end++;
    chunks.push(ops.slice(start, end));
    start = end;
  }
  return chunks;
}

export async function applyPlan(ctx: ApplyContext, ops: readonly Op[]): Promise<ApplyResult> {
  const run: ChunkRun = { ctx, pending: new Map(), applied: 0, failure: undefined, concurrency: Math.max(1, ctx.concurrency ?? 8) };
  const chunks = chunksOf(ops);
  if (chunks.length === 0) return { applied: 0, pending: [] };
  // The first two chunks are announced at once: the second then needs no append of its own.
  const first = await recordIntents(ctx.db, ctx.audit, chunks.slice(0, 2).flat(), ctx.planTeam);
  const intentIds: string[][] = [first.slice(0, chunks[0].length), first.slice(chunks[0].length)];
  // Outcomes not yet appended: they ride along with the next append.
  let completed: NewAuditEntry[] = [];
  for (let k = 0, start = 0; k < chunks.length; start += chunks[k].length, k++) {
    const chunk = chunks[k];
    const next = chunks[k + 1] as Op[] | undefined;
    // While this chunk's calls run, one append records the previous chunk's outcomes and
    // announces the next chunk, so the next chunk starts without waiting for the chain. The
    // last chunk's outcomes and those before them go in one append after its calls.
    const announce = k >= 1 && next !== undefined;
    const ahead = announce
      ? appendAudit(ctx.db, [...completed, ...intentEntries(ctx.audit, next, ctx.planTeam)]).then(
          (ids) => ({ ids }),
          (error: unknown) => ({ error }),
        )
      : undefined;
    if (announce) completed = [];
    const outcomes = await runChunk(run, chunk, start);
    const appended = await ahead;
    if (appended && 'error' in appended) throw appended.error;
    if (appended && next) intentIds[k + 1] = appended.ids.slice(appended.ids.length - next.length);
    completed.push(...outcomeEntries(ctx.audit, chunk, intentIds[k], outcomes));
    if (run.failure !== undefined) {
      // The next chunk was announced while this one failed: none of its ops is attempted.
      if (next) {
        const notAttempted = next.map(() => NOT_ATTEMPTED);
        completed.push(...outcomeEntries(ctx.audit, next, intentIds[k + 1], notAttempted));
      }
      break;
    }
  }
  await appendAudit(ctx.db, completed);
  if (run.failure !== undefined) throw run.failure;
  return { applied: run.applied, pending: [...run.pending.values()] };
}

interface ChunkRun {
  ctx: ApplyContext;
  pending: Map<string, PendingUser>;
  applied: number;
  /** The first failed op's error: no op starts after it. */
  failure: unknown;
  concurrency: number;
}

/**
 * The calls of one chunk, `concurrency` at once (ops of one kind are independent of each
 * other: the plan orders kinds, not ops within a kind); returns each op's outcome. After a
 * failure no op starts, and the next kind starts only after every op of this one succeeded,
 * which keeps the shrink-before-grow order.
 */
async function runChunk(run: ChunkRun, chunk: readonly Op[], start: number): Promise<OpOutcome[]> {
  const { ctx } = run;
  const outcomes: OpOutcome[] = chunk.map(() => NOT_ATTEMPTED);
  const runOne = async (i: number): Promise<void> => {
    const op = chunk[i];
    let result: { outcome: AuditOutcome; extra: Record<string, unknown> };
    try {
      result = await applyOp(ctx, op, run.pending);
    } catch (err) {
      outcomes[i] = { outcome: 'failed', extra: { error: (err as Error).name, class: classifyFailure(err).kind } };
      throw err;
    }
    if (result.outcome === 'applied' || result.outcome === 'already') run.applied++;
    outcomes[i] = { outcome: result.outcome, extra: ctx.guardedKeys?.has(opKey(op)) ? { ...result.extra, guarded: true } : result.extra };
    await ctx.afterOp?.(op, start + i);
  };
  const indices = chunk.map((_, i) => i);
  const lanes = Array.from({ length: Math.min(run.concurrency, indices.length) }, async () => {
    for (let next = indices.shift(); next !== undefined && run.failure === undefined; next = indices.shift()) {
      try {
        await runOne(next);
      } catch (err) {
        run.failure ??= err;
      }
    }
  });
  await Promise.all(lanes);
  return outcomes;
}

async function applyOp(ctx: ApplyContext, op: Op, pending: Map<string, PendingUser>): Promise<{ outcome: AuditOutcome; extra: Record<string, unknown> }> {
  const { client, org, db } = ctx;
  const done = { outcome: 'applied' as AuditOutcome, extra: {} };
  switch (op.kind) {
    case 'adoptTeam':
      await db('owned_teams').insert({ name: op.team, kind: op.teamKind, adopted: true }).onConflict('name').ignore();
      return done;
    case 'forgetTeam':
      await forget(db, op.team);
      return done;
    case 'relinkLogin': {
      // Approved by an admin: the person's recorded login moves, unless someone holds the new one.
      const updated = await db('identity_links')
        .where({ user_id: op.userId, login_lower: op.from.toLowerCase() })
        .whereNotExists(db('identity_links as other').whereRaw('other.login_lower = ?', [op.to.toLowerCase()]))
        .update({ login: op.to, login_lower: op.to.toLowerCase(), linked_at: db.fn.now() });
      return updated > 0 ? done : { outcome: 'skipped', extra: { why: 'login taken or link changed' } };
    }
    // Taking access away never waits behind reconcile traffic (docs/robustness.md, "One Pulumi budget per org").
    case 'revokeToken':
      await client.priority.deleteTeamToken(org, op.team, op.tokenId, `pulumi-idp-sync: ${op.why}`);
      return done;
    case 'removeMember':
      // The plan read them on the team just now: a removal remembered from earlier is stale.
      await client.priority.removeTeamMember(org, op.team, op.login, { seenOnTeam: true });
      return done;
    case 'narrowGrant':
    case 'widenGrant':
      await client.editStackPermission(org, op.team, { projectName: op.projectName, stackName: op.stackName, permission: op.to });
      return done;
    case 'removeGrant':
      await client.removeStackPermission(org, op.team, { projectName: op.projectName, stackName: op.stackName });
      return done;
    case 'deleteTeam':
      await client.deleteTeam(org, op.team);
      await forget(db, op.team);
      return done;
    case 'createTeam':
      // Ownership first: a crash after the create must not leave a team we do not know is ours.
      await db('owned_teams').insert({ name: op.team, kind: 'pulumi' }).onConflict('name').ignore();
      try {
        await client.createTeam(org, { name: op.team, displayName: op.displayName, description: op.description });
      } catch (err) {
        // Our own earlier attempt (re-delivered job) already created it; the ownership row says so.
        if (err instanceof ConflictError) return { outcome: 'already', extra: {} };
        throw err;
      }
      return done;
    case 'updateTeam':
      await client.updateTeam(org, op.team, { newDisplayName: op.displayName, newDescription: op.description });
      return done;
    case 'addOrgMember': {
      const result = await client.addOrgMember(org, op.login, 'member');
      if (result === 'no-account') {
        pending.set(op.login.toLowerCase(), { login: op.login, userId: op.userId, reason: 'no-pulumi-account' });
        return { outcome: 'pending', extra: { result } };
      }
      ctx.onOrgMemberAdded?.(op.login);
      // Who the daemon added is who it may remove again (identity.removeFromOrg: added).
      if (result === 'added') {
        await db('org_additions')
          .insert({ login_lower: op.login.toLowerCase(), login: op.login, user_id: op.userId })
          .onConflict('login_lower')
          .merge(['user_id', 'added_at']);
      }
      return { outcome: result === 'added' ? 'applied' : 'already', extra: { result } };
    }
    case 'removeOrgMember':
      try {
        await client.priority.removeOrgMember(org, op.login);
      } catch (err) {
        // 400: the daemon's own identity, which Pulumi never lets leave (docs/pulumi-api.md, "Org members").
        if (err instanceof BadRequestError) return { outcome: 'skipped', extra: { why: 'refused', error: err.message.slice(0, 200) } };
        throw err;
      }
      await db('org_additions').where('login_lower', op.login.toLowerCase()).delete();
      return done;
    case 'addMember':
      if (pending.has(op.login.toLowerCase())) return { outcome: 'skipped', extra: { why: 'pending' } };
      try {
        await client.addTeamMember(org, op.team, op.login);
      } catch (err) {
        // A login Pulumi rejects is that user's problem, not the team's: keep it pending.
        if (err instanceof BadRequestError || err instanceof NotFoundError) {
          pending.set(op.login.toLowerCase(), { login: op.login, userId: op.userId, reason: err instanceof NotFoundError ? 'not-found' : 'rejected' });
          return { outcome: 'pending', extra: { error: err.name } };
        }
        throw err;
      }
      return done;
    case 'addGrant':
      try {
        await client.addStackPermission(org, op.team, { projectName: op.projectName, stackName: op.stackName, permission: op.permission });
      } catch (err) {
        // Unconfirmed service behaviour for an existing grant (docs/pulumi-api.md, "Stack grants"); the next
        // plan compares levels and edits if they differ.
        if (err instanceof ConflictError) return { outcome: 'already', extra: {} };
        throw err;
      }
      return done;
    case 'demoteMember':
      await client.priority.setTeamMemberRole(org, op.team, op.login, 'member');
      return done;
    case 'promoteMember':
      // A joining admin whose add is pending is not on the team to promote.
      if (pending.has(op.login.toLowerCase())) return { outcome: 'skipped', extra: { why: 'pending' } };
      await client.setTeamMemberRole(org, op.team, op.login, 'admin');
      return done;
    case 'unassignTeamRole':
      await client.priority.unassignTeamRole(org, op.team, op.roleId);
      return done;
    case 'assignTeamRole':
      await client.assignTeamRole(org, op.team, op.roleId);
      return done;
    case 'addEnvironmentPermission':
      await client.addEnvironmentPermission(org, op.team, environmentGrantOf(op, op.permission));
      return done;
    case 'editEnvironmentPermission':
      await client.editEnvironmentPermission(org, op.team, environmentGrantOf(op, op.to));
      return done;
    case 'removeEnvironment':
      await client.removeEnvironmentPermission(org, op.team, { projectName: op.projectName, envName: op.envName });
      return done;
  }
}

function environmentGrantOf(
  op: { projectName: string; envName: string; maxOpenDuration?: string },
  permission: EnvironmentGrant['permission'],
): EnvironmentGrant {
  return {
    projectName: op.projectName,
    envName: op.envName,
    permission,
    ...(op.maxOpenDuration ? { maxOpenDuration: op.maxOpenDuration } : {}),
  };
}

async function forget(db: Db, team: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('owned_teams').where('name', team).delete();
    await trx('team_groups').where('team', team).delete();
    await trx('pending_users').where('team', team).delete();
  });
}
