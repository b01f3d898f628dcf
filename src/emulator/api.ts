import type { AccessToken, OrganizationMember, Team, TeamMemberInfo } from '../pulumi';
import type { EmulatorConfig } from './config';
import { environmentView, removeEnvironmentGrant, setEnvironmentGrant } from './environments';
import { type EmulatorState, type EmuTeam, type EmuToken, hashToken, newId, newTokenValue, type OrgRole } from './state';

/**
 * The emulated REST endpoints of docs/pulumi-api.md, "Endpoints", as functions over the state. Status codes,
 * field names and error bodies follow the contract; each UNCONFIRMED point reads its switch
 * from the config.
 */

export interface Principal {
  login: string;
  /** False for team tokens and non-admin org tokens: those may only read. */
  canWrite: boolean;
}

export interface ApiContext {
  state: EmulatorState;
  config: EmulatorConfig;
  principal: Principal;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** For `links.self`. */
  baseUrl: string;
}

export interface ApiResult {
  status: number;
  json?: unknown;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Array<{ resource: string; attribute?: string; errorType: string; customMessage?: string }>,
  ) {
    super(message);
  }
}

export type Handler = (ctx: ApiContext) => ApiResult;

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  template: string;
  handler: Handler;
}

const PERMISSION_LEVELS = new Set([101, 102, 103]);
const MAX_DISPLAY_NAME = 100;
const MAX_TOKEN_NAME = 40;
const TWO_YEARS_S = 2 * 366 * 24 * 3600;
const MAX_RESULTS_LIMIT = 1000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function fail(status: number, message: string, errors?: ApiFailure['errors']): never {
  throw new ApiFailure(status, message, errors);
}

export function requireOrg(ctx: ApiContext): void {
  if (ctx.params.org !== ctx.state.org) fail(404, `Organization '${ctx.params.org}' not found`);
}

export function requireWrite(ctx: ApiContext): void {
  if (!ctx.principal.canWrite) fail(403, 'This access token is not allowed to make changes');
}

export function findTeam(ctx: ApiContext): EmuTeam {
  requireOrg(ctx);
  const team = ctx.state.teams.find((t) => t.name === ctx.params.team);
  if (!team) fail(404, `Team '${ctx.params.team}' not found`, [{ resource: 'team', errorType: 'not_found' }]);
  return team;
}

function bodyObject(ctx: ApiContext): Record<string, unknown> {
  const body = ctx.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail(400, 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Views (wire shapes)

function userInfo(ctx: ApiContext, login: string, withEmail: boolean) {
  const account = ctx.state.accounts.find((a) => a.login === login);
  return {
    name: account?.name ?? login,
    githubLogin: login,
    avatarUrl: `https://avatars.example.invalid/${encodeURIComponent(login)}`,
    ...(withEmail && account?.email ? { email: account.email } : {}),
  };
}

function teamView(ctx: ApiContext, team: EmuTeam, detail: 'full' | 'summary'): Team {
  const own = team.members.find((m) => m.login === ctx.principal.login);
  const view: Team = {
    name: team.name,
    displayName: team.displayName,
    description: team.description,
    kind: team.kind,
    userRole: own ? own.role : 'none',
  };
  if (detail === 'summary') return view;
  return {
    ...view,
    members: team.members.map((m): TeamMemberInfo => ({ ...userInfo(ctx, m.login, false), role: m.role })),
    stacks: team.stacks.map((s) => ({ ...s })),
    environments: (team.environments ?? []).map((e) => ({ ...e })),
    accounts: [],
    roleIds: [...(team.roleIds ?? [])],
  };
}

function tokenView(token: EmuToken): AccessToken {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    created: token.created,
    createdBy: token.createdBy,
    lastUsed: token.lastUsed,
    expires: token.expires,
    admin: token.admin,
    type: token.type,
  };
}

const ROLE_NAMES: Record<OrgRole, string> = { member: 'Member', admin: 'Admin', 'billing-manager': 'Billing Manager' };

function memberView(ctx: ApiContext, login: string, role: OrgRole, created: string): OrganizationMember {
  return {
    user: userInfo(ctx, login, ctx.config.memberListIncludesEmail),
    role,
    fgaRole: { id: `builtin-${role}`, name: ROLE_NAMES[role], modifiedAt: created },
    knownToPulumi: true,
    virtualAdmin: false,
    created,
    links: { self: `${ctx.baseUrl}/api/orgs/${encodeURIComponent(ctx.state.org)}/members/${encodeURIComponent(login)}` },
  };
}

// ---------------------------------------------------------------------------------------------
// Pagination: an opaque cursor bound to the listing it came from.

function page<T>(ctx: ApiContext, scope: string, items: T[], pageSize: number): { items: T[]; continuationToken?: string } {
  const maxResultsRaw = ctx.query.get('maxResults');
  let size = pageSize;
  if (maxResultsRaw !== null) {
    const maxResults = Number(maxResultsRaw);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS_LIMIT) {
      fail(400, `maxResults must be an integer between 1 and ${MAX_RESULTS_LIMIT}`);
    }
    size = Math.min(size, maxResults);
  }
  let offset = 0;
  const cursor = ctx.query.get('continuationToken');
  if (cursor !== null && cursor !== '') {
    const decoded = decodeCursor(cursor);
    if (!decoded || decoded.scope !== scope) fail(400, 'Invalid continuationToken');
    offset = decoded.offset;
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { items: slice, continuationToken: encodeCursor(scope, next) } : { items: slice };
}

function encodeCursor(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scope, o: offset })).toString('base64url');
}

