import type { CreatorRevokeWhy } from '../tokens';
import type { AdoptMode, EnvironmentGrant, EnvironmentPermission, Permission } from '../policy';
import type { AccessToken, TeamKind } from '../pulumi';

/**
 * The reconciler's model: what a team should look like (from the directory and policy),
 * what it looks like (from the Pulumi API), and the ops that turn one into the other.
 */

export interface DesiredMember {
  login: string;
  userId: string;
}

export interface DesiredGrant {
  projectName: string;
  stackName: string;
  permission: Permission;
}

/** A team some rule maps at least one existing SCIM group to. */
export interface DesiredTeam {
  name: string;
  displayName: string;
  description: string;
  /** SCIM groups that map to this team (their ids, current names, and the rule that bound each). */
  groups: Array<{ id: string; displayName: string; ruleKey?: string }>;
  /** Active members with a login, keyed by lower-cased login. */
  members: Map<string, DesiredMember>;
  /** Keyed by `project/stack`. */
  grants: Map<string, DesiredGrant>;
  /** ESC environment grants, keyed by `project/environment`. @defaultValue none */
  environments?: Map<string, EnvironmentGrant>;
  /** Members of mapped groups that have no login under the policy (reported, not synced). */
  unmappedUsers: number;
  /** Members whose login another person also resolves to: neither is synced (`login_conflict`). */
  conflicted?: DesiredMember[];
  /** Members whose recorded login differs from the one the policy gives them now (the link stands). */
  loginChanges?: Array<{ userId: string; login: string; proposed: string }>;
  /**
   * The rules' adoption mode for a pre-existing team of this name (the least of them).
   * @defaultValue the policy's `ownership.adoptExistingTeams`
   */
  adopt?: AdoptMode;
  /**
   * Set when the team must not change at all this time: a rule's group is ambiguous (one name,
   * several groups). Status shows it; nothing is guessed.
   */
  blocked?: string;
  /** Groups bound to this team whose name no longer matches the rule that bound them. */
  renamedGroups?: Array<{ id: string; displayName: string }>;
  /** Lower-cased logins of members who are the team's admins (the rules' `admins` groups); everyone else is a member. */
  admins?: ReadonlySet<string>;
  /** The custom role the rules give the team, by name (docs/pulumi-api.md, "Team custom roles"); absent: none. */
  role?: string;
}

export interface ActualTeam {
  name: string;
  kind: TeamKind;
  displayName: string;
  description: string;
  /** Logins as Pulumi spells them. */
  members: string[];
  grants: Array<{ projectName: string; stackName: string; permission: number }>;
  /** ESC environment grants; levels as Pulumi names them. @defaultValue none */
  environments?: ActualEnvironmentGrant[];
  tokens: AccessToken[];
  /** Logins (as Pulumi spells them) whose role within the team is `admin`. @defaultValue none */
  admins?: string[];
  /** Ids of the custom roles the team holds (`roleIds`). @defaultValue none */
  roleIds?: string[];
}

/**
 * The desired custom role's id, as the org's role catalogue resolves its name: `resolved`, or a
 * reason it cannot be (no custom roles in the org, no role of that name), which leaves the
 * team's current role alone and marks the team degraded.
 */
export type RoleResolution = { kind: 'resolved'; roleId: string; roleName: string } | { kind: 'unresolved'; roleName: string; detail: string };
export interface ActualEnvironmentGrant {
  projectName: string;
  envName: string;
  /** `read|open|write|admin`, or whatever else Pulumi reports (`none`). */
  permission: string;
  maxOpenDuration?: string;
}

/** What the directory knows about a login, also after the user was deleted. */
export interface IdentityRecord {
  userId: string;
  state: 'active' | 'inactive' | 'deleted';
}

export interface PlanPolicy {
  adoptExistingTeams: boolean;
  deleteTeamWhenGroupGone: boolean;
  revokeWhenCreatorLeaves: boolean;
  revokeUnknownCreators: boolean;
}

