import { grantKey, rankOf } from '../policy';
import { creatorBoundFate, isIssuedName } from '../tokens';
import { planTeamRoles } from './plan-roles';
import { narrowsEnvironment, planEnvironments } from './plan-environments';
import type { Management, Op, OpKind, Plan, PlanInput, PlanNote } from './types';

/**
 * `plan(input)`: the ops that turn a team's actual state into its desired state. Pure: no
 * I/O, no clock, deterministic order. The order is the safety contract (docs/architecture.md): first
 * everything that shrinks access (tokens, members, grants, the team itself), then
 * everything that grows it, so a crash between two ops never leaves more access than
 * either the old or the new state allowed.
 */

export const OP_ORDER: readonly OpKind[] = [
  'adoptTeam',
  'revokeToken',
  'removeMember',
  'demoteMember',
  'narrowGrant',
  'removeGrant',
  'unassignTeamRole',
  'removeEnvironment',
  // A lowering edit; one that raises the level (or only changes the open limit) sorts with the additions.
  'editEnvironmentPermission',
  'deleteTeam',
  'forgetTeam',
  'createTeam',
  'updateTeam',
  'relinkLogin',
  'addOrgMember',
  'addMember',
  'promoteMember',
  'widenGrant',
  'addGrant',
  'addEnvironmentPermission',
  'assignTeamRole',
];

/** Ops that only write our own database (ownership), not Pulumi. */
export const LOCAL_OPS: ReadonlySet<OpKind> = new Set(['adoptTeam', 'forgetTeam', 'relinkLogin']);

export function plan(input: PlanInput): Plan {
  const { team, desired, actual, owned, policy } = input;
  const ops: Op[] = [];
  const notes: PlanNote[] = [];
  const result = (management: Management): Plan => ({ team, management, ops: sortOps(ops), notes });

  if (desired && desired.unmappedUsers > 0) notes.push({ kind: 'unmappedUsers', team, count: desired.unmappedUsers });
  for (const m of desired?.conflicted ?? []) notes.push({ kind: 'loginConflict', team, userId: m.userId, login: m.login });
  for (const c of desired?.loginChanges ?? []) notes.push({ kind: 'loginChange', team, ...c });
  // A recorded login changes only once an admin approves it (the guard always holds these).
  for (const c of desired?.loginChanges ?? []) ops.push({ kind: 'relinkLogin', userId: c.userId, from: c.login, to: c.proposed });
  for (const g of desired?.renamedGroups ?? []) notes.push({ kind: 'groupRenamed', team, groupId: g.id, displayName: g.displayName });
  if (desired?.blocked) {
    // One name, several groups: nothing is guessed, nothing changes.
    notes.push({ kind: 'blocked', team, detail: desired.blocked });
    return result('none');
  }

  if (actual === null) {
    if (desired === null) {
      // Deleted in Pulumi (by hand or by us) and no longer mapped: drop the ownership record.
      if (owned) ops.push({ kind: 'forgetTeam', team });
      return result('none');
    }
    // New team, or an owned team deleted by hand: (re)create and fill it.
    ops.push({ kind: 'createTeam', team, displayName: desired.displayName, description: desired.description });
    addMembers(input, new Set(), ops);
    for (const g of desired.grants.values()) {
      ops.push({ kind: 'addGrant', team, projectName: g.projectName, stackName: g.stackName, permission: g.permission });
    }
    planTeamRoles(input, 'full', ops, notes);
    ops.push(...planEnvironments(team, desired, null));
    return result('full');
  }

  // How much of a pre-existing team the rules take over; a team the daemon created is all its own.
  const adopt = desired?.adopt ?? (policy.adoptExistingTeams ? 'full' : 'none');
  if (!owned) {
    if (desired === null) return result('none');
    if (adopt === 'none') {
      notes.push({
        kind: 'unownedTeam',
        team,
        detail: 'a team of this name exists in Pulumi and was not created by pulumi-idp-sync; set adopt: grants or adopt: full on its rule to manage it',
      });
      return result('none');
    }
    ops.push({ kind: 'adoptTeam', team, teamKind: actual.kind, mode: adopt });
  }

  const takenOver = !owned || input.adopted;
  const management: Management = actual.kind === 'pulumi' && !(takenOver && adopt !== 'full') ? 'full' : 'grants-only';
  if (management === 'grants-only') notes.push({ kind: 'grantsOnly', team, teamKind: actual.kind });

  if (desired === null && policy.deleteTeamWhenGroupGone && management === 'full') {
    // Pulumi drops the team's grants and invalidates its tokens with it (docs/pulumi-api.md, "Teams").
    ops.push({ kind: 'deleteTeam', team });
    return result(management);
  }

  if (management === 'full') {
    revokeTokens(input, ops, notes);
    const actualLogins = new Map(actual.members.map((login) => [login.toLowerCase(), login]));
    for (const [lower, login] of actualLogins) {
      if (!desired?.members.has(lower)) ops.push({ kind: 'removeMember', team, login });
    }
    addMembers(input, new Set(actualLogins.keys()), ops);
    if (desired && (desired.displayName !== actual.displayName || desired.description !== actual.description)) {
      ops.push({ kind: 'updateTeam', team, displayName: desired.displayName, description: desired.description });
    }
  }

  const actualGrants = new Map(actual.grants.map((g) => [grantKey(g.projectName, g.stackName), g]));
  for (const [key, have] of actualGrants) {
    const want = desired?.grants.get(key);
    const { projectName, stackName } = have;
    if (!want) ops.push({ kind: 'removeGrant', team, projectName, stackName, from: have.permission });
    else if (want.permission !== have.permission) {
      const narrower = rankOf(want.permission) < rankOf(have.permission);
      ops.push({ kind: narrower ? 'narrowGrant' : 'widenGrant', team, projectName, stackName, from: have.permission, to: want.permission });
    }
  }
  for (const [key, want] of desired?.grants ?? []) {
    if (!actualGrants.has(key)) {
      ops.push({ kind: 'addGrant', team, projectName: want.projectName, stackName: want.stackName, permission: want.permission });
    }
  }
  planTeamRoles(input, management, ops, notes);
  // Environment grants are grants: a `grants` adoption manages them too.
  ops.push(...planEnvironments(team, desired, actual));
  return result(management);
}

