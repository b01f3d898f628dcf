import type { Db } from '../directory/db';
import { createScimClient, listScimClients, revokeScimClient, rotateScimToken, ScimClientError } from '../directory';
import type { Policy } from '../policy';
import { queryAudit, readStatus } from '../reconcile';
import type { AuditCategory } from '../reconcile';
import { QUEUE, QueueFactory } from '../queue';
import { httpStatusOfTokenError, issueToken, listTokens, revokeToken, TokenDeps, TokenError } from '../tokens';
import { ConsoleForbiddenError, ConsoleInputError, ConsoleScimClients, ConsoleSources, ConsoleSync, ConsoleTokens } from './sources';

/**
 * Builds the console's data sources from the parts that own the data, through their index.ts
 * only. Whatever the caller cannot supply (no reconciler in this process, no Pulumi client for
 * tokens) stays absent, and the console says so on the page.
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

/** Token errors caused by the person become messages on the page; the rest stay errors. */
function asConsoleError(err: unknown): unknown {
  if (err instanceof TokenError) {
    const status = httpStatusOfTokenError(err);
    if (status === 403) return new ConsoleForbiddenError(err.message);
    if (status < 500) return new ConsoleInputError(err.message);
  }
  if (err instanceof ScimClientError) return new ConsoleInputError(err.message);
  return err;
}

async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asConsoleError(err);
  }
}

export function tokensSource(deps: TokenDeps): ConsoleTokens {
  return {
    async listForOwner(owner) {
      const views = await listTokens(deps, { ownerUserName: owner, includeInactive: true });
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
    issue: (input) => translated(() => issueToken(deps, input)),
    revoke: (id, reason) => translated(async () => void (await revokeToken(deps, id, reason))),
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
    create: (name) => translated(async () => ({ token: (await createScimClient(db, name)).token })),
    rotate: (name) =>
      translated(async () => {
        const rotated = await rotateScimToken(db, name, graceSeconds);
        return { token: rotated.token, previousValidUntil: iso(rotated.previousValidUntil ?? null) };
      }),
    revoke: (name) => translated(() => revokeScimClient(db, name)),
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
