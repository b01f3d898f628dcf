import type { LoginSource, Permission, Policy, StackRule } from './load';
import { isManageableTeamName } from './load';
import { type EnvironmentGrant, type EnvironmentRule, environmentKey, environmentRank, longerOpen, type OrgEnvironment } from './environments';

/**
 * Pure rules that turn directory rows into Pulumi names: a user's login, the teams a group
 * maps to, and the grants a team's rules resolve to against the org's stacks.
 */

/** The fields of a SCIM user the login rule can read (`users` row). */
export interface DirectoryUser {
  userName: string;
  externalId?: string | null;
  /** The stored SCIM resource (`users.resource`). */
  resource?: unknown;
}

/**
 * The Pulumi login for a user, or undefined when the configured attribute is empty. Logins
 * are compared case-insensitively elsewhere; the value is sent to Pulumi as found.
 */
export function loginFor(source: LoginSource, user: DirectoryUser): string | undefined {
  const value = rawLogin(source, user);
  const trimmed = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
  return trimmed ? trimmed : undefined;
}

function rawLogin(source: LoginSource, user: DirectoryUser): unknown {
  if (typeof source === 'object') return attributeAt(user.resource, source.attributePath);
  switch (source) {
    case 'userName':
      return user.userName;
    case 'userNameLocalPart': {
      const at = user.userName.indexOf('@');
      return at < 0 ? user.userName : user.userName.slice(0, at);
    }
    case 'externalId':
      return user.externalId ?? (user.resource as { externalId?: unknown } | undefined)?.externalId;
    case 'email':
      return preferredEmail(user.resource);
  }
}

/** The primary email, else the work email, else the first one. */
function preferredEmail(resource: unknown): string | undefined {
  const emails = (resource as { emails?: unknown })?.emails;
  if (!Array.isArray(emails)) return undefined;
  const valid = emails.filter((e): e is { value: string; primary?: unknown; type?: unknown } => typeof e?.value === 'string');
  return (valid.find((e) => e.primary === true) ?? valid.find((e) => e.type === 'work') ?? valid[0])?.value;
}

/**
 * Reads `name.givenName` or `urn:…:enterprise:2.0:User:employeeNumber` from a SCIM resource.
 * Extension attributes live under their schema URN (RFC 7643 §3.3); core names match
 * case-insensitively (RFC 7643 §2.1).
 */
export function attributeAt(resource: unknown, path: string): unknown {
  if (!resource || typeof resource !== 'object') return undefined;
  let node: unknown = resource;
  let rest = path;
  if (path.startsWith('urn:')) {
    const cut = path.lastIndexOf(':');
    const urn = path.slice(0, cut);
    node = getCaseInsensitive(resource, urn);
    rest = path.slice(cut + 1);
  }
  for (const part of rest.split('.')) node = getCaseInsensitive(node, part);
  return node;
}

function getCaseInsensitive(node: unknown, key: string): unknown {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const record = node as Record<string, unknown>;
  if (key in record) return record[key];
  const lower = key.toLowerCase();
  const found = Object.keys(record).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : record[found];
}

export interface TeamMatch {
  team: string;
  ruleIndex: number;
  /** The rule's stable key (`TeamRule.key`). */
  ruleKey: string;
}

/** A SCIM group as the rules see it. */
export interface RuleGroup {
  displayName: string;
  /** The IdP's id of the group (Entra objectId, Okta group id); compared exactly. */
  externalId?: string | null;
}

/**
 * Pattern rules never see a group name longer than this: it bounds the matching work per name
 * even for patterns the load-time lint lets through, and it is longer than the group names Okta
 * and Entra allow (docs/robustness.md, "Bounded work").
 */
export const GROUP_PATTERN_MAX_SUBJECT = 256;

