import type { Db } from '../directory/db';
import { createScimClient, listScimClients, revokeScimClient, rotateScimToken } from '../directory';
import type { Policy } from '../policy';
import { queryAudit, readStatus } from '../reconcile';
import type { AuditCategory } from '../reconcile';
import { QUEUE, QueueFactory } from '../queue';
import { issueToken, listTokens, revokeToken, TokenDeps } from '../tokens';
import { ConsoleScimClients, ConsoleSources, ConsoleSync, ConsoleTokens } from './sources';

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
  planAll?: () => Promise<unknown>;
  /** How long the previous SCIM token stays valid after a rotation, seconds. @defaultValue 86400 */
  scimRotationGraceSeconds?: number;
}

export function tokensSource(deps: TokenDeps): ConsoleTokens {
  return {
    async listForOwner(owner) {
      const views = await listTokens(deps, { ownerUserId: owner, includeInactive: true });
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

export function syncSource(db: Db, queues: QueueFactory | undefined, planAll: (() => Promise<unknown>) | undefined): ConsoleSync {
  return {
    status: () => readStatus(db, queues),
    async audit(filter) {
      const { entries } = await queryAudit(db, {
        team: filter.team,
        category: filter.category as AuditCategory | undefined,
        op: filter.op,
        requestId: filter.requestId,
        since: filter.since,
        until: filter.until,
        limit: filter.limit,
      });
      return entries;
    },
    ...(planAll ? { plan: planAll } : {}),
  };
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
    create: async (name) => ({ token: (await createScimClient(db, name)).token }),
    async rotate(name) {
      const rotated = await rotateScimToken(db, name, graceSeconds);
      return { token: rotated.token, previousValidUntil: iso(rotated.previousValidUntil ?? null) };
    },
    revoke: (name) => revokeScimClient(db, name),
  };
}

export function consoleSourcesFrom(parts: ConsoleParts): ConsoleSources {
  return {
    policy: parts.policy,
    tokens: parts.tokenDeps ? tokensSource(parts.tokenDeps) : undefined,
    sync: syncSource(parts.db, parts.queues, parts.planAll),
    scimClients: scimClientsSource(parts.db, parts.scimRotationGraceSeconds ?? 86_400),
    queues: parts.queues ? [parts.queues.queue(QUEUE.reconcile), parts.queues.queue(QUEUE.revoke)] : undefined,
  };
}
