import { personById, type Db } from '../directory';
import type { Logger } from '../log';
import { isManageableTeamName, type PolicyStore } from '../policy';
import type { PulumiClient } from '../pulumi';
import { createTokenAuditWriter, parentGrantsOf, teamMembershipView, type Reconciler, type ReconcileRequest, type TeamReconcileOutcome } from '../reconcile';
import type { PersonState, TokenDeps, TokenIssueCaps, TokensController } from '../tokens';

/** What the tokens part needs, built from the reconciler's answers and the directory. */
export function createTokenDeps(options: {
  db: Db;
  pulumi: PulumiClient;
  policy: PolicyStore;
  reconciler: Reconciler;
  logger: Logger;
  issueCaps?: TokenIssueCaps;
}): TokenDeps {
  const { db, pulumi, policy, reconciler, logger } = options;
  return {
    ...(options.issueCaps ? { issueCaps: options.issueCaps } : {}),
    db,
    pulumi,
    get org() {
      return policy.current.organization;
    },
    policy,
    access: {
      ...teamMembershipView(db, policy, reconciler),
      personState: async (userId): Promise<PersonState> => {
        const user = await personById(db, userId);
        return !user ? 'deleted' : user.active ? 'active' : 'deactivated';
      },
    },
    audit: createTokenAuditWriter(db),
    logger: logger.child({ category: 'tokens' }),
  };
}

/**
 * What a `team` job runs: the team reconcile, then the tokens controller's team step on what
 * it applied and saw. One job, one key: a failure of either step fails the job, which BullMQ
 * retries, and both steps re-read current state when they run again.
 */
export function reconcileTeamWithTokens(reconciler: Reconciler, tokens: TokensController) {
  return async (request: ReconcileRequest): Promise<TeamReconcileOutcome> => {
    const outcome = await reconciler.reconcileTeam(request);
    // Observe mode writes nothing to Pulumi, tokens included.
    if (!isManageableTeamName(request.team) || outcome.observed) return outcome;
    const managed = outcome.exists && outcome.desired !== null;
    await tokens.team({
      team: request.team,
      tokens: outcome.tokens,
      grants: managed && outcome.desired ? parentGrantsOf(outcome.desired) : null,
      requestId: request.requestId ?? null,
      requestedAt: Number.isFinite(request.at) ? new Date(request.at as number) : null,
      heldOwners: outcome.heldUserIds,
    });
    return outcome;
  };
}

/**
 * The revoke lane's person step: the tokens controller revokes what the person may no longer
 * hold, then the reconciler takes a departed person out of the org (identity.removeFromOrg).
 */
export function personStepWithOrgRemoval(tokens: TokensController, reconciler: Reconciler): TokensController {
  return {
    ...tokens,
    async person(loss) {
      const result = await tokens.person(loss);
      await reconciler.reconcileOrgDepartures({ reason: 'identity-loss', requestId: loss.requestId ?? undefined, userId: loss.userId });
      return result;
    },
    async people(losses) {
      const results = await tokens.people(losses);
      return Promise.all(
        results.map(async (result, i) => {
          if (result.status === 'rejected') return result;
          const loss = losses[i];
          try {
            await reconciler.reconcileOrgDepartures({ reason: 'identity-loss', requestId: loss.requestId ?? undefined, userId: loss.userId });
            return result;
          } catch (reason) {
            return { status: 'rejected', reason } as const;
          }
        }),
      );
    },
  };
}