export interface PlanInput {
  team: string;
  /** null: no existing group maps to this team any more (or never did). */
  desired: DesiredTeam | null;
  /** null: Pulumi has no team of this name. */
  actual: ActualTeam | null;
  /** The team is in `owned_teams`. */
  owned: boolean;
  /** Owned because it was adopted, not created: its rules' `adopt` decides how much is managed. */
  adopted?: boolean;
  /** Lower-cased logins of the org's members; undefined = unknown, add every joining member. */
  orgMembers?: { has(login: string): boolean };
  /**
   * Lower-cased logins that recently had no Pulumi account: not retried on this run (they stay
   * pending; a later reconcile after the retry interval tries again).
   */
  deferredLogins?: ReadonlySet<string>;
  /** Directory identities by lower-cased login, for token creators. */
  identities: ReadonlyMap<string, IdentityRecord>;
  policy: PlanPolicy;
  /** The desired role (`desired.role`) looked up in the org's catalogue; absent when the rules give none. */
  role?: RoleResolution;
}

/** Why a creator-bound token goes: decided by src/tokens (`creatorBoundFate`). */
export type RevokeWhy = CreatorRevokeWhy;

export type Op =
  | { kind: 'adoptTeam'; team: string; teamKind: TeamKind; mode: 'grants' | 'full' }
  | { kind: 'revokeToken'; team: string; tokenId: string; tokenName: string; createdBy: string; why: RevokeWhy }
  | { kind: 'removeMember'; team: string; login: string }
  | { kind: 'narrowGrant'; team: string; projectName: string; stackName: string; from: number; to: Permission }
  | { kind: 'removeGrant'; team: string; projectName: string; stackName: string; from: number }
  | { kind: 'deleteTeam'; team: string }
  | { kind: 'forgetTeam'; team: string }
  | { kind: 'createTeam'; team: string; displayName: string; description: string }
  | { kind: 'updateTeam'; team: string; displayName: string; description: string }
  | { kind: 'addOrgMember'; login: string; userId: string }
  | { kind: 'removeOrgMember'; login: string; userId: string; why: 'deactivated' | 'deleted' }
  | { kind: 'relinkLogin'; userId: string; from: string; to: string }
  | { kind: 'addMember'; team: string; login: string; userId: string }
  | { kind: 'widenGrant'; team: string; projectName: string; stackName: string; from: number; to: Permission }
  | { kind: 'addGrant'; team: string; projectName: string; stackName: string; permission: Permission }
  | { kind: 'demoteMember'; team: string; login: string }
  | { kind: 'promoteMember'; team: string; login: string }
  | { kind: 'unassignTeamRole'; team: string; roleId: string }
  | { kind: 'assignTeamRole'; team: string; roleId: string; roleName: string; replaces?: string }
  | { kind: 'removeEnvironment'; team: string; projectName: string; envName: string; from: string }
  | {
      kind: 'editEnvironmentPermission';
      team: string;
      projectName: string;
      envName: string;
      from: string;
      to: EnvironmentPermission;
      maxOpenDuration?: string;
    }
  | { kind: 'addEnvironmentPermission'; team: string; projectName: string; envName: string; permission: EnvironmentPermission; maxOpenDuration?: string };

export type OpKind = Op['kind'];

/** Why a plan is smaller than a naive diff: shown by dry run and status. */
export type PlanNote =
  | { kind: 'unownedTeam'; team: string; detail: string }
  | { kind: 'grantsOnly'; team: string; teamKind: TeamKind }
  | { kind: 'unknownCreatorToken'; team: string; tokenId: string; tokenName: string; createdBy: string }
  | { kind: 'unmappedUsers'; team: string; count: number }
  | { kind: 'loginConflict'; team: string; userId: string; login: string }
  | { kind: 'loginChange'; team: string; userId: string; login: string; proposed: string }
  | { kind: 'groupRenamed'; team: string; groupId: string; displayName: string }
  | { kind: 'blocked'; team: string; detail: string }
  | { kind: 'held'; team: string; holdId: string; ops: number }
  | { kind: 'rejectedHold'; team: string; holdId: string; ops: number }
  | { kind: 'observed'; team: string; ops: number }
  | { kind: 'roleUnresolved'; team: string; role: string; detail: string };

/** How much of a team the daemon manages. */
export type Management = 'full' | 'grants-only' | 'none';

export interface Plan {
  team: string;
  management: Management;
  ops: Op[];
  notes: PlanNote[];
}