/** The teams a group maps to by the rules as written: every matching rule counts, a team appears once per rule. */
export function teamsForGroup(policy: Policy, group: RuleGroup): TeamMatch[] {
  const out: TeamMatch[] = [];
  const lower = group.displayName.toLowerCase();
  for (const rule of policy.rules) {
    const match = rule.match;
    if (match.kind === 'group' || match.kind === 'externalId') {
      const hit = match.kind === 'group' ? match.nameLower === lower : Boolean(group.externalId) && match.externalId === group.externalId;
      if (hit && rule.team) out.push({ team: rule.team, ruleIndex: rule.index, ruleKey: rule.key });
      continue;
    }
    if (group.displayName.length > GROUP_PATTERN_MAX_SUBJECT) continue;
    const team = match.re.exec(group.displayName)?.groups?.team;
    if (team && isManageableTeamName(team)) out.push({ team, ruleIndex: rule.index, ruleKey: rule.key });
  }
  return out;
}

/** `*` matches any run of characters, `?` one character; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export interface OrgStack {
  projectName: string;
  stackName: string;
}

export function grantKey(projectName: string, stackName: string): string {
  return `${projectName}/${stackName}`;
}

/**
 * Resolves stack rules against the org's stacks. When several rules grant one stack, the
 * highest permission wins (read < write < admin).
 */
export function resolveGrants(
  rules: readonly StackRule[],
  stacks: readonly OrgStack[],
): Map<string, { projectName: string; stackName: string; permission: Permission }> {
  const grants = new Map<string, { projectName: string; stackName: string; permission: Permission }>();
  const compiled = rules.map((r) => ({ project: globToRegExp(r.project), stack: globToRegExp(r.stack), permission: r.permission }));
  for (const s of stacks) {
    for (const rule of compiled) {
      if (!rule.project.test(s.projectName) || !rule.stack.test(s.stackName)) continue;
      const key = grantKey(s.projectName, s.stackName);
      const current = grants.get(key);
      if (!current || rankOf(rule.permission) > rankOf(current.permission)) {
        grants.set(key, { projectName: s.projectName, stackName: s.stackName, permission: rule.permission });
      }
    }
  }
  return grants;
}

/**
 * Resolves environment rules against the org's environments. When several rules grant one
 * environment the highest permission wins; among rules at that level, the longest
 * `maxOpenDuration` (a rule without one sets no limit, which is the longest of all).
 */
export function resolveEnvironmentGrants(rules: readonly EnvironmentRule[], environments: readonly OrgEnvironment[]): Map<string, EnvironmentGrant> {
  const grants = new Map<string, EnvironmentGrant>();
  const compiled = rules.map((r) => ({ ...r, projectRe: globToRegExp(r.project), environmentRe: globToRegExp(r.environment) }));
  for (const env of environments) {
    for (const rule of compiled) {
      if (!rule.projectRe.test(env.project) || !rule.environmentRe.test(env.name)) continue;
      const key = environmentKey(env.project, env.name);
      const current = grants.get(key);
      const candidate: EnvironmentGrant = {
        projectName: env.project,
        envName: env.name,
        permission: rule.permission,
        ...(rule.maxOpenDuration ? { maxOpenDuration: rule.maxOpenDuration } : {}),
      };
      if (!current || environmentRank(candidate.permission) > environmentRank(current.permission)) grants.set(key, candidate);
      else if (candidate.permission === current.permission && longerOpen(candidate.maxOpenDuration, current.maxOpenDuration)) grants.set(key, candidate);
    }
  }
  return new Map([...grants].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Pulumi asks to treat permission values as names, not to compare them numerically
 * (docs/pulumi-api.md, "Permission levels"), so the order is spelled out. 104 ("creator") has the same access as
 * admin, so moving a creator grant to read or write is a narrowing. Unknown values rank -1,
 * "below read", which makes any desired level an upgrade.
 */
export function rankOf(permission: number): number {
  return permission === 101 ? 1 : permission === 102 ? 2 : permission === 103 || permission === 104 ? 3 : -1;
}
