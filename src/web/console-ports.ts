import type { Db } from '../directory/db';
import { createScimClient, listScimClients, peopleByIds, revokeScimClient, rotateScimToken } from '../directory';
import { readCharts } from '../history';
import type { OrgStack, Policy, TeamRule } from '../policy';
import { computeDesiredTeams, describeOp, identityLinkOf, listHolds, presentPlan, queryAudit, readStatus, recordAdminAction } from '../reconcile';
import type { AuditCategory, Hold, Plan } from '../reconcile';
import { QUEUE, type QueueFactory } from '../queue';
import { issueToken, listTokens, revokeToken, type TokenDeps, type TokenView } from '../tokens';
import type { SignalsAdmin } from './api/ssf';
import { createAccessService } from './access';
import { decideHoldAndReconcile } from './hold-decisions';
import type {
  ConsoleActor,
  ConsoleHolds,
  ConsoleHoldView,
  ConsoleScimClients,
  ConsoleSignals,
  ConsoleSources,
  ConsoleSync,
  ConsoleTeamView,
  ConsoleToken,
  ConsoleTokens,
} from './sources';

/**
 * Builds the console's data sources from the parts that own the data, through their index.ts
 * only. Whatever the caller cannot supply (no reconciler in this process, no Pulumi client for
 * tokens) stays absent, and the console says so on the page. The parts' errors pass through
 * unchanged: the console's error page answers them from the table in src/app/http-errors.ts.
 */

export interface ConsoleParts {
  db: Db;
  policy?: { readonly current: Policy };
  /** Everything the tokens part needs (Pulumi client, access view, audit writer). */
  tokenDeps?: TokenDeps;
  /** Queues for status depths and the BullMQ dashboard. */
  queues?: QueueFactory;
  /** Dry run over every team (the reconciler's `planAll`). */
  planAll?: () => Promise<Plan[]>;
  /** How long the previous SCIM token stays valid after a rotation, seconds. @defaultValue 86400 */
  scimRotationGraceSeconds?: number;
  /** The org's stacks the policy's globs resolve against (the reconciler's `orgStacks`), for the access view and team pages. */
  orgStacks?: () => Promise<OrgStack[]>;
  /** The Shared Signals receiver, when it is on. */
  signals?: SignalsAdmin;
}

function consoleToken(t: TokenView): ConsoleToken {
  return {
    id: t.id,
    owner: t.owner,
    team: t.team,
    kind: t.kind,
    pulumiTeam: t.pulumiTeam,
    scope: t.scope,
    description: t.description,
    state: t.state,
    expiresAt: t.expiresAt,
    createdAt: t.createdAt,
    revokedAt: t.revokedAt,
    revokeReason: t.revokeReason,
  };
}

export function tokensSource(deps: TokenDeps): ConsoleTokens {
  return {
    async listForOwner(owner) {
      return (await listTokens(deps, { ownerUserId: owner, state: 'all' })).map(consoleToken);
    },
    issue: (input) => issueToken(deps, input),
    async revoke(id, reason) {
      await revokeToken(deps, id, reason);
    },
  };
}

export function syncSource(db: Db, queues: QueueFactory | undefined, planAll: (() => Promise<Plan[]>) | undefined): ConsoleSync {
  return {
    status: () => readStatus(db, queues),
    audit: (filter) =>
      queryAudit(db, {
        person: filter.person,
        team: filter.team,
        category: filter.category as AuditCategory | undefined,
        op: filter.op,
        requestId: filter.requestId,
        since: filter.since,
        until: filter.until,
        cursor: filter.cursor,
        limit: filter.limit,
      }),
    ...(planAll ? { plan: async () => (await planAll()).map(presentPlan) } : {}),
  };
}

/** A console action's audit entry: the person's userName is the actor, their id goes in the detail. */
function auditConsole(db: Db, op: string, by: ConsoleActor, entry: { subject: string; detail?: Record<string, unknown> }): Promise<void> {
  return recordAdminAction(db, { op, subject: entry.subject, actor: by.userName, channel: 'console', detail: { ...entry.detail, personId: by.id } });
}

export function scimClientsSource(db: Db, graceSeconds: number): ConsoleScimClients {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    async list() {
      return (await listScimClients(db)).map((c) => ({
        name: c.name,
        createdAt: new Date(c.createdAt).toISOString(),
        revokedAt: iso(c.revokedAt),
        tokens: c.tokens.map((t) => ({
          id: t.id,
          last4: t.last4,
          createdAt: new Date(t.createdAt).toISOString(),
          expiresAt: iso(t.expiresAt),
          revokedAt: iso(t.revokedAt),
          lastUsedAt: iso(t.lastUsedAt),
        })),
      }));
    },
    async create(name, by) {
      const created = await createScimClient(db, name);
      await auditConsole(db, 'scim-client.create', by, { subject: created.clientName });
      return { token: created.token };
    },
    async rotate(name, by) {
      const rotated = await rotateScimToken(db, name, graceSeconds);
      const previousValidUntil = iso(rotated.previousValidUntil ?? null);
      await auditConsole(db, 'scim-client.rotate', by, { subject: rotated.clientName, detail: { previousValidUntil } });
      return { token: rotated.token, previousValidUntil };
    },
    async revoke(name, by) {
      await revokeScimClient(db, name);
      await auditConsole(db, 'scim-client.revoke', by, { subject: name });
    },
  };
}

