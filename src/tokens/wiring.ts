import type { Router } from 'express';
import type { Db } from '../directory/db';
import type { Logger } from '../log';
import type { PolicyStore } from '../policy';
import type { PulumiClient } from '../pulumi';
import type { QueueFactory } from '../queue';
import { createTokenAuditWriter, Reconciler, TeamReconciledEvent } from '../reconcile';
import { tokensRouter } from '../web/api/tokens';
import { reconcileDependentTokens } from './narrow';
import type { TokenDeps } from './ports';
import { fromTeamStacks } from './scope';
import { startRevokeLaneWorker, RevokeLaneOptions } from './worker';

/**
 * How the tokens part plugs into a daemon or worker process: its dependencies built from the
 * reconciler (access view, audit writer), the post-team-reconcile hook, the fast-lane worker,
 * and the admin API router.
 */

export interface TokenDepsOptions {
  db: Db;
  /**
   * The Pulumi client the tokens part calls. Give the fast lane a client of its own: the
   * client's per-org limiter serves callers in arrival order, and a revoke must not queue
   * behind a large reconcile's calls.
   */
  pulumi: PulumiClient;
  policy: PolicyStore;
  reconciler: Reconciler;
  logger: Logger;
}

export function createTokenDeps(options: TokenDepsOptions): TokenDeps {
  const { db, pulumi, policy, reconciler, logger } = options;
  return {
    db,
    pulumi,
    get org() {
      return policy.current.organization;
    },
    policy,
    access: reconciler.accessView(),
    audit: createTokenAuditWriter(db),
    logger: logger.child({ category: 'tokens' }),
  };
}

/**
 * When the SCIM request that caused a reconcile committed: its earliest outbox row. Null for
 * reconciles no SCIM request caused (drift, admin) or once the row was pruned.
 */
async function requestCommittedAt(db: Db, requestId: string | undefined): Promise<Date | null> {
  if (!requestId) return null;
  const row = (await db('outbox').where('request_id', requestId).min('created_at as at').first()) as { at: Date | null } | undefined;
  return row?.at ?? null;
}

/**
 * Subscribes the tokens part to every successful team reconcile: narrowing and owner checks
 * of that team's ledger tokens run inside the same job, right after the team was applied.
 * Returns the unsubscribe function.
 */
export function attachToReconciler(reconciler: Reconciler, deps: TokenDeps): () => void {
  const listener = async (event: TeamReconciledEvent): Promise<void> => {
    const managed = event.exists && event.desired !== null;
    await reconcileDependentTokens(deps, {
      team: event.team,
      tokens: event.tokens,
      grants: managed && event.desired ? fromTeamStacks([...event.desired.grants.values()]) : null,
      requestId: event.requestId ?? null,
      requestedAt: await requestCommittedAt(deps.db, event.requestId),
    });
  };
  reconciler.on('teamReconciled', listener);
  return () => void reconciler.off('teamReconciled', listener);
}

export interface TokensPart {
  deps: TokenDeps;
  /** Mount at `/tokens` of the admin API (behind its ADMIN_API_TOKEN check). */
  router: Router;
  stop(): void;
}

export interface StartTokensOptions extends TokenDepsOptions {
  queues: QueueFactory;
  /** Run the fast-lane worker in this process. @defaultValue true */
  runWorker?: boolean;
  /** The fast lane's own Pulumi client (see `pulumi`); defaults to `pulumi`. */
  lanePulumi?: PulumiClient;
  lane?: RevokeLaneOptions;
}

/** Wires the tokens part into a process: hook, fast-lane worker (optional), router. */
export async function startTokens(options: StartTokensOptions): Promise<TokensPart> {
  const deps = createTokenDeps(options);
  const detach = attachToReconciler(options.reconciler, deps);
  if (options.runWorker ?? true) {
    const laneDeps = options.lanePulumi ? createTokenDeps({ ...options, pulumi: options.lanePulumi }) : deps;
    startRevokeLaneWorker(options.queues, laneDeps, options.lane);
  }
  return { deps, router: tokensRouter(deps), stop: detach };
}
