/**
 * Dependent tokens: the ledger of tokens this daemon issues, scoped tokens on private teams,
 * and the rules that revoke or narrow tokens when people or grants go away.
 *
 * Entry points:
 *   - `issueToken`, `listTokens`, `getTokenView`, `revokeToken`: the admin API and the console;
 *   - `reconcileDependentTokens`: the reconciler's post-team-reconcile hook (narrowing, owner
 *     checks, token cache refresh);
 *   - `revokeForIdentityLoss`: the fast revoke lane's job;
 *   - `sweepTokens`: the scheduled expiry and crash-recovery sweep;
 *   - `startTokens`: wires all of it into a process (hook on the reconciler, fast-lane worker
 *     on the `revoke` queue, the `/api/v1/tokens` router).
 */
export { issueToken, listTokens, getTokenView, revokeToken, issueRequestSchema, toView } from './service';
export type { IssueRequest, IssuedToken, TokenView } from './service';
export { TokenError, httpStatusOfTokenError } from './errors';
export type { TokenErrorCode } from './errors';
export type { TokenDeps, TeamAccessView, TokenAuditEntry, TokenAuditWriter, TokenAuditAction } from './ports';
export { reconcileDependentTokens } from './narrow';
export type { TeamReconciled, DependentTokensResult } from './narrow';
export { revokeForIdentityLoss } from './lane';
export type { IdentityLoss, IdentityLossResult } from './lane';
export { sweepTokens } from './sweep';
export type { SweepResult } from './sweep';
export { PRIVATE_TEAM_PREFIX, isIssuedName, privateTeamName } from './naming';
export { intersectScope } from './scope';
export type { ScopeEntry, StackGrant, PermissionName } from './scope';
export type { TokenFilter, LedgerToken } from './ledger';
export { startRevokeLaneWorker, SWEEP_JOB } from './worker';
export type { RevokeLaneOptions } from './worker';
export { startTokens, createTokenDeps, attachToReconciler } from './wiring';
export type { TokensPart, StartTokensOptions, TokenDepsOptions } from './wiring';
export { tokensRouter } from '../web/api/tokens';