function decodeCursor(cursor: string): { scope: string; offset: number } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown; o?: unknown };
    if (typeof value.s !== 'string' || typeof value.o !== 'number' || !Number.isInteger(value.o) || value.o < 0) return undefined;
    return { scope: value.s, offset: value.o };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Teams

const listTeams: Handler = (ctx) => {
  requireOrg(ctx);
  return { status: 200, json: { teams: ctx.state.teams.map((t) => teamView(ctx, t, ctx.config.listTeamsDetail)) } };
};

const getTeam: Handler = (ctx) => ({ status: 200, json: teamView(ctx, findTeam(ctx), 'full') });

const createTeam: Handler = (ctx) => {
  requireOrg(ctx);
  requireWrite(ctx);
  const body = bodyObject(ctx);
  const { name, displayName, description } = body;
  if (typeof name !== 'string' || name === '') fail(400, 'name is required', [{ resource: 'team', attribute: 'name', errorType: 'required' }]);
  if (typeof displayName !== 'string') fail(400, 'displayName is required', [{ resource: 'team', attribute: 'displayName', errorType: 'required' }]);
  if (typeof description !== 'string') fail(400, 'description is required', [{ resource: 'team', attribute: 'description', errorType: 'required' }]);
  if (name.length > ctx.config.teamNameMaxLength || !new RegExp(ctx.config.teamNamePattern).test(name)) {
    fail(400, `Team name must be at most ${ctx.config.teamNameMaxLength} characters of ${ctx.config.teamNamePattern}`, [
      { resource: 'team', attribute: 'name', errorType: 'invalid' },
    ]);
  }
  if (displayName.length > MAX_DISPLAY_NAME) {
    fail(400, `Display name must be at most ${MAX_DISPLAY_NAME} characters`, [{ resource: 'team', attribute: 'displayName', errorType: 'invalid' }]);
  }
  if (ctx.state.teams.some((t) => t.name === name)) {
    fail(409, `Team '${name}' already exists`, [{ resource: 'team', attribute: 'name', errorType: 'already_exists' }]);
  }
  const team: EmuTeam = {
    name,
    displayName,
    description,
    kind: 'pulumi',
    members: ctx.config.creatorJoinsNewTeam ? [{ login: ctx.principal.login, role: 'admin' }] : [],
    stacks: [],
    environments: [],
  };
  ctx.state.teams.push(team);
  return { status: 201, json: teamView(ctx, team, 'full') };
};

