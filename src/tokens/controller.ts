import { type IdentityLoss, type IdentityLossResult, revokeForIdentityLoss, revokeForIdentityLosses } from './lane';
import type { TokenDeps } from './ports';
import { sweepTokens, type SweepResult } from './sweep';
import { reconcileDependentTokens, type DependentTokensResult, type TeamReconciled } from './team-tokens';

/**
 * The tokens controller: one reconcile per key, each re-reading current state, each asking
 * `fate.ts` what becomes of a token.
 *
 * - `person`, `people`: someone lost access (deactivated, deleted, left a group) — the revoke
 *   lane's job, taken in batches.
 * - `team`: a parent team was just reconciled — narrow, revoke or keep each ledger token on it,
 *   and refresh the team's token cache the lane reads.
 * - `sweep`: expired tokens, and revocations or issuances a crash left half-done.
 */
export interface TokensController {
  person(loss: IdentityLoss): Promise<IdentityLossResult>;
  /** `person` for a batch of people at once: one outcome per loss, in order. */
  people(losses: IdentityLoss[]): Promise<Array<PromiseSettledResult<IdentityLossResult>>>;
  team(event: TeamReconciled): Promise<DependentTokensResult>;
  sweep(): Promise<SweepResult>;
}

export function createTokensController(deps: TokenDeps): TokensController {
  return {
    person: (loss) => revokeForIdentityLoss(deps, loss),
    people: (losses) => revokeForIdentityLosses(deps, losses),
    team: (event) => reconcileDependentTokens(deps, event),
    sweep: () => sweepTokens(deps),
  };
}
