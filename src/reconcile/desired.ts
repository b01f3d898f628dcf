import { listDirectoryGroups, peopleInGroups, type Db, type DirectoryGroup, type Trx } from '../directory';
import {
  type AdoptMode,
  grantKey,
  loginFor,
  type OrgEnvironment,
  type OrgStack,
  type Policy,
  resolveEnvironmentGrants,
  resolveGrants,
  type StackRule,
  teamsForGroup,
} from '../policy';
import { resolveLogins, type LoginResolution } from './identity-links';
import { readTeamRoles } from './desired-roles';
import type { DesiredMember, DesiredTeam } from './types';
import type { UserRow } from './mapping';

/**
 * Desired state from the directory and the policy: for each team some rule maps an existing
 * SCIM group to, its members (active users of those groups with a linked login), its grants
 * (the rules' stack globs resolved against the org's stacks, and their environment globs against
 * the org's ESC environments; highest permission wins), and names.
 *
 * Groups are anchored on their SCIM id (docs/live-org.md): a group a rule bound to a team
 * stays bound while that rule stands, even once renamed in the IdP, and a rule that would
 * match two groups blocks its team instead of guessing.
 */

type Conn = Db | Trx;

export interface DirectorySnapshot {
  teams: Map<string, DesiredTeam>;
  /** Every user read, active or not: the reconciler records their identities. */
  users: UserRow[];
  /** How each user read resolved to a login (links to make, conflicts to record). */
  logins: LoginResolution;
}

const MAX_DISPLAY_NAME = 100;
const MAX_DESCRIPTION = 200;
const ADOPT_RANK: Record<AdoptMode, number> = { none: 0, grants: 1, full: 2 };

type GroupRow = DirectoryGroup;

export interface Binding {
  team: string;
  rule: Policy['rules'][number];
  groups: Map<string, { group: GroupRow; renamed: boolean }>;
}

/**
 * Which groups each (rule, team) pair takes: the groups the rule matches as written, plus the
 * groups it bound earlier that no longer match (renamed). A renamed group is not also mapped
 * to the team its new name would derive.
 */
export async function bindGroups(conn: Conn, policy: Policy): Promise<Map<string, Binding>> {
  const groups = await listDirectoryGroups(conn);
  const byId = new Map(groups.map((g) => [g.id, g]));
  const bound: Array<{ team: string; group_id: string; rule_key: string }> = await conn('team_groups')
    .whereNotNull('rule_key')
    .select('team', 'group_id', 'rule_key');
  const boundTo = new Map<string, Set<string>>();
  for (const b of bound) boundTo.set(`${b.rule_key}\0${b.group_id}`, (boundTo.get(`${b.rule_key}\0${b.group_id}`) ?? new Set()).add(b.team));

  const bindings = new Map<string, Binding>();
  const add = (rule: Binding['rule'], team: string, group: GroupRow, renamed: boolean) => {
    const key = `${rule.index}\0${team}`;
    const entry = bindings.get(key) ?? { team, rule, groups: new Map() };
    if (!entry.groups.has(group.id)) entry.groups.set(group.id, { group, renamed });
    bindings.set(key, entry);
  };
  for (const g of groups) {
    for (const m of teamsForGroup(policy, { displayName: g.display_name, externalId: g.external_id })) {
      const teamsBound = boundTo.get(`${m.ruleKey}\0${g.id}`);
      // Bound elsewhere by this very rule: the group was renamed, its binding stands.
      if (teamsBound && !teamsBound.has(m.team)) continue;
      add(policy.rules[m.ruleIndex], m.team, g, false);
    }
  }
  for (const b of bound) {
    const group = byId.get(b.group_id);
    const rule = policy.rules.find((r) => r.key === b.rule_key);
    if (!group || !rule || (rule.team !== undefined && rule.team !== b.team)) continue;
    const key = `${rule.index}\0${b.team}`;
    if (bindings.get(key)?.groups.has(group.id)) continue;
    add(rule, b.team, group, true);
  }
  return bindings;
}

/**
 * Reads the directory for the given teams (all mapped teams when omitted). Teams no existing
 * group maps to are absent from the result.
 */
