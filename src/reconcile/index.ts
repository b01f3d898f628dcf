/**
 * The reconciler: SCIM groups → Pulumi teams, members and stack grants (docs/architecture.md).
 *
 * - `plan(input)`: pure; ordered ops (shrinking access first). `applyPlan` executes them.
 * - `computeDesiredTeams(db, policy, stacks, teams?)`: desired members (logins with SCIM
 *   user ids) and grants per mapped team, read-only.
 * - `Reconciler`: `reconcileTeam({team, reason, requestId})` under a per-team advisory lock,
 *   returning what it did and saw (the tokens controller's team step follows it in the same
 *   job, composed in src/runtime); `planTeam(team)` / `planAll()`: dry runs.
 * - `teamMembershipView(...)`: the answers about teams the tokens controller asks.
 * - `teamsByGroupId`, `recordIdentityChanges`: what an outbox batch means for teams and logins.
 * - `createReconcileWorker(...)`, `upsertDriftSchedule(queues, policy)`: the job side.
 * - `readStatus(db, queues)`, `queryAudit(db, query)`, `createTokenAuditWriter(db)`,
 *   `recordAdminAction(conn, action)` (who did what, through which channel);
 *   `verifyAuditChain(db)`, `anchorAuditHead(db)`, `startAuditAnchoring(...)`: the log's hash
 *   chain (docs/audit.md).
 * - `listHolds`, `getHold`, `decideHoldAudited`: removals waiting for an admin.
 * - `explainAccess(facts, filter)`: pure; every path that gives a person a permission on a stack
 *   (group → rule → team, token → team, org default) and the effective one; `readAccessFacts`
 *   reads its input, `findAccessPerson` resolves an id, userName or login (docs/access-review.md).
 * - `describeOp(op)`: one op as a line a person reads; `presentPlan(plan)`: a plan as the admin API,
 *   the CLI and the console show it (levels by name, each op with its line).
 *
 * Teams whose name starts with `pis-tok-` (scoped-token teams, owned by src/tokens) are
 * never reconciled here.
 */
export { plan, OP_ORDER, writeCallsOf } from './plan';
export { applyPlan } from './apply';
export type { ApplyResult, ApplyContext, PendingUser } from './apply';
export { computeDesiredTeams, isActiveMember, readDirectory } from './desired';
export { Reconciler } from './reconciler';
export type { ReconcilerOptions, ReconcileRequest, TeamReconcileOutcome } from './reconciler';
export { TeamBusyError } from './team-lock';
export { readActualTeam } from './actual';
export { parentGrantsOf, teamMembershipView } from './access-view';
export type { TeamMembershipView } from './access-view';
export { createReconcileWorker, upsertDriftSchedule, DRIFT_SCHEDULER_ID, PENDING_RETRY_REASON } from './worker';
export type { ReconcileWorkerOptions } from './worker';
export {
  queryAudit,
  createTokenAuditWriter,
  recordAdminAction,
  recordSignalAction,
  decideHoldAudited,
  verifyAuditChain,
  anchorAuditHead,
  startAuditAnchoring,
} from './audit';
export type {
  AuditEntry,
  AuditQuery,
  AuditCategory,
  SignalAuditEntry,
  AuditOutcome,
  AuditContext,
  AdminAction,
  AdminChannel,
  AuditVerdict,
} from './audit';
export { readStatus, countPendingUsers, countDegradedTeams, markStatusUnverified, UNVERIFIED } from './status';
export { listHolds, getHold, decideHold, countOpenHolds, HoldNotPendingError } from './holds';
export type { Hold, HoldStatus } from './holds';
export { listLoginConflicts, countLoginConflicts, identityLinkOf } from './identity-links';
export { planOrgRemovals, rosterOf } from './org-members';
export { guardRemovals, isGuardedRemoval, opKey } from './safety';
export type { SyncStatus, TeamStatus } from './status';
export { recordIdentities, markIdentitiesDeleted, recordIdentityChanges, teamsByGroupId } from './mapping';
export type * from './types';
export { describeOp, presentOp, presentPlan } from './describe';
export { explainAccess, orgDefaultGrant } from './access';
export type { AccessBinding, AccessFacts, AccessFilter, AccessPath, AccessPerson, AccessRow, AccessRule, AccessTokenFact, RuleRef } from './access';
export { findAccessPerson, readAccessFacts } from './access-facts';
export type { OpView, PlanView } from './describe';
