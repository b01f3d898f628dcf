import { type ApiContext, fail, findTeam, type Handler, requireOrg, requireWrite, type Route } from './api';
import type { EmuRole } from './state';

/**
 * Team custom roles (docs/pulumi-api.md, "Team custom roles"): the org's role catalogue, a
 * team's roles, and the POST upsert / DELETE that assign and unassign one. The `customRoles`
 * switch runs an org without fine-grained RBAC.
 */

/** A role descriptor (PermissionDescriptorRecord) as the catalogue and a team's role list show it. */
interface RoleView {
  id: string;
  name: string;
  description: string;
  uxPurpose: 'role';
  defaultIdentifier: string;
  orgId: string;
  isOrgDefault: boolean;
  version: number;
  created: string;
  modified: string;
}

const UX_PURPOSES = new Set(['role', 'role_private', 'role_temporary', 'policy', 'set']);

function catalogue(ctx: ApiContext): EmuRole[] {
  const roles = ctx.state.roles ?? [];
  const mode = ctx.config.customRoles;
  if (mode === 404 || mode === 400) fail(mode, 'Custom roles are not enabled for this organization');
  return mode === 'builtin-only' ? roles.filter((r) => r.defaultIdentifier !== '') : roles;
}

/** A custom role the team may be given; 404 ("Role") for any other id. */
function customRole(ctx: ApiContext): EmuRole {
  const role = catalogue(ctx).find((r) => r.id === ctx.params.roleId && r.defaultIdentifier === '');
  if (!role) fail(404, `Role '${ctx.params.roleId}' not found`, [{ resource: 'role', errorType: 'not_found' }]);
  return role;
}

function roleView(ctx: ApiContext, role: EmuRole): RoleView {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    uxPurpose: 'role',
    defaultIdentifier: role.defaultIdentifier,
    orgId: `org-${ctx.state.org}`,
    isOrgDefault: role.defaultIdentifier === 'member',
    version: 1,
    created: '2026-01-01T00:00:00Z',
    modified: '2026-01-01T00:00:00Z',
  };
}

const listOrgRoles: Handler = (ctx) => {
  requireOrg(ctx);
  const purpose = ctx.query.get('uxPurpose');
  // The service requires uxPurpose (the pulumiservice provider's ListOrgRoles says so).
  if (purpose === null || !UX_PURPOSES.has(purpose)) fail(400, 'Role purpose is not valid');
  const roles = purpose === 'role' ? catalogue(ctx) : [];
  return { status: 200, json: { roles: roles.map((r) => roleView(ctx, r)) } };
};

const listTeamRoles: Handler = (ctx) => {
  const team = findTeam(ctx);
  const held = (ctx.state.roles ?? []).filter((r) => (team.roleIds ?? []).includes(r.id));
  return { status: 200, json: { roles: held.map((r) => roleView(ctx, r)) } };
};

const assignTeamRole: Handler = (ctx) => {
  const team = findTeam(ctx);
  requireWrite(ctx);
  // One custom role per team: the POST replaces the one held.
  team.roleIds = [customRole(ctx).id];
  return { status: 204 };
};

const unassignTeamRole: Handler = (ctx) => {
  const team = findTeam(ctx);
  requireWrite(ctx);
  const role = customRole(ctx);
  if (!(team.roleIds ?? []).includes(role.id)) fail(404, `Team '${team.name}' does not hold role '${role.id}'`, [{ resource: 'role', errorType: 'not_found' }]);
  team.roleIds = (team.roleIds ?? []).filter((id) => id !== role.id);
  return { status: 204 };
};

export const ROLE_ROUTES: Route[] = [
  { method: 'GET', template: '/api/orgs/{org}/roles', handler: listOrgRoles },
  { method: 'GET', template: '/api/orgs/{org}/teams/{team}/roles', handler: listTeamRoles },
  { method: 'POST', template: '/api/orgs/{org}/teams/{team}/roles/{roleId}', handler: assignTeamRole },
  { method: 'DELETE', template: '/api/orgs/{org}/teams/{team}/roles/{roleId}', handler: unassignTeamRole },
];
