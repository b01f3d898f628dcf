import type { Db } from '../directory';
import type { Logger } from '../log';
import { driftRepairs, recordReconcile } from '../metrics';
import { isManageableTeamName, OrgStack, PolicyStore } from '../policy';
import type { AccessToken, PulumiClient } from '../pulumi';
import { TtlCache } from '../util';
import { identitiesFor, ownershipOf, readActualTeam } from './actual';
import { recordLoginResolution } from './identity-links';
import { applyPlan, ApplyResult } from './apply';
import { AuditCategory } from './audit';
import { readDirectory } from './desired';
import { recordIdentities } from './mapping';
import { plan as computePlan, writeCallsOf } from './plan';
import { recentlyPendingLogins, recordReconcileFailure, recordReconcileSuccess } from './status';
import { withTeamLock } from './team-lock';
import type { ActualTeam, DesiredTeam, Op, Plan, PlanInput } from './types';

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
}

export interface ReconcilerOptions {
  db: Db;
  client: PulumiClient;
  policy: PolicyStore;
  logger: Logger;
  /** How long the org's member list and stack list are reused. @defaultValue 30000 */
  cacheTtlMs?: number;
  /** A user without a Pulumi account is tried again after this long. @defaultValue 300000 */
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
  readonly #orgMembers: TtlCache<Set<string>>;

  constructor(options: ReconcilerOptions) {
    this.#opts = options;
    const ttl = options.cacheTtlMs ?? 30_000;
    this.#stacks = new TtlCache(async () => (await options.client.listStacks(this.org)).map((s) => ({ projectName: s.projectName, stackName: s.stackName })), ttl);
    this.#orgMembers = new TtlCache(async () => new Set((await options.client.listOrgMembers(this.org)).map((m) => m.user.githubLogin.toLowerCase())), ttl);
  }

  get org(): string {
    return this.#opts.policy.current.organization;
  }

  /** Forgets cached stacks and org members (after a policy reload or on demand). */
  invalidateCaches(): void {
    this.#stacks.invalidate();
    this.#orgMembers.invalidate();
  }

  /** The org's stacks, as the policy's globs are resolved against (cached). */
  orgStacks(): Promise<OrgStack[]> {
    return this.#stacks.get();
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
      return { plan: { team, management: 'none', ops: [], notes: [] }, result: { applied: 0, pending: [] }, desired: null, exists: false, tokens: [] };
    }
    return withTeamLock(this.#opts.lockDb ?? this.#opts.db, team, async () => {
      const { plan, desired, actual, deferred } = await this.#read(team, true);
      const category: AuditCategory = request.reason === 'drift' ? 'drift' : 'reconcile';
      const result = await applyPlan(
        {
          db: this.#opts.db,
          client: this.#opts.client,
          org: this.org,
          audit: { category, reason: request.reason, requestId: request.requestId, jobId: request.jobId },
          // The roster learns what this reconcile added, instead of being re-read.
          onOrgMemberAdded: (login) => this.#orgMembers.update((members) => members.add(login.toLowerCase())),
          afterOp: request.afterOp,
        },
        plan.ops,
      );
      if (category === 'drift') for (const op of plan.ops) if (op.kind !== 'forgetTeam') driftRepairs.inc({ kind: op.kind });
      await recordReconcileSuccess(this.#opts.db, {
        team,
        request,
        plan,
        result,
        desired,
        // Deferred users stay pending while they are still desired members.
        deferred: [...deferred].filter((l) => desired?.members.has(l)),
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
        pending: result.pending.length,
        ms: Date.now() - started,
      });
      const revoked = new Set(plan.ops.flatMap((op) => (op.kind === 'revokeToken' ? [op.tokenId] : [])));
      const exists = !plan.ops.some((op) => op.kind === 'deleteTeam' || op.kind === 'forgetTeam') && (actual !== null || plan.ops.some((op) => op.kind === 'createTeam'));
      const tokens = exists ? (actual?.tokens ?? []).filter((t) => !revoked.has(t.id)) : [];
      return { plan, result, desired, exists, tokens };
    });
  }

  /** Records a failed reconcile; `permanent` marks the team degraded until a success. */
  recordFailure(team: string, request: { reason: string; requestId?: string }, err: Error, permanent: boolean, durationMs: number): Promise<void> {
    return recordReconcileFailure(this.#opts.db, team, request, err, permanent, durationMs);
  }

  async #read(team: string, record: boolean): Promise<{ plan: Plan; desired: DesiredTeam | null; actual: ActualTeam | null; deferred: Set<string> }> {
    const { db, client } = this.#opts;
    const policy = this.#opts.policy.current;
    const stacks = await this.#stacks.get();
    let directory = await readDirectory(db, policy, stacks, [team]);
    if (record) {
      await recordIdentities(db, policy, directory.users);
      // A link another worker made meanwhile for someone else turns this one into a clash.
      if ((await recordLoginResolution(db, directory.logins)).length > 0) directory = await readDirectory(db, policy, stacks, [team]);
    }
    const desired = directory.teams.get(team) ?? null;
    const { owned, adopted } = await ownershipOf(db, team);
    const actual = await readActualTeam(client, this.org, team, owned);
    const identities = await identitiesFor(db, actual?.tokens.map((t) => t.createdBy) ?? []);
    const deferred = await recentlyPendingLogins(db, team, this.#opts.pendingRetryMs ?? 300_000);
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
      policy: {
        adoptExistingTeams: policy.ownership.adoptExistingTeams,
        deleteTeamWhenGroupGone: policy.ownership.deleteTeamWhenGroupGone,
        revokeWhenCreatorLeaves: policy.tokens.revokeWhenCreatorLeaves,
        revokeUnknownCreators: policy.tokens.revokeUnknownCreators,
      },
    };
    return { plan: computePlan(input), desired, actual, deferred };
  }
}
