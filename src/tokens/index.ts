/**
 * Dependent tokens: the ledger of tokens this daemon issues, scoped tokens on private teams,
 * and the controller that revokes or narrows tokens when people or grants go away.
 *
 * - `fate.ts` decides every token's fate (keep, narrow, revoke, with the reason); the team
 *   reconcile's plan asks it about creator-bound tokens too.
 * - `createTokensController(deps)`: the keyed reconciles (person, team) and the sweep.
 * - `startRevokeLaneWorker`: the `revoke` queue's worker, which runs the person key and the sweep.
 * - `issueToken`, `listTokens`, `getTokenView`, `revokeToken`: the admin API and the console.
 * - `listLiveTokens`: every live token of some teams, with Pulumi's created, last-used and expiry (the access review).
 *
 * What it needs from the rest of the daemon is `TokenDeps` (ports.ts); src/runtime builds it.
 */
export { issueToken, listTokens, getTokenView, revokeToken, issueRequestSchema, toView, ownerIdOf } from './service';
export type { IssueRequest, IssuedToken, TokenView } from './service';
export { TokenError, httpStatusOfTokenError } from './errors';
export type { TokenErrorCode } from './errors';
export type { TokenDeps, TeamAccessView, TokenAuditEntry, TokenAuditWriter, TokenAuditAction, TokenIssueCaps } from './ports';
export { DEFAULT_ISSUE_CAPS } from './ports';
export { creatorBoundFate, creatorRevokeReason, ledgerTokenFate, lossReason } from './fate';
export type { CreatorFacts, CreatorRevokeWhy, Fate, PersonState } from './fate';
export { createTokensController } from './controller';
export type { TokensController } from './controller';
export { reconcileDependentTokens } from './team-tokens';
export type { TeamReconciled, DependentTokensResult } from './team-tokens';
export { revokeForIdentityLoss, revokeEveryTokenOf } from './lane';
export type { IdentityLoss, IdentityLossResult, EveryTokenCause } from './lane';
export { sweepTokens } from './sweep';
export type { SweepResult } from './sweep';
export { isIssuedName, privateTeamName } from './naming';
export { intersectScope, fromTeamEnvironments, fromTeamStacks, scopeText } from './scope';
export type { EnvironmentGrant, EnvironmentScopeEntry, GrantView, PermissionName, ScopeEntry, StackGrant, StackScopeEntry, TokenGrant } from './scope';
export type { TokenFilter, LedgerToken, TokenListing } from './ledger';
export { TOKEN_LISTINGS } from './ledger';
export { startRevokeLaneWorker, SWEEP_JOB } from './worker';
export { listLiveTokens, mergeTokenInventory } from './inventory';
export type { InventoryToken } from './inventory';
export type { RevokeLaneOptions, RevokeLaneWorker } from './worker';