const deleteTeam: Handler = (ctx) => {
  const team = findTeam(ctx);
  requireWrite(ctx);
  ctx.state.teams.splice(ctx.state.teams.indexOf(team), 1);
  // Deleting a team invalidates its tokens (§3.1); the records stay so their names stay taken.
  for (const token of ctx.state.tokens) {
    if (token.type === 'team' && token.team === team.name) token.deleted = true;
  }
  return { status: 204 };
};

type ChangeKind =
  | 'update'
  | 'member'
  | 'addStackPermission'
  | 'editStackPermission'
  | 'removeStack'
  | 'addEnvironmentPermission'
  | 'editEnvironmentPermission'
  | 'removeEnvironment';

function changeKinds(body: Record<string, unknown>): ChangeKind[] {
  const kinds: ChangeKind[] = [];
  if ('newDisplayName' in body || 'newDescription' in body) kinds.push('update');
  if ('memberAction' in body || 'member' in body) kinds.push('member');
  for (const key of [
    'addStackPermission',
    'editStackPermission',
    'removeStack',
    'addEnvironmentPermission',
    'editEnvironmentPermission',
    'removeEnvironment',
  ] as const) {
    if (key in body) kinds.push(key);
  }
  return kinds;
}

const patchTeam: Handler = (ctx) => {
  const team = findTeam(ctx);
  requireWrite(ctx);
  const body = bodyObject(ctx);
  const kinds = changeKinds(body);
  if (kinds.length === 0) fail(400, 'No change requested');
  if (kinds.length > 1 && ctx.config.multipleChangesPerPatch === 'reject') {
    fail(400, `Only one kind of change per request (got ${kinds.join(', ')})`);
  }
  for (const kind of kinds) applyChange(ctx, team, kind, body);
  return { status: 204 };
};

function applyChange(ctx: ApiContext, team: EmuTeam, kind: ChangeKind, body: Record<string, unknown>): void {
  switch (kind) {
    case 'update':
      return updateTeamFields(ctx, team, body);
    case 'member':
      return changeMember(ctx, team, body);
    case 'addStackPermission':
    case 'editStackPermission':
      return setGrant(ctx, team, kind, body[kind]);
    case 'removeStack':
      return removeGrant(ctx, team, body.removeStack);
    case 'addEnvironmentPermission':
    case 'editEnvironmentPermission': {
      const refused = setEnvironmentGrant(ctx.state.environments ?? [], ctx.config, team, kind, body[kind]);
      if (refused) fail(refused.status, refused.message);
      return;
    }
    case 'removeEnvironment': {
      const refused = removeEnvironmentGrant(ctx.config, team, body.removeEnvironment);
      if (refused) fail(refused.status, refused.message);
      return;
    }
  }
}