function holdView(hold: Hold): ConsoleHoldView {
  const { id, team, reason, removals, revocations, createdAt } = hold;
  return { id, team, reason, removals, revocations, createdAt, ops: hold.ops.map(describeOp) };
}

export function holdsSource(db: Db, queues: QueueFactory | undefined): ConsoleHolds {
  return {
    pending: async () => (await listHolds(db)).map(holdView),
    decide: async (id, decision, by) =>
      holdView(await decideHoldAndReconcile({ db, queues }, id, decision, { name: by.userName, channel: 'console', detail: { personId: by.id } })),
  };
}

/** Pulumi's permission levels by name (docs/pulumi-api.md, "Permission levels"). */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 101: 'read', 102: 'write', 103: 'admin' };

/** What a rule matches, as its policy file says it. */
function ruleMatch(rule: TeamRule): string {
  if (rule.match.kind === 'group') return `group "${rule.match.name}"`;
  if (rule.match.kind === 'externalId') return `group externalId ${rule.match.externalId}`;
  return `groupPattern /${rule.match.re.source}/`;
}

/** How many recent audit entries a team page shows. */
const TEAM_AUDIT_ENTRIES = 20;

export function teamsSource(db: Db, policy: { readonly current: Policy }, orgStacks: () => Promise<OrgStack[]>): NonNullable<ConsoleSources['teams']> {
  return {
    async view(team): Promise<ConsoleTeamView | undefined> {
      const current = policy.current;
      const [desired, status, audit, tokens] = await Promise.all([
        orgStacks().then((stacks) => computeDesiredTeams(db, current, stacks, [team])),
        readStatus(db),
        queryAudit(db, { team, limit: TEAM_AUDIT_ENTRIES }),
        listTokens({ db }, { parentTeam: team, state: 'active' }),
      ]);
      const wanted = desired.get(team);
      const teamStatus = status.teams.find((t) => t.team === team) ?? null;
      if (!wanted && !teamStatus) return undefined;
      const boundKeys = new Set((wanted?.groups ?? []).map((g) => g.ruleKey));
      const rules = current.rules.filter((r) => r.team === team || boundKeys.has(r.key));
      const members = [...(wanted?.members.values() ?? [])];
      const people = new Map(
        (
          await peopleByIds(
            db,
            members.map((m) => m.userId),
          )
        ).map((p) => [p.id, p.user_name]),
      );
      return {
        team,
        rules: rules.map((r) => ({ file: current.file, line: r.line ?? null, match: ruleMatch(r) })),
        groups: (wanted?.groups ?? []).map((g) => ({ id: g.id, displayName: g.displayName })),
        members: members
          .map((m) => ({ userId: m.userId, userName: people.get(m.userId) ?? null, login: m.login }))
          .sort((a, b) => a.login.localeCompare(b.login)),
        grants: [...(wanted?.grants.values() ?? [])]
          .map((g) => ({ stack: `${g.projectName}/${g.stackName}`, permission: LEVEL_NAMES[g.permission] ?? String(g.permission) }))
          .sort((a, b) => a.stack.localeCompare(b.stack)),
        tokens: tokens.map(consoleToken),
        status: teamStatus,
        pending: status.pendingUsers.filter((p) => p.team === team).map((p) => ({ login: p.login, reason: p.reason, firstSeenAt: p.firstSeenAt })),
        audit: audit.entries,
      };
    },
  };
}

export function signalsSource(signals: SignalsAdmin): ConsoleSignals {
  return {
    async status() {
      const { transmitter, stream } = (await signals.status()) as { transmitter: string; stream: Record<string, unknown> | null };
      if (!stream) return { transmitter, stream, transmitterStatus: null, transmitterError: null };
      // The transmitter's own word on the stream (enabled, paused, disabled); unreachable is shown, not thrown.
      try {
        const shown = await signals.manager.show();
        return { transmitter, stream, transmitterStatus: shown.status, transmitterError: null };
      } catch (err) {
        return { transmitter, stream, transmitterStatus: null, transmitterError: (err as Error).message };
      }
    },
  };
}

export function consoleSourcesFrom(parts: ConsoleParts): ConsoleSources {
  return {
    policy: parts.policy,
    tokens: parts.tokenDeps ? tokensSource(parts.tokenDeps) : undefined,
    sync: syncSource(parts.db, parts.queues, parts.planAll),
    scimClients: scimClientsSource(parts.db, parts.scimRotationGraceSeconds ?? 86_400),
    holds: holdsSource(parts.db, parts.queues),
    identity: { linkOf: (userId) => identityLinkOf(parts.db, userId) },
    access: parts.orgStacks ? createAccessService({ db: parts.db, policy: parts.policy, orgStacks: parts.orgStacks, tokens: parts.tokenDeps }) : undefined,
    queues: parts.queues ? [parts.queues.queue(QUEUE.reconcile), parts.queues.queue(QUEUE.revoke)] : undefined,
    history: { charts: (range) => readCharts(parts.db, range) },
    teams: parts.policy && parts.orgStacks ? teamsSource(parts.db, parts.policy, parts.orgStacks) : undefined,
    signals: parts.signals ? signalsSource(parts.signals) : undefined,
  };
}
