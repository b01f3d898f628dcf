import { EventEmitter } from 'node:events';
import type { Db } from '../directory/db';
import type { Logger } from '../log';
import { driftRepairs, recordReconcile } from '../metrics';
import { isManageableTeamName, OrgStack, Permission, PolicyStore, TOKEN_TEAM_PREFIX } from '../policy';
import type { AccessToken, PulumiClient } from '../pulumi';
import { applyPlan, ApplyResult } from './apply';
import { AuditCategory } from './audit';
import { readDirectory } from './desired';
import { recordIdentities } from './mapping';
import { plan as computePlan, writeCallsOf } from './plan';
import type { ActualTeam, DesiredTeam, IdentityRecord, Op, Plan, PlanInput } from './types';

/**
 * One team's reconcile: read desired (Postgres + policy) and actual (Pulumi API) state,
 * plan, apply, record status. Never trusts a job's payload beyond the team name.
 */

export interface TeamReconciledEvent {
  team: string;
  reason: string;
  requestId?: string;
  plan: Plan;
  result: ApplyResult;
  /** Desired state used (null: no group maps to the team any more). */
  desired: DesiredTeam | null;
  /** The team's tokens after this reconcile's revocations (empty for a deleted team). */
  tokens: AccessToken[];
  /** false when the team no longer exists in Pulumi after this reconcile. */
  exists: boolean;
}

export interface TeamAccessView {
  /** Grants in the tokens part's shape (`{project, stack, permission}`). */
  desiredGrants(team: string): Promise<Array<{ project: string; stack: string; permission: Permission }> | null>;
  isActiveMember(userId: string, team: string): Promise<boolean>;
  loginsOf(userId: string): Promise<string[]>;
}

export interface ReconcileRequest {
  team: string;
  reason: string;
  requestId?: string;
  jobId?: string;
  /** Test hook: runs after each applied op. */
  afterOp?: (op: Op, index: number) => Promise<void> | void;
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

/** Another worker holds this team's advisory lock (a stalled job was re-delivered). */
export class TeamBusyError extends Error {
  override readonly name = 'TeamBusyError';
}

const LOCK_NAMESPACE = 0x70697321; // 'pis!'

/**
 * A value read from Pulumi and kept for `ttlMs`. Once it is older, callers still get the old
 * value at once while one refresh runs in the background (stale-while-revalidate): a roster of
 * 10,000 org members is 200 pages, and no reconcile should wait for it once there is one.
 * Only the first load, or one after `invalidate()`, is awaited.
 */
class TtlCache<T> {
  #value?: Promise<T>;
  #at = 0;
  #refreshing = false;
  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}
  get(): Promise<T> {
    if (!this.#value) {
      this.#at = Date.now();
      this.#value = this.#track(this.load());
    } else if (Date.now() - this.#at > this.ttlMs && !this.#refreshing) {
      this.#refreshing = true;
      const next = this.load();
      next.then(
        () => {
          this.#at = Date.now();
          this.#value = next;
          this.#refreshing = false;
        },
        () => {
          this.#refreshing = false;
        },
      );
    }
    return this.#value;
  }
  /** Changes the cached value in place (e.g. a member this process just added). */
  update(change: (value: T) => void): void {
    // A failed load has nothing to change; the next get() loads again.
    this.#value?.then(change, () => undefined);
  }
  invalidate(): void {
    this.#value = undefined;
  }
  #track(value: Promise<T>): Promise<T> {
    value.catch(() => {
      if (this.#value === value) this.#value = undefined;
    });
    return value;
  }
}

export class Reconciler extends EventEmitter<{ teamReconciled: [TeamReconciledEvent] }> {
  readonly #opts: ReconcilerOptions;
  readonly #stacks: TtlCache<OrgStack[]>;
  #orgMembers: TtlCache<Set<string>>;