function updateTeamFields(ctx: ApiContext, team: EmuTeam, body: Record<string, unknown>): void {
  const { newDisplayName, newDescription } = body;
  for (const [key, value] of [
    ['newDisplayName', newDisplayName],
    ['newDescription', newDescription],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') fail(400, `${key} must be a string`);
  }
  if (typeof newDisplayName === 'string' && newDisplayName.length > MAX_DISPLAY_NAME) {
    fail(400, `Display name must be at most ${MAX_DISPLAY_NAME} characters`);
  }
  const clear = ctx.config.updateTeamEmptyField === 'clear';
  if (typeof newDisplayName === 'string' && (newDisplayName !== '' || clear)) team.displayName = newDisplayName;
  if (typeof newDescription === 'string' && (newDescription !== '' || clear)) team.description = newDescription;
}

function changeMember(ctx: ApiContext, team: EmuTeam, body: Record<string, unknown>): void {
  const { memberAction, member } = body;
  if (memberAction !== 'add' && memberAction !== 'remove' && memberAction !== 'promote' && memberAction !== 'demote') {
    fail(400, 'memberAction must be add, remove, promote or demote');
  }
  if (typeof member !== 'string' || member === '') fail(400, 'member is required');
  if (team.kind !== 'pulumi' && ctx.config.nonPulumiTeamMembershipEdit !== 'allow') {
    fail(ctx.config.nonPulumiTeamMembershipEdit, `Membership of ${team.kind} team '${team.name}' is managed outside Pulumi`);
  }
  if (!ctx.state.accounts.some((a) => a.login === member)) fail(404, `User '${member}' not found`);
  const index = team.members.findIndex((m) => m.login === member);
  if (memberAction === 'add') {
    if (!ctx.state.members.some((m) => m.login === member)) {
      fail(ctx.config.addNonOrgMemberStatus, `User '${member}' is not a member of the organization`);
    }
    if (index >= 0) {
      if (ctx.config.addExistingTeamMemberStatus === 409) fail(409, `User '${member}' is already a member of the team`);
      return;
    }
    team.members.push({ login: member, role: 'member' });
    return;
  }
  if (index < 0) {
    if (memberAction === 'remove' && ctx.config.removeAbsentTeamMemberStatus === 204) return;
    fail(memberAction === 'remove' ? ctx.config.removeAbsentTeamMemberStatus : 404, `User '${member}' is not a member of the team`);
  }
  if (memberAction === 'remove') team.members.splice(index, 1);
  else team.members[index].role = memberAction === 'promote' ? 'admin' : 'member';
}

function stackRef(value: unknown, key: string): { projectName: string; stackName: string; permission?: unknown } {
  const v = value as Record<string, unknown>;
  if (v === null || typeof v !== 'object' || typeof v.projectName !== 'string' || typeof v.stackName !== 'string' || !v.projectName || !v.stackName) {
    fail(400, `${key} needs projectName and stackName`);
  }
  return { projectName: v.projectName, stackName: v.stackName, permission: v.permission };
}

function setGrant(ctx: ApiContext, team: EmuTeam, kind: 'addStackPermission' | 'editStackPermission', value: unknown): void {
  const ref = stackRef(value, kind);
  if (typeof ref.permission !== 'number' || !PERMISSION_LEVELS.has(ref.permission)) {
    fail(400, `Unrecognised permission ${String(ref.permission)}; use 101 (read), 102 (write) or 103 (admin)`);
  }
  const stackExists = ctx.state.stacks.some((s) => s.projectName === ref.projectName && s.stackName === ref.stackName);
  if (!stackExists && ctx.config.grantOnUnknownStack !== 'allow') {
    fail(ctx.config.grantOnUnknownStack, `Stack '${ref.projectName}/${ref.stackName}' not found`);
  }
  const existing = team.stacks.find((s) => s.projectName === ref.projectName && s.stackName === ref.stackName);
  if (existing) {
    if (kind === 'addStackPermission' && ctx.config.addExistingGrant !== 'overwrite') {
      fail(ctx.config.addExistingGrant, `Team already has a permission on '${ref.projectName}/${ref.stackName}'`);
    }
    existing.permission = ref.permission;
    return;
  }
  if (kind === 'editStackPermission' && ctx.config.editMissingGrant !== 'create') {
    fail(ctx.config.editMissingGrant, `Team has no permission on '${ref.projectName}/${ref.stackName}'`);
  }
  team.stacks.push({ projectName: ref.projectName, stackName: ref.stackName, permission: ref.permission });
}

function removeGrant(ctx: ApiContext, team: EmuTeam, value: unknown): void {
  const ref = stackRef(value, 'removeStack');
  const index = team.stacks.findIndex((s) => s.projectName === ref.projectName && s.stackName === ref.stackName);
  if (index < 0) {
    if (ctx.config.removeMissingGrant === 204) return;
    fail(ctx.config.removeMissingGrant, `Team has no permission on '${ref.projectName}/${ref.stackName}'`);
  }
  team.stacks.splice(index, 1);
}

// ---------------------------------------------------------------------------------------------
// Tokens

function isExpired(token: EmuToken): boolean {
  return token.expires !== 0 && token.expires <= nowSeconds();
}

function listTokens(ctx: ApiContext, scope: string, owned: (t: EmuToken) => boolean): ApiResult {
  const filter = ctx.query.get('filter') ?? 'active';
  if (filter !== 'active' && filter !== 'expired' && filter !== 'all') fail(400, 'filter must be active, expired or all');
  const tokens = ctx.state.tokens.filter((t) => owned(t) && !t.deleted && (filter === 'all' || (filter === 'expired') === isExpired(t)));
  const { items, continuationToken } = page(ctx, `${scope}:${filter}`, tokens, ctx.config.pageSizes.tokens);
  return { status: 200, json: { tokens: items.map(tokenView), ...(continuationToken ? { continuationToken } : {}) } };
}

function createToken(ctx: ApiContext, type: 'team' | 'organization', team?: string): ApiResult {
  requireWrite(ctx);
  const body = bodyObject(ctx);
  const { name, description, expires, admin } = body;
  if (typeof name !== 'string' || name.trim() === '') fail(400, 'name is required', [{ resource: 'token', attribute: 'name', errorType: 'required' }]);
  if (name.length > MAX_TOKEN_NAME) {
    fail(400, `Token name must be at most ${MAX_TOKEN_NAME} characters`, [{ resource: 'token', attribute: 'name', errorType: 'invalid' }]);
  }
  if (description !== undefined && typeof description !== 'string') fail(400, 'description must be a string');
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires))) fail(400, 'expires must be unix seconds');
  const expiresAt = (expires as number | undefined) ?? 0;
  const now = nowSeconds();
  if (expiresAt !== 0 && (expiresAt <= now || expiresAt > now + TWO_YEARS_S)) {
    fail(400, 'expires must be in the future and at most two years ahead', [{ resource: 'token', attribute: 'expires', errorType: 'invalid' }]);
  }
  if (type === 'organization' && typeof admin !== 'boolean') fail(400, 'admin is required', [{ resource: 'token', attribute: 'admin', errorType: 'required' }]);
  // Names are unique across org and team tokens, deleted ones included (§3.6).
  if (ctx.state.tokens.some((t) => t.name === name)) {
    fail(ctx.config.tokenNameTakenStatus, `An access token named '${name}' already exists or existed in this organization`, [
      { resource: 'token', attribute: 'name', errorType: 'already_exists' },
    ]);
  }
  const tokenValue = newTokenValue();
  const token: EmuToken = {
    id: newId(ctx.state, 'tok'),
    name,
    description: (description as string | undefined) ?? '',
    created: new Date().toISOString(),
    createdBy: ctx.principal.login,
    lastUsed: 0,
    expires: expiresAt,
    admin: type === 'organization' ? (admin as boolean) : false,
    type,
    ...(team === undefined ? {} : { team }),
    deleted: false,
    valueHash: hashToken(tokenValue),
  };
  ctx.state.tokens.push(token);
  return { status: 200, json: { id: token.id, tokenValue } };
}

