import type { OrgRoleRecord } from '../pulumi';
import type { Management, Op, PlanInput, PlanNote, RoleResolution } from './types';

/**
 * The team-role part of `plan` (pure): each member's role within the team, and the team's
 * custom role.
 *
 * - Member roles, where the daemon manages membership (`full`): the members of the rules'
 *   `admins` groups are `admin`, everyone else on the team is `member` (docs/pulumi-api.md,
 *   "Team members": `promote`/`demote`). A person joining as admin is promoted after the add.
 *   Someone leaving the team is removed, not demoted first.
 * - The custom role, wherever the daemon manages grants (`full` or `grants-only`): the role the
 *   rules name, by the id the catalogue gave it; none named means none held. A name the
 *   catalogue cannot resolve leaves the team's role as it is and is noted (status degrades the
 *   team with the reason).
 */
export function planTeamRoles(input: PlanInput, management: Management, ops: Op[], notes: PlanNote[]): void {
  if (management === 'full') planMemberRoles(input, ops);
  if (management !== 'none') planCustomRole(input, ops, notes);
}

function planMemberRoles(input: PlanInput, ops: Op[]): void {
  const { team, desired, actual } = input;
  const wanted = desired?.admins ?? new Set<string>();
  const admins = new Set((actual?.admins ?? []).map((login) => login.toLowerCase()));
  const present = new Map((actual?.members ?? []).map((login) => [login.toLowerCase(), login]));
  for (const [lower, login] of present) {
    if (!desired?.members.has(lower)) continue;
    if (admins.has(lower) && !wanted.has(lower)) ops.push({ kind: 'demoteMember', team, login });
    if (!admins.has(lower) && wanted.has(lower)) ops.push({ kind: 'promoteMember', team, login });
  }
  const joining = ops.flatMap((op) => (op.kind === 'addMember' ? [op.login] : []));
  for (const login of joining) if (wanted.has(login.toLowerCase())) ops.push({ kind: 'promoteMember', team, login });
}

function planCustomRole(input: PlanInput, ops: Op[], notes: PlanNote[]): void {
  const { team, desired, actual, role } = input;
  const held = actual?.roleIds ?? [];
  if (desired?.role === undefined) {
    for (const roleId of held) ops.push({ kind: 'unassignTeamRole', team, roleId });
    return;
  }
  if (role?.kind !== 'resolved') {
    notes.push({ kind: 'roleUnresolved', team, role: desired.role, detail: role?.detail ?? `custom role "${desired.role}" was not looked up` });
    return;
  }
  // One custom role per team (docs/pulumi-api.md, "Team custom roles"): the POST replaces the one held.
  const others = held.filter((id) => id !== role.roleId);
  if (!held.includes(role.roleId)) {
    ops.push({ kind: 'assignTeamRole', team, roleId: role.roleId, roleName: role.roleName, ...(others[0] ? { replaces: others[0] } : {}) });
    others.shift();
  }
  for (const roleId of others) ops.push({ kind: 'unassignTeamRole', team, roleId });
}

/**
 * A rule's role name against the org's role catalogue (null: the catalogue answered 404 or 400,
 * as an org without fine-grained RBAC may). Only custom roles count: built-in roles carry a
 * `defaultIdentifier`. The name matches exactly, else case-insensitively when that is unique.
 */
export function resolveRoleName(roleName: string, catalogue: readonly OrgRoleRecord[] | null): RoleResolution {
  const custom = (catalogue ?? []).filter((r) => !r.defaultIdentifier && typeof r.id === 'string' && typeof r.name === 'string');
  if (custom.length === 0) {
    return {
      kind: 'unresolved',
      roleName,
      detail: `custom role "${roleName}" cannot be assigned: the organization has no custom roles${catalogue === null ? ' (its role catalogue is not available)' : ''}`,
    };
  }
  const exact = custom.filter((r) => r.name === roleName);
  const folded = exact.length > 0 ? exact : custom.filter((r) => r.name.toLowerCase() === roleName.toLowerCase());
  if (folded.length === 1) return { kind: 'resolved', roleId: folded[0].id, roleName: folded[0].name };
  const names = custom
    .slice(0, 10)
    .map((r) => `"${r.name}"`)
    .join(', ');
  return {
    kind: 'unresolved',
    roleName,
    detail:
      folded.length > 1
        ? `custom role "${roleName}" names ${folded.length} roles in the organization's catalogue; rename one in Pulumi`
        : `no custom role named "${roleName}" in the organization (custom roles: ${names}${custom.length > 10 ? ', …' : ''})`,
  };
}
