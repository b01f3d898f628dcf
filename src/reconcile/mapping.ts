import { listDirectoryGroups, peopleByIds, type Db, type DirectoryPerson, type Trx } from '../directory';
import type { OutboxEvent } from '../outbox';
import { forgetLoginLinks } from './identity-links';
import { adminTeamsForGroup, loginFor, type Policy, teamsForGroup } from '../policy';

/**
 * Directory lookups shared by the relay and the reconciler: which teams a set of groups
 * affects, and the identities table that remembers logins after a user is deleted.
 */

type Conn = Db | Trx;

/**
 * Teams a change to each of these groups can affect: what the rules map the group to now, plus
 * the teams it was last reconciled into (a renamed or deleted group still finds its old team).
 * Two queries for any number of groups, so the relay asks once per batch, not per event.
 */
export async function teamsByGroupId(conn: Conn, policy: Policy, groupIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const ids = [...new Set(groupIds)];
  const teams = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  if (ids.length === 0) return teams;
  const groups = await listDirectoryGroups(conn, ids);
  for (const g of groups) for (const m of teamsForGroup(policy, { displayName: g.display_name, externalId: g.external_id })) teams.get(g.id)?.add(m.team);
  // A rule's admins group changes who is admin (and member) of its team.
  for (const g of groups) for (const m of adminTeamsForGroup(policy, { displayName: g.display_name, externalId: g.external_id })) teams.get(g.id)?.add(m.team);
  const previous: Array<{ group_id: string; team: string }> = await conn('team_groups').whereIn('group_id', ids).distinct('group_id', 'team');
  for (const p of previous) teams.get(p.group_id)?.add(p.team);
  return teams;
}

export type UserRow = DirectoryPerson;

/**
 * Records the login each user has under the current policy. Older logins of the same user
 * stay (their tokens still belong to that person) and follow the user's state.
 */
export async function recordIdentities(conn: Conn, policy: Policy, users: readonly UserRow[]): Promise<void> {
  const rows = [];
  for (const u of users) {
    const login = loginFor(policy.login, { userName: u.user_name, externalId: u.external_id, resource: u.resource });
    if (login)
      rows.push({
        user_id: u.id,
        login,
        login_lower: login.toLowerCase(),
        state: u.active ? 'active' : 'inactive',
        updated_at: conn.fn.now(),
        deleted_at: null,
      });
  }
  for (let i = 0; i < rows.length; i += 1000) {
    // Rows that already say the same are left alone: every reconcile records its members, and
    // rewriting unchanged rows was most of that cost.
    await conn('identities')
      .insert(rows.slice(i, i + 1000))
      .onConflict(['user_id', 'login_lower'])
      .merge(['login', 'state', 'updated_at', 'deleted_at'])
      .whereRaw('(identities.login, identities.state, identities.deleted_at) IS DISTINCT FROM (excluded.login, excluded.state, excluded.deleted_at)');
  }
  const byState = new Map<string, string[]>();
  for (const u of users) byState.set(u.active ? 'active' : 'inactive', [...(byState.get(u.active ? 'active' : 'inactive') ?? []), u.id]);
  for (const [state, ids] of byState) {
    await conn('identities').whereIn('user_id', ids).whereNot('state', state).update({ state, updated_at: conn.fn.now() });
  }
}

export async function markIdentitiesDeleted(conn: Conn, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await conn('identities').whereIn('user_id', userIds).update({ state: 'deleted', deleted_at: conn.fn.now(), updated_at: conn.fn.now() });
}

/**
 * Keeps the identities table in step with a batch of directory events, in the caller's
 * transaction: the logins of users the events touched, and the deletion of deleted users.
 */
export async function recordIdentityChanges(conn: Conn, policy: Policy, events: readonly OutboxEvent[]): Promise<void> {
  const touched = new Set<string>();
  const deleted = new Set<string>();
  for (const event of events) {
    if (!('userId' in event)) continue;
    if (event.kind === 'user.deleted') deleted.add(event.userId);
    else touched.add(event.userId);
  }
  if (touched.size > 0) {
    const users = await peopleByIds(conn, [...touched]);
    await recordIdentities(conn, policy, users);
  }
  await markIdentitiesDeleted(conn, [...deleted]);
  await forgetLoginLinks(conn, [...deleted]);
}
