import { narrowsEnvironment } from './plan-environments';
import type { IdentityRecord, Op } from './types';

/**
 * The guard against mass change (docs/live-org.md): a person who left is always cut off at
 * once; removals of access from people who are still active wait for an admin when there are
 * many. Pure: the reconciler gathers the counts and the admin decisions.
 */

/** A stable name for an op, to match it against what an admin approved or rejected. */
export function opKey(op: Op): string {
  switch (op.kind) {
    case 'revokeToken':
      return `revokeToken:${op.team}:${op.tokenId}`;
    case 'removeMember':
      return `removeMember:${op.team}:${op.login.toLowerCase()}`;
    case 'narrowGrant':
    case 'removeGrant':
      return `${op.kind}:${op.team}:${op.projectName}/${op.stackName}`;
    case 'unassignTeamRole':
      return `unassignTeamRole:${op.team}:${op.roleId}`;
    case 'removeEnvironment':
    case 'editEnvironmentPermission':
    case 'addEnvironmentPermission':
      return `${op.kind}:${op.team}:${op.projectName}/${op.envName}`;
    case 'deleteTeam':
      return `deleteTeam:${op.team}`;
    case 'relinkLogin':
      return `relinkLogin:${op.userId}:${op.to.toLowerCase()}`;
    default:
      return `${op.kind}:${'team' in op ? op.team : ''}:${'login' in op ? op.login.toLowerCase() : ''}`;
  }
}

/**
 * Whether an op takes access away from someone the directory still calls active: a member
 * removed while active (or unknown to the directory), a grant removed or narrowed, a token
 * revoked for any reason but its creator's deactivation or deletion, a team deleted, an
 * environment grant removed or lowered.
 */
export function isGuardedRemoval(op: Op, identityOf: (login: string) => IdentityRecord | undefined): boolean {
  switch (op.kind) {
    case 'removeMember': {
      const state = identityOf(op.login.toLowerCase())?.state;
      return state !== 'inactive' && state !== 'deleted';
    }
    case 'revokeToken':
      return op.why !== 'creator-deactivated' && op.why !== 'creator-deleted';
    case 'narrowGrant':
    case 'removeGrant':
    case 'removeEnvironment':
    case 'deleteTeam':
    case 'unassignTeamRole':
      return true;
    case 'demoteMember': {
      const state = identityOf(op.login.toLowerCase())?.state;
      return state !== 'inactive' && state !== 'deleted';
    }
    case 'editEnvironmentPermission':
      return narrowsEnvironment(op);
    default:
      return false;
  }
}

export interface GuardInput {
  ops: readonly Op[];
  identityOf: (login: string) => IdentityRecord | undefined;
  maxRemovals: number;
  /** Guarded removals applied across the org within the safety window. */
  recentRemovals: number;
  /** Keys of ops an admin approved: applied whatever the count. */
  approved: ReadonlySet<string>;
  /** Keys of ops an admin rejected: never applied while they stay planned. */
  rejected: ReadonlySet<string>;
}

export interface GuardedPlan {
  /** What runs now: everything but the held and rejected ops, in plan order. */
  apply: Op[];
  /** Guarded removals that wait for approval. */
  held: Op[];
  /** Ops left out because an admin rejected them. */
  rejected: Op[];
  /** Keys of the guarded removals in `apply` (the audit log counts them for the window). */
  guardedKeys: Set<string>;
  /** Why `held` is not empty. */
  reason?: string;
}

export function guardRemovals(input: GuardInput): GuardedPlan {
  const { ops, maxRemovals, recentRemovals, approved, rejected } = input;
  const guarded = ops.filter((op) => isGuardedRemoval(op, input.identityOf));
  const out: GuardedPlan = { apply: [], held: [], rejected: [], guardedKeys: new Set() };
  const counted = guarded.filter((op) => !approved.has(opKey(op)) && !rejected.has(opKey(op)));
  // A recorded login never changes without an admin: each such op waits, whatever the count.
  const relinks = ops.filter((op) => op.kind === 'relinkLogin' && !approved.has(opKey(op)) && !rejected.has(opKey(op)));
  let removalReason: string | undefined;
  if (counted.length > maxRemovals) removalReason = `${counted.length} removals in one reconcile, more than safety.maxRemovals (${maxRemovals})`;
  else if (counted.length > 0 && recentRemovals + counted.length > maxRemovals) {
    removalReason = `${recentRemovals} removals already applied within safety.window and ${counted.length} more planned, more than safety.maxRemovals (${maxRemovals})`;
  }
  const relinkReason =
    relinks.length > 0
      ? `${relinks.length} ${relinks.length === 1 ? 'person' : 'people'} would change Pulumi login; a recorded login changes only with approval`
      : undefined;
  const guardedSet = new Set(guarded);
  const relinkSet = new Set(relinks);
  for (const op of ops) {
    const key = opKey(op);
    if (op.kind === 'relinkLogin') {
      if (rejected.has(key)) out.rejected.push(op);
      else if (relinkSet.has(op)) out.held.push(op);
      else out.apply.push(op);
    } else if (!guardedSet.has(op)) out.apply.push(op);
    else if (rejected.has(key)) out.rejected.push(op);
    else if (removalReason && !approved.has(key)) out.held.push(op);
    else {
      out.apply.push(op);
      out.guardedKeys.add(key);
    }
  }
  if (out.held.length > 0) out.reason = [removalReason, relinkReason].filter(Boolean).join('; ');
  return out;
}