  constructor(options: ReconcilerOptions) {
    super();
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

  /** Every team a full reconcile visits: mapped teams and owned teams (never scoped-token teams). */
  async allTeamNames(): Promise<string[]> {
    const policy = this.#opts.policy.current;
    const mapped = (await readDirectory(this.#opts.db, policy, [])).teams.keys();
    const owned: Array<{ name: string }> = await this.#opts.db('owned_teams').select('name');
    return [...new Set([...mapped, ...owned.map((o) => o.name)])].filter(isManageableTeamName).sort();
  }

  /**
   * The reconciler's view of teams for the tokens part (structurally its `TeamAccessView`):
   * desired grants of owned teams, active membership by SCIM user id, and every login a
   * user ever had (kept after a delete).
   */
  accessView(): TeamAccessView {
    const { db } = this.#opts;
    return {
      desiredGrants: async (team) => {
        if (!(await db('owned_teams').where('name', team).first('name'))) return null;
        const desired = (await readDirectory(db, this.#opts.policy.current, await this.#stacks.get(), [team])).teams.get(team);
        return desired ? [...desired.grants.values()].map((g) => ({ project: g.projectName, stack: g.stackName, permission: g.permission })) : [];
      },
      isActiveMember: async (userId, team) => {
        const desired = (await readDirectory(db, this.#opts.policy.current, [], [team])).teams.get(team);
        return desired ? [...desired.members.values()].some((m) => m.userId === userId) : false;
      },
      loginsOf: async (userId) => (await db('identities').where('user_id', userId).select('login')).map((r: { login: string }) => r.login),
    };
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

  async reconcileTeam(request: ReconcileRequest): Promise<{ plan: Plan; result: ApplyResult }> {
    const { team } = request;
    const started = Date.now();
    if (!isManageableTeamName(team)) {
      recordReconcile('skipped', 0);
      return { plan: { team, management: 'none', ops: [], notes: [] }, result: { applied: 0, pending: [] } };
    }
    return this.#withTeamLock(team, async () => {
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
      // Deferred users stay pending while they are still desired members.
      const stillDeferred = [...deferred].filter((l) => desired?.members.has(l));
      await this.#recordSuccess(team, request, plan, result, desired, stillDeferred, Date.now() - started);
      const revoked = new Set(plan.ops.flatMap((op) => (op.kind === 'revokeToken' ? [op.tokenId] : [])));
      const exists = !plan.ops.some((op) => op.kind === 'deleteTeam' || op.kind === 'forgetTeam') && (actual !== null || plan.ops.some((op) => op.kind === 'createTeam'));
      const event: TeamReconciledEvent = {
        team,
        reason: request.reason,
        requestId: request.requestId,
        plan,
        result,
        desired,
        tokens: exists ? (actual?.tokens ?? []).filter((t) => !revoked.has(t.id)) : [],
        exists,
      };
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
      for (const listener of this.listeners('teamReconciled')) {
        try {
          await (listener as (e: TeamReconciledEvent) => unknown)(event);
        } catch (err) {
          this.#opts.logger.warn('teamReconciled listener failed', { team, err: (err as Error).message });
        }
      }
      return { plan, result };
    });
  }

  /** Records a failed reconcile; `permanent` marks the team degraded until a success. */
  async recordFailure(team: string, request: { reason: string; requestId?: string }, err: Error, permanent: boolean, durationMs: number): Promise<void> {
    const message = `${err.name}: ${err.message}`.slice(0, 1000);
    await this.#opts.db('team_status')
      .insert({
        team,
        last_reconcile_at: this.#opts.db.fn.now(),
        last_outcome: permanent ? 'degraded' : 'error',
        last_error: message,
        last_reason: request.reason,
        last_request_id: request.requestId ?? null,
        last_duration_ms: durationMs,
        ...(permanent ? { degraded: true, degraded_reason: message, degraded_at: this.#opts.db.fn.now() } : {}),
      })
      .onConflict('team')
      .merge();
  }

  async #read(team: string, record: boolean): Promise<{ plan: Plan; desired: DesiredTeam | null; actual: ActualTeam | null; deferred: Set<string> }> {
    const { db, client } = this.#opts;
    const policy = this.#opts.policy.current;
    const org = this.org;
    const stacks = await this.#stacks.get();
    const directory = await readDirectory(db, policy, stacks, [team]);
    if (record) await recordIdentities(db, policy, directory.users);
    const desired = directory.teams.get(team) ?? null;
    const owned = Boolean(await db('owned_teams').where('name', team).first('name'));
    const actual = await readActualTeam(client, org, team, owned);
    const identities = await identitiesFor(db, actual?.tokens.map((t) => t.createdBy) ?? []);
    const deferred = new Set<string>(
      (
        await db('pending_users')
          .where('team', team)
          .where('last_attempt_at', '>', db.raw(`now() - (? || ' milliseconds')::interval`, [String(this.#opts.pendingRetryMs ?? 300_000)]))
          .select('login_lower')
      ).map((r: { login_lower: string }) => r.login_lower),
    );
    const needsRoster = desired !== null && [...desired.members.keys()].some((l) => !actual?.members.some((m) => m.toLowerCase() === l));
    const input: PlanInput = {
      team,
      desired,
      actual,
      owned,
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

  async #recordSuccess(
    team: string,
    request: ReconcileRequest,
    plan: Plan,
    result: ApplyResult,
    desired: DesiredTeam | null,
    deferred: string[],
    durationMs: number,
  ): Promise<void> {
    const { db } = this.#opts;
    await db.transaction(async (trx) => {
      if (desired && plan.management !== 'none') {
        await trx('team_groups').where('team', team).whereNotIn('group_id', desired.groups.map((g) => g.id)).delete();
        await trx('team_groups')
          .insert(desired.groups.map((g) => ({ team, group_id: g.id, seen_at: trx.fn.now() })))
          .onConflict(['team', 'group_id'])
          .merge(['seen_at']);
      }
      const pendingNow = new Set(result.pending.map((p) => p.login.toLowerCase()));
      await trx('pending_users').where('team', team).whereNotIn('login_lower', [...pendingNow, ...deferred]).delete();
      for (const p of result.pending) {
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
          last_outcome: 'success',
          last_error: null,
          last_reason: request.reason,
          last_request_id: request.requestId ?? null,
          last_ops: plan.ops.length,
          last_duration_ms: durationMs,
          management: plan.management,
          degraded: false,
          degraded_reason: null,
          degraded_at: null,
          notes: JSON.stringify(plan.notes),
        })
        .onConflict('team')
        .merge();
    });
  }

  /**
   * A session-level advisory lock on a dedicated connection for the whole reconcile: the
   * queue's deduplication keeps one job per team, the lock also covers a stalled job that
   * was re-delivered while its first run still goes on.
   */
  async #withTeamLock<T>(team: string, fn: () => Promise<T>): Promise<T> {
    const db = this.#opts.lockDb ?? this.#opts.db;
    const conn = await db.client.acquireConnection();
    try {
      const got = await conn.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NAMESPACE, team]);
      if (!got.rows[0].ok) throw new TeamBusyError(`team ${team} is being reconciled by another worker`);
      try {
        return await fn();
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, team]);
      }
    } finally {
      await db.client.releaseConnection(conn);
    }
  }
}

/** The team as Pulumi has it, with its tokens when the daemon may revoke them. */
export async function readActualTeam(client: PulumiClient, org: string, team: string, owned: boolean): Promise<ActualTeam | null> {
  const t = await client.getTeam(org, team);
  if (!t) return null;
  const tokens = owned && t.kind === 'pulumi' ? await client.listTeamTokens(org, team) : [];
  return {
    name: t.name,
    kind: t.kind,
    displayName: t.displayName,
    description: t.description,
    members: (t.members ?? []).map((m) => m.githubLogin),
    grants: (t.stacks ?? []).map((s) => ({ projectName: s.projectName, stackName: s.stackName, permission: s.permission })),
    tokens,
  };
}

/** Identities of token creators; when a login maps to several users, a live one wins. */
async function identitiesFor(db: Db, logins: string[]): Promise<Map<string, IdentityRecord>> {
  const out = new Map<string, IdentityRecord>();
  if (logins.length === 0) return out;
  const rows: Array<{ user_id: string; login_lower: string; state: IdentityRecord['state'] }> = await db('identities')
    .whereIn('login_lower', [...new Set(logins.map((l) => l.toLowerCase()))])
    .select('user_id', 'login_lower', 'state');
  const rank = { active: 0, inactive: 1, deleted: 2 };
  for (const r of rows) {
    const current = out.get(r.login_lower);
    if (!current || rank[r.state] < rank[current.state]) out.set(r.login_lower, { userId: r.user_id, state: r.state });
  }
  return out;
}

export { TOKEN_TEAM_PREFIX };
