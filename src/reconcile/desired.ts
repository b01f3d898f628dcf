import type { Db, Trx } from '../directory/db';
import { grantKey, loginFor, OrgStack, Policy, resolveGrants, StackRule, teamsForGroup } from '../policy';
import type { DesiredTeam } from './types';
import { USER_COLUMNS, UserRow } from './mapping';

/**
 * Desired state from the directory and the policy: for each team some rule maps an existing
 * SCIM group to, its members (active users of those groups with a login), its grants (the
 * rules' stack globs resolved against the org's stacks, highest permission wins), and names.
 */

type Conn = Db | Trx;

export interface DirectorySnapshot {
  teams: Map<string, DesiredTeam>;
  /** Every user read, active or not: the reconciler records their identities. */
  users: UserRow[];
}

const MAX_DISPLAY_NAME = 100;
const MAX_DESCRIPTION = 200;

/**
 * Reads the directory for the given teams (all mapped teams when omitted). Teams no existing
 * group maps to are absent from the result.
 */
export async function readDirectory(conn: Conn, policy: Policy, stacks: readonly OrgStack[], only?: Iterable<string>): Promise<DirectorySnapshot> {
  const wanted = only ? new Set(only) : undefined;
  const groups: Array<{ id: string; display_name: string }> = await conn('groups').select('id', 'display_name');
  const teamGroups = new Map<string, { groups: Array<{ id: string; displayName: string }>; rules: Set<number> }>();
  for (const g of groups) {
    for (const m of teamsForGroup(policy, g.display_name)) {
      if (wanted && !wanted.has(m.team)) continue;
      const entry = teamGroups.get(m.team) ?? { groups: [], rules: new Set<number>() };
      if (!entry.groups.some((x) => x.id === g.id)) entry.groups.push({ id: g.id, displayName: g.display_name });
      entry.rules.add(m.ruleIndex);
      teamGroups.set(m.team, entry);
    }
  }

  const groupIds = [...new Set([...teamGroups.values()].flatMap((e) => e.groups.map((g) => g.id)))];
  const membersByGroup = new Map<string, UserRow[]>();
  const users = new Map<string, UserRow>();
  for (let i = 0; i < groupIds.length; i += 500) {
    const rows: Array<UserRow & { group_id: string }> = await conn('group_members as gm')
      .join('users as u', 'u.id', 'gm.user_id')
      .whereIn('gm.group_id', groupIds.slice(i, i + 500))
      .select('gm.group_id', ...USER_COLUMNS.map((c) => `u.${c}`));
    for (const { group_id, ...user } of rows) {
      const list = membersByGroup.get(group_id) ?? [];
      list.push(user);
      membersByGroup.set(group_id, list);
      users.set(user.id, user);
    }
  }

  const logins = new Map<string, string | undefined>();
  for (const u of users.values()) {
    logins.set(u.id, loginFor(policy.login, { userName: u.user_name, externalId: u.external_id, resource: u.resource }));
  }

  const teams = new Map<string, DesiredTeam>();
  for (const [name, entry] of teamGroups) {
    entry.groups.sort((a, b) => (a.displayName < b.displayName ? -1 : a.displayName > b.displayName ? 1 : a.id < b.id ? -1 : 1));
    const members: DesiredTeam['members'] = new Map();
    const unmapped = new Set<string>();
    for (const g of entry.groups) {
      for (const u of membersByGroup.get(g.id) ?? []) {
        if (!u.active) continue;
        const login = logins.get(u.id);
        if (!login) unmapped.add(u.id);
        else members.set(login.toLowerCase(), { login, userId: u.id });
      }
    }
    const stackRules: StackRule[] = policy.rules.filter((r) => entry.rules.has(r.index)).flatMap((r) => r.stacks);
    const grants = resolveGrants(stackRules, stacks);
    const names = entry.groups.map((g) => `"${g.displayName}"`).join(', ');
    teams.set(name, {
      name,
      displayName: entry.groups[0].displayName.slice(0, MAX_DISPLAY_NAME),
      description: `Synced by pulumi-idp-sync from SCIM group${entry.groups.length > 1 ? 's' : ''} ${names}`.slice(0, MAX_DESCRIPTION),
      groups: entry.groups,
      members,
      grants: new Map([...grants].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v])),
      unmappedUsers: unmapped.size,
    });
  }
  return { teams, users: [...users.values()] };
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