function deleteToken(ctx: ApiContext, type: 'team' | 'organization', team?: string): ApiResult {
  requireWrite(ctx);
  const token = ctx.state.tokens.find((t) => t.id === ctx.params.tokenId && !t.deleted);
  if (token && token.type !== type) fail(400, `Token '${ctx.params.tokenId}' is not ${type === 'team' ? 'a team' : 'an organization'} token`);
  if (!token || (type === 'team' && token.team !== team)) {
    if (ctx.config.deleteUnknownTokenStatus === 204) return { status: 204 };
    fail(ctx.config.deleteUnknownTokenStatus, `Access token '${ctx.params.tokenId}' not found`);
  }
  token.deleted = true;
  return { status: 204 };
}

const listTeamTokens: Handler = (ctx) => {
  const team = findTeam(ctx);
  return listTokens(ctx, `team:${team.name}`, (t) => t.type === 'team' && t.team === team.name);
};
const createTeamToken: Handler = (ctx) => createToken(ctx, 'team', findTeam(ctx).name);
const deleteTeamToken: Handler = (ctx) => deleteToken(ctx, 'team', findTeam(ctx).name);

const listOrgTokens: Handler = (ctx) => {
  requireOrg(ctx);
  return listTokens(ctx, 'org', (t) => t.type === 'organization');
};
const createOrgToken: Handler = (ctx) => {
  requireOrg(ctx);
  return createToken(ctx, 'organization');
};
const deleteOrgToken: Handler = (ctx) => {
  requireOrg(ctx);
  return deleteToken(ctx, 'organization');
};

// ---------------------------------------------------------------------------------------------
// Org members

