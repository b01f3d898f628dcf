import type { Db } from '../directory';
import type { Logger } from '../log';
import { driftRepairs, holdsCreated, recordReconcile } from '../metrics';
import { isManageableTeamName, type OrgEnvironment, type OrgStack, type PolicyStore } from '../policy';
import { type AccessToken, BadRequestError, NotFoundError, type OrgRoleRecord, type PulumiClient } from '../pulumi';
import { TtlCache } from '../util';
import { identitiesFor, ownershipOf, readActualTeam } from './actual';
import { recordLoginResolution } from './identity-links';
import { applyPlan, type ApplyResult } from './apply';
import { type AuditCategory, type AuditContext, openIntents, settleIntents } from './audit';
import { intentEffectVisible, type SeenState } from './intents';
import { readDirectory } from './desired';
import { recordIdentities } from './mapping';
import { plan as computePlan, writeCallsOf } from './plan';
import { resolveRoleName } from './plan-roles';
import { decisionsFor, recentGuardedRemovals, syncHolds } from './holds';
import { planOrgRemovals, rosterOf, type DepartedPerson, type RosterEntry } from './org-members';
import { guardRemovals, isGuardedRemoval, opKey } from './safety';
import { DEFAULT_PENDING_RETRY_MS, recentlyPendingLogins, recordReconcileFailure, recordReconcileSuccess } from './status';
import { withTeamLock } from './team-lock';
import type { ActualTeam, DesiredTeam, IdentityRecord, Op, Plan, PlanInput } from './types';

/**
 * One team's reconcile: read desired (Postgres + policy) and actual (Pulumi API) state,
 * plan, apply, record status. Never trusts a job's payload beyond the team name.
 */

export interface ReconcileRequest {
  team: string;
  reason: string;
  requestId?: string;
  /** When the directory change that caused it committed (epoch ms), if one did. */
  at?: number;
  jobId?: string;
  /** Test hook: runs after each applied op. */
  afterOp?: (op: Op, index: number) => Promise<void> | void;
}

/** What a team reconcile did, and what it saw, for the step that follows it in the same job. */
export interface TeamReconcileOutcome {
  plan: Plan;
  result: ApplyResult;
  /** Desired state used (null: no group maps to the team any more). */
  desired: DesiredTeam | null;
  /** false when the team no longer exists in Pulumi after this reconcile. */
  exists: boolean;
  /** The team's tokens after this reconcile's revocations (empty when it no longer exists). */
  tokens: AccessToken[];
  /** reconcile.mode is observe: the plan was recorded, nothing was written to Pulumi. */
  observed: boolean;
  /** People whose removal from the team waits in a hold: they keep what depends on the team too. */
  heldUserIds: string[];
  /** When a reconcile of the team should try its pending people again (null: none waits for a retry). */
  nextPendingRetryAt: Date | null;
}

export interface ReconcilerOptions {
  db: Db;
  client: PulumiClient;
  policy: PolicyStore;
  logger: Logger;
  /** How long the org's member list and stack list are reused. @defaultValue 30000 */
  cacheTtlMs?: number;
  /** A user without a Pulumi account is tried again after this long. @defaultValue DEFAULT_PENDING_RETRY_MS (5 min) */
  pendingRetryMs?: number;
  /**
   * Where the per-team advisory locks live: each running reconcile holds one connection for
   * its whole duration, so give it a pool of its own (size ≥ worker concurrency) rather than
   * starve `db`. @defaultValue db
   */
  lockDb?: Db;
}

export class Reconciler {
  readonly #opts: ReconcilerOptions;
  readonly #stacks: TtlCache<OrgStack[]>;
  readonly #environments: TtlCache<OrgEnvironment[]>;
  readonly #orgMembers: TtlCache<Map<string, RosterEntry>>;
  /** The org's role catalogue; null when it answers 404 or 400 (no fine-grained RBAC). */
  readonly #roles: TtlCache<OrgRoleRecord[] | null>;