export async function readDirectory(
  conn: Conn,
  policy: Policy,
  stacks: readonly OrgStack[],
  only?: Iterable<string>,
  environments: readonly OrgEnvironment[] = [],
): Promise<DirectorySnapshot> {
  const wanted = only ? new Set(only) : undefined;
  const teamGroups = new Map<
    string,
    {
      groups: Array<{ id: string; displayName: string; ruleKey: string }>;
      rules: Set<number>;
      adopt: AdoptMode;
      blocked: string[];
      renamed: Array<{ id: string; displayName: string }>;
    }
  >();
  for (const binding of (await bindGroups(conn, policy)).values()) {
    if (wanted && !wanted.has(binding.team)) continue;
    const { rule, team } = binding;
    const entry = teamGroups.get(team) ?? { groups: [], rules: new Set<number>(), adopt: rule.adopt, blocked: [], renamed: [] };
    if (ADOPT_RANK[rule.adopt] < ADOPT_RANK[entry.adopt]) entry.adopt = rule.adopt;
    if (binding.groups.size > 1) {
      const names = [...binding.groups.values()].map(({ group }) => `"${group.display_name}" (${group.id})`).join(', ');
      entry.blocked.push(
        `rule ${rule.index + 1}${rule.line ? ` (line ${rule.line})` : ''} matches ${binding.groups.size} groups: ${names}; name the group by groupExternalId`,
      );
    }
    for (const { group, renamed } of binding.groups.values()) {
      if (!entry.groups.some((x) => x.id === group.id)) entry.groups.push({ id: group.id, displayName: group.display_name, ruleKey: rule.key });
      if (renamed) entry.renamed.push({ id: group.id, displayName: group.display_name });
    }
    entry.rules.add(rule.index);
    teamGroups.set(team, entry);
  }

  const teamRoles = await readTeamRoles(conn, policy, teamGroups);
  const adminGroupIds = [...teamRoles.values()].flatMap((r) => r.adminGroupIds);
  const groupIds = [...new Set([...[...teamGroups.values()].flatMap((e) => e.groups.map((g) => g.id)), ...adminGroupIds])];
  const membersByGroup = new Map<string, UserRow[]>();
  const users = new Map<string, UserRow>();
  for (const { group_id, ...user } of await peopleInGroups(conn, groupIds)) {
    const list = membersByGroup.get(group_id) ?? [];
    list.push(user);
    membersByGroup.set(group_id, list);
    users.set(user.id, user);
  }

  const candidates = new Map<string, string | undefined>();
  for (const u of users.values()) {
    candidates.set(u.id, loginFor(policy.login, { userName: u.user_name, externalId: u.external_id, resource: u.resource }));
  }
  const logins = await resolveLogins(conn, candidates);

  const teams = new Map<string, DesiredTeam>();
  for (const [name, entry] of teamGroups) {
    entry.groups.sort((a, b) => (a.displayName < b.displayName ? -1 : a.displayName > b.displayName ? 1 : a.id < b.id ? -1 : 1));
    const members: DesiredTeam['members'] = new Map();
    const conflicted = new Map<string, DesiredMember>();
    const loginChanges = new Map<string, { userId: string; login: string; proposed: string }>();
    const unmapped = new Set<string>();
    // Admins are members too: someone only in an admins group still joins the team.
    const roles = teamRoles.get(name);
    const adminGroups = new Set(roles?.adminGroupIds ?? []);
    const admins = new Set<string>();
    for (const groupId of [...entry.groups.map((g) => g.id), ...adminGroups]) {
      for (const u of membersByGroup.get(groupId) ?? []) {
        if (!u.active) continue;
        const resolved = logins.byUser.get(u.id);
        if (!resolved) unmapped.add(u.id);
        else if (resolved.conflict) conflicted.set(u.id, { login: resolved.login, userId: u.id });
        else {
          members.set(resolved.login.toLowerCase(), { login: resolved.login, userId: u.id });
          if (adminGroups.has(groupId)) admins.add(resolved.login.toLowerCase());
        }
        if (resolved?.proposed) loginChanges.set(u.id, { userId: u.id, login: resolved.login, proposed: resolved.proposed });
      }
    }
    const teamRules = policy.rules.filter((r) => entry.rules.has(r.index));
    const stackRules: StackRule[] = teamRules.flatMap((r) => r.stacks);
    const grants = resolveGrants(stackRules, stacks);
    const names = entry.groups.map((g) => `"${g.displayName}"`).join(', ');
    const blocked = [...entry.blocked, ...(roles?.blocked ?? [])];
    teams.set(name, {
      name,
      displayName: entry.groups[0].displayName.slice(0, MAX_DISPLAY_NAME),
      description: `Synced by pulumi-idp-sync from SCIM group${entry.groups.length > 1 ? 's' : ''} ${names}`.slice(0, MAX_DESCRIPTION),
      groups: entry.groups,
      members,
      grants: new Map([...grants].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v])),
      environments: resolveEnvironmentGrants(
        teamRules.flatMap((r) => r.environments),
        environments,
      ),
      unmappedUsers: unmapped.size,
      conflicted: [...conflicted.values()],
      loginChanges: [...loginChanges.values()],
      adopt: entry.adopt,
      renamedGroups: entry.renamed,
      admins,
      ...(roles?.role !== undefined ? { role: roles.role } : {}),
      ...(blocked.length > 0 ? { blocked: blocked.join('; ') } : {}),
    });
  }
  return { teams, users: [...users.values()], logins };
}

/**
 * The desired state of teams: members (logins) and grants per team, for the teams given
 * (every mapped team when omitted). Read-only.
 */
export async function computeDesiredTeams(db: Conn, policy: Policy, stacks: readonly OrgStack[], teams?: Iterable<string>): Promise<Map<string, DesiredTeam>> {
  return (await readDirectory(db, policy, stacks, teams)).teams;
}

/** True when `login` is an active desired member of `team` under the policy. */
export async function isActiveMember(db: Conn, policy: Policy, team: string, login: string): Promise<boolean> {
  const desired = (await readDirectory(db, policy, [], [team])).teams.get(team);
  return desired?.members.has(login.toLowerCase()) ?? false;
}

export { grantKey };
