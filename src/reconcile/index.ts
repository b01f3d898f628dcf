/**
 * The reconciler: SCIM groups → Pulumi teams, members and stack grants (DESIGN.md).
 *
 * Stable interfaces other parts use:
 *
 * - `plan(input)`: pure; ordered ops (shrinking access first). `applyPlan` executes them.
 * - `computeDesiredTeams(db, policy, stacks, teams?)`: desired members (logins with SCIM
 *   user ids) and grants per mapped team, read-only.
 * - `isActiveMember(db, policy, team, login)`: whether a login is an active desired member.
 * - `Reconciler`:
 *   - `reconcileTeam({team, reason, requestId})` under a per-team advisory lock;
 *   - `planTeam(team)` / `planAll()`: dry run;
 *   - `accessView()`: `{desiredGrants(team), isActiveMember(userId, team), loginsOf(userId)}`
 *     for the tokens part (desiredGrants is null for teams the daemon does not own);
 *   - `on('teamReconciled', (e: TeamReconciledEvent) => …)`: runs after every successful team
 *     reconcile, inside the job, before it completes — `{team, reason, requestId, plan, result,
 *     desired, tokens (after this run's revocations), exists}`. A listener that throws is
 *     logged and does not fail the reconcile. The tokens part narrows scoped tokens and
 *     refreshes its token cache here.
 * - `createOutboxRelay(...)`: outbox → reconcile jobs per team, identity loss → revoke lane.
 * - `createReconcileWorker(...)`, `upsertDriftSchedule(queues, policy)`: the job side.
 * - `readStatus(db, queues)`, `queryAudit(db, query)`, `createTokenAuditWriter(db)`.
 * - `describeOp(op)`: one op as a line a person reads (the CLI's `plan` prints these).
 *
 * Teams whose name starts with `pis-tok-` (scoped-token teams, owned by src/tokens) are
 * never reconciled here.
 */
export { plan, OP_ORDER, writeCallsOf } from './plan';
export { applyPlan } from './apply';
export type { ApplyResult, ApplyContext, PendingUser } from './apply';
export { computeDesiredTeams, isActiveMember, readDirectory } from './desired';
export { Reconciler, TeamBusyError, readActualTeam } from './reconciler';
export type { ReconcilerOptions, ReconcileRequest, TeamReconciledEvent, TeamAccessView } from './reconciler';
export { createOutboxRelay, QueueUnavailableError } from './relay';
export type { OutboxRelay, OutboxRelayOptions } from './relay';
export { createReconcileWorker, upsertDriftSchedule, isPermanent, DRIFT_SCHEDULER_ID } from './worker';
export type { ReconcileWorkerOptions } from './worker';
export { queryAudit, createTokenAuditWriter } from './audit';
export type { AuditEntry, AuditQuery, AuditCategory, AuditOutcome, AuditContext } from './audit';
export { readStatus, countPendingUsers } from './status';
export type { SyncStatus } from './status';
export { recordIdentities, markIdentitiesDeleted } from './mapping';
export type * from './types';
export { describeOp } from './describe';
