import type { Db } from '../directory/db';
import { createScimClient, listScimClients, revokeScimClient, rotateScimToken } from '../directory';
import type { OrgStack, Policy } from '../policy';
import { describeOp, identityLinkOf, listHolds, presentPlan, queryAudit, readStatus, recordAdminAction } from '../reconcile';
import type { AuditCategory, Hold, Plan } from '../reconcile';
import { QUEUE, type QueueFactory } from '../queue';
import { issueToken, listTokens, revokeToken, type TokenDeps } from '../tokens';
import { createAccessService } from './access';
import { decideHoldAndReconcile } from './hold-decisions';
import type { ConsoleActor, ConsoleHolds, ConsoleHoldView, ConsoleScimClients, ConsoleSources, ConsoleSync, ConsoleTokens } from './sources';

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
  /** The org's stacks (the reconciler's `orgStacks`), for the access view. */
  orgStacks?: () => Promise<OrgStack[]>;
  /** How long the previous SCIM token stays valid after a rotation, seconds. @defaultValue 86400 */
  scimRotationGraceSeconds?: number;
}

export function tokensSource(deps: TokenDeps): ConsoleTokens {
  return {
    async listForOwner(owner) {
      const views = await listTokens(deps, { ownerUserId: owner, state: 'all' });
      return views.map((t) => ({
        id: t.id,
        owner: t.owner,
        team: t.team,
        kind: t.kind,
        pulumiTeam: t.pulumiTeam,
        scope: t.scope?.map((s) => ({ project: s.project, stack: s.stack, ...(s.permission ? { permission: s.permission } : {}) })) ?? null,
        description: t.description,
        state: t.state,
        expiresAt: t.expiresAt,
        createdAt: t.createdAt,
        revokedAt: t.revokedAt,
        revokeReason: t.revokeReason,
      }));
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
  };
}