const listMembers: Handler = (ctx) => {
  requireOrg(ctx);
  const type = ctx.query.get('type') ?? ctx.config.membersDefaultRoster;
  if (type !== 'frontend' && type !== 'backend') fail(400, 'type must be frontend or backend');
  // Paged first, rendered after: a view looks its account up, so rendering the whole roster for
  // every page made a full roster read quadratic in the org's size.
  const entries: Array<() => OrganizationMember> = ctx.state.members.map((m) => () => memberView(ctx, m.login, m.role, m.created));
  if (type === 'backend') {
    for (const person of ctx.state.idpOnly) {
      entries.push(() => ({
        user: { name: person.name, githubLogin: person.login, avatarUrl: '' },
        role: 'potential-member',
        knownToPulumi: false,
        virtualAdmin: false,
      }));
    }
    if (ctx.config.backendRosterIncludesOrgEntry) {
      entries.unshift(() => ({
        user: { name: ctx.state.org, githubLogin: ctx.state.org, avatarUrl: '' },
        role: 'none',
        knownToPulumi: false,
        virtualAdmin: false,
      }));
    }
  }
  const { items, continuationToken } = page(ctx, `members:${type}`, entries, ctx.config.pageSizes.members);
  return { status: 200, json: { members: items.map((render) => render()), ...(continuationToken ? { continuationToken } : {}) } };
};

const addMember: Handler = (ctx) => {
  requireOrg(ctx);
  requireWrite(ctx);
  const body = ctx.body === undefined ? {} : bodyObject(ctx);
  const role = body.role ?? 'member';
  if (role !== 'member' && role !== 'admin' && role !== 'billing-manager') fail(400, 'role must be member, admin or billing-manager');
  const login = ctx.params.login;
  if (!ctx.state.accounts.some((a) => a.login === login)) fail(404, `User '${login}' not found`);
  if (ctx.state.members.some((m) => m.login === login)) fail(409, `User '${login}' is already a member of the organization`);
  const member = { login, role: role as OrgRole, created: new Date().toISOString() };
  ctx.state.members.push(member);
  return { status: 200, json: memberView(ctx, login, member.role, member.created) };
};

const removeMember: Handler = (ctx) => {
  requireOrg(ctx);
  requireWrite(ctx);
  const login = ctx.params.login;
  if (login === ctx.principal.login) fail(400, 'You cannot remove yourself from the organization');
  const index = ctx.state.members.findIndex((m) => m.login === login);
  if (index < 0) fail(404, `User '${login}' not found`);
  ctx.state.members.splice(index, 1);
  // Removing an org member removes them from every team (§3.8).
  for (const team of ctx.state.teams) team.members = team.members.filter((m) => m.login !== login);
  return { status: 204 };
};

const memberTeams: Handler = (ctx) => {
  requireOrg(ctx);
  const login = ctx.params.login;
  if (!ctx.state.members.some((m) => m.login === login)) fail(404, `User '${login}' not found`);
  return { status: 200, json: { teams: ctx.state.teams.filter((t) => t.members.some((m) => m.login === login)).map((t) => t.name) } };
};

// ---------------------------------------------------------------------------------------------
// Stacks

const userStacks: Handler = (ctx) => {
  const organization = ctx.query.get('organization');
  const project = ctx.query.get('project');
  const tagName = ctx.query.get('tagName');
  const tagValue = ctx.query.get('tagValue');
  const visible = organization === null || organization === '' || organization === ctx.state.org ? ctx.state.stacks : [];
  const stacks = visible.filter(
    (s) => (!project || s.projectName === project) && (!tagName || (tagName in s.tags && (!tagValue || s.tags[tagName] === tagValue))),
  );
  const scope = `stacks:${organization ?? ''}:${project ?? ''}:${tagName ?? ''}:${tagValue ?? ''}`;
  const { items, continuationToken } = page(ctx, scope, stacks, ctx.config.pageSizes.stacks);
  return {
    status: 200,
    json: {
      stacks: items.map((s) => ({
        orgName: ctx.state.org,
        projectName: s.projectName,
        stackName: s.stackName,
        id: s.id,
        ...(s.lastUpdate !== undefined ? { lastUpdate: s.lastUpdate } : {}),
        ...(s.resourceCount !== undefined ? { resourceCount: s.resourceCount } : {}),
      })),
      ...(continuationToken ? { continuationToken } : {}),
    },
  };
};