  constructor(options: ReconcilerOptions) {
    this.#opts = options;
    const ttl = options.cacheTtlMs ?? 30_000;
    this.#stacks = new TtlCache(
      async () => (await options.client.listStacks(this.org)).map((s) => ({ projectName: s.projectName, stackName: s.stackName })),
      ttl,
    );
    // Soft-deleted environments are never granted (docs/pulumi-api.md, "ESC environments").
    this.#environments = new TtlCache(
      async () => (await options.client.listEnvironments(this.org)).filter((e) => !e.deletedAt).map((e) => ({ project: e.project, name: e.name })),
      ttl,
    );
    this.#orgMembers = new TtlCache(async () => rosterOf(await options.client.listOrgMembers(this.org)), ttl);
    this.#roles = new TtlCache(async () => {
      try {
        return await options.client.listOrgRoles(this.org);
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof BadRequestError) return null;
        throw err;
      }
    }, ttl);
  }

  get org(): string {
    return this.#opts.policy.current.organization;
  }

  get pendingRetryMs(): number {
    return this.#opts.pendingRetryMs ?? DEFAULT_PENDING_RETRY_MS;
  }

  /** Forgets cached stacks, environments and org members (after a policy reload or on demand). */
  invalidateCaches(): void {
    this.#stacks.invalidate();
    this.#environments.invalidate();
    this.#orgMembers.invalidate();
    this.#roles.invalidate();
  }

  /** The org's stacks, as the policy's globs are resolved against (cached). */
  orgStacks(): Promise<OrgStack[]> {
    return this.#stacks.get();
  }

  /**
   * The org's ESC environments, as the policy's environment globs are resolved against (cached);
   * not listed at all while no rule grants an environment.
   */
  async orgEnvironments(): Promise<OrgEnvironment[]> {
    return this.#opts.policy.current.rules.some((r) => r.environments.length > 0) ? this.#environments.get() : [];
  }

  /** Every team a full reconcile visits: mapped teams and owned teams (never scoped-token teams). */
  async allTeamNames(): Promise<string[]> {
    const policy = this.#opts.policy.current;
    const mapped = (await readDirectory(this.#opts.db, policy, [])).teams.keys();
    const owned: Array<{ name: string }> = await this.#opts.db('owned_teams').select('name');
    return [...new Set([...mapped, ...owned.map((o) => o.name)])].filter(isManageableTeamName).sort();
  }

  /** Dry run: the plan for one team without applying it or writing anything. */
  async planTeam(team: string): Promise<Plan> {
    return (await this.#read(team, false)).plan;
  }

  /** Dry run over every team. */
  async planAll(): Promise<Plan[]> {
    const plans = [];
    for (const team of await this.allTeamNames()) plans.push(await this.planTeam(team));
    return plans;
  }

  async reconcileTeam(request: ReconcileRequest): Promise<TeamReconcileOutcome> {
    const { team } = request;
    const started = Date.now();
    if (!isManageableTeamName(team)) {
      recordReconcile('skipped', 0);
      return {
        plan: { team, management: 'none', ops: [], notes: [] },
        result: { applied: 0, pending: [] },
        desired: null,
        exists: false,
        tokens: [],
        observed: false,
        heldUserIds: [],
        nextPendingRetryAt: null,
      };
    }
    return withTeamLock(this.#opts.lockDb ?? this.#opts.db, team, async () => {
      const { db } = this.#opts;
      const policy = this.#opts.policy.current;
      const { plan, desired, actual, deferred, identities } = await this.#read(team, true);
      if (policy.reconcile.mode === 'observe') return this.#observe(request, plan, desired, actual, started);
      const category: AuditCategory = request.reason === 'drift' ? 'drift' : 'reconcile';
      const audit: AuditContext = { category, reason: request.reason, requestId: request.requestId, jobId: request.jobId };
      await settleOpenIntents(db, audit, { team }, { actual });
      const decisions = await decisionsFor(db, team);
      const identityOf = (login: string) => identities.get(login);
      const guarded = guardRemovals({
        ops: plan.ops,
        identityOf,
        maxRemovals: policy.safety.maxRemovals,
        // The window's count is an audit-log scan: read only when this plan has guarded removals.
        recentRemovals: plan.ops.some((op) => isGuardedRemoval(op, identityOf)) ? await recentGuardedRemovals(db, policy.safety.windowMs) : 0,
        approved: decisions.approved,
        rejected: decisions.rejected,
      });
      const { openId, opened: hold } = await syncHolds(db, team, { held: guarded.held, reason: guarded.reason, planned: plan.ops, decisions });
      if (hold) {
        holdsCreated.inc();
        this.#opts.logger.warn('removals held for approval', {
          category: 'reconcile',
          team,
          holdId: hold.id,
          removals: hold.removals,
          revocations: hold.revocations,
          reason: hold.reason,
        });
      }
      if (openId) plan.notes.push({ kind: 'held', team, holdId: openId, ops: guarded.held.length });
      for (const r of decisions.rejectedHolds) {
        const left = guarded.rejected.filter((op) => r.keys.has(opKey(op))).length;
        if (left > 0) plan.notes.push({ kind: 'rejectedHold', team, holdId: r.id, ops: left });
      }
      const result = await applyPlan(
        {
          db,
          client: this.#opts.client,
          org: this.org,
          audit,
          planTeam: team,
          // The roster learns what this reconcile added, instead of being re-read.
          onOrgMemberAdded: (login) => this.#orgMembers.update((members) => void members.set(login.toLowerCase(), { admin: false })),
          afterOp: request.afterOp,
          guardedKeys: guarded.guardedKeys,
        },
        guarded.apply,
      );
      if (category === 'drift') for (const op of guarded.apply) if (op.kind !== 'forgetTeam') driftRepairs.inc({ kind: op.kind });
      const pending = await recordReconcileSuccess(this.#opts.db, {
        team,
        request,
        plan,
        result,
        desired,
        // Deferred users stay pending while they are still desired members.
        deferred: [...deferred].filter((l) => desired?.members.has(l)),
        pendingRetryMs: this.pendingRetryMs,
        durationMs: Date.now() - started,
      });
      recordReconcile('success', (Date.now() - started) / 1000);
      this.#opts.logger.info('team reconciled', {
        category: 'reconcile',
        team,
        reason: request.reason,
        requestId: request.requestId,
        jobId: request.jobId,
        ops: plan.ops.length,
        writes: writeCallsOf(plan.ops),
        // Everyone who still waits in this team (as status lists them), and how many of them
        // were tried again just now; the ones whose retry time has not come were not.
        pending: pending.count,
        pendingTried: result.pending.length,
        ...(pending.nextRetryAt ? { nextPendingRetryAt: pending.nextRetryAt.toISOString() } : {}),
        ms: Date.now() - started,
      });
      const applied = guarded.apply;
      const revoked = new Set(applied.flatMap((op) => (op.kind === 'revokeToken' ? [op.tokenId] : [])));
      const exists =
        !applied.some((op) => op.kind === 'deleteTeam' || op.kind === 'forgetTeam') && (actual !== null || applied.some((op) => op.kind === 'createTeam'));
      const tokens = exists ? (actual?.tokens ?? []).filter((t) => !revoked.has(t.id)) : [];
      const heldUserIds = guarded.held.flatMap((op) => {
        const userId = op.kind === 'removeMember' ? identities.get(op.login.toLowerCase())?.userId : undefined;
        return userId ? [userId] : [];
      });
      return { plan, result, desired, exists, tokens, observed: false, heldUserIds, nextPendingRetryAt: pending.nextRetryAt };
    });
  }

  /** reconcile.mode observe: the plan is recorded in status as what enforce would do; nothing is written to Pulumi. */
  async #observe(
    request: ReconcileRequest,
    plan: Plan,
    desired: DesiredTeam | null,
    actual: ActualTeam | null,
    started: number,
  ): Promise<TeamReconcileOutcome> {
    const result = { applied: 0, pending: [] };
    if (plan.ops.length > 0) plan.notes.push({ kind: 'observed', team: plan.team, ops: plan.ops.length });
    await recordReconcileSuccess(this.#opts.db, {
      team: plan.team,
      request,
      plan,
      result,
      desired,
      deferred: [],
      durationMs: Date.now() - started,
      outcome: 'observed',
    });
    recordReconcile('observed', (Date.now() - started) / 1000);
    this.#opts.logger.info('team observed', {
      category: 'reconcile',
      team: plan.team,
      reason: request.reason,
      requestId: request.requestId,
      ops: plan.ops.length,
    });
    return { plan, result, desired, exists: actual !== null, tokens: actual?.tokens ?? [], observed: true, heldUserIds: [], nextPendingRetryAt: null };
  }

  /**
   * Removes from the org the people deactivated or deleted in the IdP, as far as
   * `identity.removeFromOrg` reaches: one person (the revoke lane, `userId`) or everyone (a full
   * reconcile). Nothing is written in observe mode; the ops are returned either way.
   */
  async reconcileOrgDepartures(request: { reason: string; requestId?: string; jobId?: string; userId?: string }): Promise<Op[]> {
    const { db } = this.#opts;
    const policy = this.#opts.policy.current;
    if (policy.removeFromOrg === 'never') return [];
    const q = db('identities').whereIn('state', ['inactive', 'deleted']).select('user_id', 'login', 'state');
    if (request.userId) q.where('user_id', request.userId);
    const departed: DepartedPerson[] = ((await q) as Array<{ user_id: string; login: string; state: 'inactive' | 'deleted' }>).map((r) => ({
      userId: r.user_id,
      login: r.login,
      state: r.state,
    }));
    if (departed.length === 0) return [];
    // A person with another login that is still active in the directory keeps the org seat.
    const stillActive = new Set<string>(
      await db('identities')
        .whereIn('user_id', [...new Set(departed.map((d) => d.userId))])
        .where('state', 'active')
        .pluck('user_id'),
    );
    const candidates = departed.filter((d) => !stillActive.has(d.userId));
    const added = new Set<string>(
      await db('org_additions')
        .whereIn(
          'login_lower',
          candidates.map((d) => d.login.toLowerCase()),
        )
        .pluck('login_lower'),
    );
    const roster = policy.removeFromOrg === 'all' || candidates.some((d) => added.has(d.login.toLowerCase())) ? await this.#orgMembers.get() : undefined;
    const ops = planOrgRemovals({ org: this.org, departed: candidates, roster, added, rule: policy.removeFromOrg });
    if (policy.reconcile.mode === 'observe') return ops;
    const audit: AuditContext = {
      category: request.reason === 'drift' ? 'drift' : 'reconcile',
      reason: request.reason,
      requestId: request.requestId,
      jobId: request.jobId,
    };
    await settleOpenIntents(db, audit, { team: null, ops: ['removeOrgMember'], subjects: departed.map((d) => d.login) }, { orgMembers: roster });
    if (ops.length === 0) return ops;
    await applyPlan({ db, client: this.#opts.client, org: this.org, audit }, ops);
    this.#orgMembers.update((members) => {
      for (const op of ops) if (op.kind === 'removeOrgMember') members.delete(op.login.toLowerCase());
    });
    return ops;
  }

  /** Records a failed reconcile; `permanent` marks the team degraded until a success. */
  recordFailure(team: string, request: { reason: string; requestId?: string }, err: Error, permanent: boolean, durationMs: number): Promise<void> {
    return recordReconcileFailure(this.#opts.db, team, request, err, permanent, durationMs);
  }

  async #read(
    team: string,
    record: boolean,
  ): Promise<{ plan: Plan; desired: DesiredTeam | null; actual: ActualTeam | null; deferred: Set<string>; identities: Map<string, IdentityRecord> }> {
    const { db, client } = this.#opts;
    const policy = this.#opts.policy.current;
    const stacks = await this.#stacks.get();
    const environments = await this.orgEnvironments();
    let directory = await readDirectory(db, policy, stacks, [team], environments);
    if (record) {
      await recordIdentities(db, policy, directory.users);
      // A link another worker made meanwhile for someone else turns this one into a clash.
      if ((await recordLoginResolution(db, directory.logins)).length > 0) directory = await readDirectory(db, policy, stacks, [team], environments);
    }
    const desired = directory.teams.get(team) ?? null;
    const { owned, adopted } = await ownershipOf(db, team);
    const actual = await readActualTeam(client, this.org, team, owned);
    // Token creators, and members, whose directory state decides whether a removal is guarded.
    const identities = await identitiesFor(db, [...(actual?.tokens.map((t) => t.createdBy) ?? []), ...(actual?.members ?? [])]);
    const deferred = await recentlyPendingLogins(db, team, this.pendingRetryMs);
    const needsRoster = desired !== null && [...desired.members.keys()].some((l) => !actual?.members.some((m) => m.toLowerCase() === l));
    const input: PlanInput = {
      team,
      desired,
      actual,
      owned,
      adopted,
      orgMembers: needsRoster ? await this.#orgMembers.get() : undefined,
      deferredLogins: deferred,
      identities,
      // The catalogue is read only for a team whose rules name a role.
      ...(desired?.role !== undefined ? { role: resolveRoleName(desired.role, await this.#roles.get()) } : {}),
      policy: {
        adoptExistingTeams: policy.ownership.adoptExistingTeams,
        deleteTeamWhenGroupGone: policy.ownership.deleteTeamWhenGroupGone,
        revokeWhenCreatorLeaves: policy.tokens.revokeWhenCreatorLeaves,
        revokeUnknownCreators: policy.tokens.revokeUnknownCreators,
      },
    };
    return { plan: computePlan(input), desired, actual, deferred, identities };
  }
}

/**
 * Settles the intents a crashed run of the same scope left open (one team, under its lock; or,
 * with `team` null, the org departures of these people): `confirmed` when the state just read shows the op's
 * effect, else `superseded` (this run's plan decides again and records its own entries).
 */
async function settleOpenIntents(
  db: Db,
  audit: AuditContext,
  scope: { team: string | null; ops?: string[]; subjects?: string[] },
  seen: SeenState,
): Promise<void> {
  const open = await openIntents(db, { ...scope, categories: ['reconcile', 'drift'] });
  if (open.length === 0) return;
  await settleIntents(
    db,
    audit,
    open.map((intent) => {
      const visible = intentEffectVisible(intent, seen);
      return {
        intent,
        resolution: visible ? 'confirmed' : 'superseded',
        detail: { effect: visible === undefined ? 'unknown' : visible ? 'visible' : 'absent' },
      };
    }),
  );
}