function addMembers(input: PlanInput, present: ReadonlySet<string>, ops: Op[]): void {
  const { team, desired, orgMembers, deferredLogins } = input;
  for (const [lower, m] of desired?.members ?? []) {
    if (present.has(lower) || deferredLogins?.has(lower)) continue;
    if (!orgMembers?.has(lower)) ops.push({ kind: 'addOrgMember', login: m.login, userId: m.userId });
    ops.push({ kind: 'addMember', team, login: m.login, userId: m.userId });
  }
}

/**
 * Creator-bound tokens, by the one rule of src/tokens (`creatorBoundFate`): the creator is
 * matched by directory user, so a changed login still counts; creators the directory never
 * knew are reported.
 */
function revokeTokens(input: PlanInput, ops: Op[], notes: PlanNote[]): void {
  const { team, desired, actual, identities, policy } = input;
  if (!actual || !policy.revokeWhenCreatorLeaves) return;
  const memberIds = new Set([...(desired?.members.values() ?? [])].map((m) => m.userId));
  for (const token of actual.tokens) {
    // Tokens the daemon issued carry its own login as createdBy: the ledger decides those.
    if (isIssuedName(token.name)) continue;
    const identity = identities.get(token.createdBy.toLowerCase());
    if (!identity) notes.push({ kind: 'unknownCreatorToken', team, tokenId: token.id, tokenName: token.name, createdBy: token.createdBy });
    const creator = identity && { state: identity.state === 'inactive' ? ('deactivated' as const) : identity.state, isMember: memberIds.has(identity.userId) };
    const why = creatorBoundFate({ creator, teamMapped: desired !== null }, policy);
    if (why) ops.push({ kind: 'revokeToken', team, tokenId: token.id, tokenName: token.name, createdBy: token.createdBy, why });
  }
}

function sortKey(op: Op): string {
  switch (op.kind) {
    case 'revokeToken':
      return op.tokenId;
    case 'relinkLogin':
      return op.userId;
    case 'removeMember':
    case 'addMember':
    case 'addOrgMember':
    case 'demoteMember':
    case 'promoteMember':
      return op.login.toLowerCase();
    case 'unassignTeamRole':
    case 'assignTeamRole':
      return op.roleId;
    case 'narrowGrant':
    case 'removeGrant':
    case 'widenGrant':
    case 'addGrant':
      return grantKey(op.projectName, op.stackName);
    case 'removeEnvironment':
    case 'editEnvironmentPermission':
    case 'addEnvironmentPermission':
      return grantKey(op.projectName, op.envName);
    default:
      return '';
  }
}

function sortOps(ops: Op[]): Op[] {
  const rank = new Map(OP_ORDER.map((k, i) => [k, i]));
  const phaseOf = (op: Op): number =>
    op.kind === 'editEnvironmentPermission' && !narrowsEnvironment(op) ? (rank.get('addEnvironmentPermission') ?? 0) - 0.5 : (rank.get(op.kind) ?? 0);
  return ops
    .map((op) => ({ op, phase: phaseOf(op), key: sortKey(op) }))
    .sort((a, b) => a.phase - b.phase || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.op);
}

/** Pulumi write calls a plan costs (ops that only touch our database cost none). */
export function writeCallsOf(ops: readonly Pick<Op, 'kind'>[]): number {
  return ops.filter((op) => !LOCAL_OPS.has(op.kind)).length;
}