const getStack: Handler = (ctx) => {
  requireOrg(ctx);
  const stack = ctx.state.stacks.find((s) => s.projectName === ctx.params.project && s.stackName === ctx.params.stack);
  if (!stack) fail(404, `Stack '${ctx.params.project}/${ctx.params.stack}' not found`);
  return { status: 200, json: { orgName: ctx.state.org, projectName: stack.projectName, stackName: stack.stackName, id: stack.id, tags: stack.tags } };
};

// ---------------------------------------------------------------------------------------------
// ESC environments

/** ListOrgEnvironments (§3.10): the cursor goes out as `nextToken` and comes back as `continuationToken`. */
const listOrgEnvironments: Handler = (ctx) => {
  requireOrg(ctx);
  const { items, continuationToken } = page(ctx, 'environments', ctx.state.environments ?? [], ctx.config.pageSizes.environments);
  return {
    status: 200,
    json: { environments: items.map((e) => environmentView(ctx.state.org, e)), ...(continuationToken ? { nextToken: continuationToken } : {}) },
  };
};

/** Literal routes before parameterised ones that share their shape. */
export const ROUTES: Route[] = [
  { method: 'GET', template: '/api/orgs/{org}/teams', handler: listTeams },
  { method: 'POST', template: '/api/orgs/{org}/teams/pulumi', handler: createTeam },
  { method: 'GET', template: '/api/orgs/{org}/teams/{team}', handler: getTeam },
  { method: 'PATCH', template: '/api/orgs/{org}/teams/{team}', handler: patchTeam },
  { method: 'DELETE', template: '/api/orgs/{org}/teams/{team}', handler: deleteTeam },
  { method: 'GET', template: '/api/orgs/{org}/teams/{team}/tokens', handler: listTeamTokens },
  { method: 'POST', template: '/api/orgs/{org}/teams/{team}/tokens', handler: createTeamToken },
  { method: 'DELETE', template: '/api/orgs/{org}/teams/{team}/tokens/{tokenId}', handler: deleteTeamToken },
  { method: 'GET', template: '/api/orgs/{org}/tokens', handler: listOrgTokens },
  { method: 'POST', template: '/api/orgs/{org}/tokens', handler: createOrgToken },
  { method: 'DELETE', template: '/api/orgs/{org}/tokens/{tokenId}', handler: deleteOrgToken },
  { method: 'GET', template: '/api/orgs/{org}/members', handler: listMembers },
  { method: 'POST', template: '/api/orgs/{org}/members/{login}', handler: addMember },
  { method: 'DELETE', template: '/api/orgs/{org}/members/{login}', handler: removeMember },
  { method: 'GET', template: '/api/orgs/{org}/members/{login}/teams', handler: memberTeams },
  { method: 'GET', template: '/api/user/stacks', handler: userStacks },
  { method: 'GET', template: '/api/stacks/{org}/{project}/{stack}', handler: getStack },
  { method: 'GET', template: '/api/esc/environments/{org}', handler: listOrgEnvironments },
];

export type RouteMatch = { kind: 'found'; route: Route; params: Record<string, string> } | { kind: 'wrong-method' } | { kind: 'none' };

/** Matches decoded path segments against a route table (the one above unless given). */
export function matchRoute(method: string, segments: string[], routes: readonly Route[] = ROUTES): RouteMatch {
  let pathKnown = false;
  for (const route of routes) {
    const params = matchTemplate(route.template, segments);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    pathKnown = true;
  }
  return pathKnown ? { kind: 'wrong-method' } : { kind: 'none' };
}

function matchTemplate(template: string, segments: string[]): Record<string, string> | undefined {
  const parts = template.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (part.startsWith('{')) {
      if (segments[i] === '') return undefined;
      params[part.slice(1, -1)] = segments[i];
    } else if (part !== segments[i]) {
      return undefined;
    }
  }
  return params;
}
