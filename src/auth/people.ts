import type { Db } from '../directory/db';

/**
 * People who may use the console: SCIM-provisioned users, looked up by userName
 * case-insensitively (the unique index is on lower(user_name)). Admins are members of the
 * configured IdP group, matched by displayName case-insensitively.
 */
export interface Person {
  id: string;
  userName: string;
  active: boolean;
  isAdmin: boolean;
}

async function isMemberOf(db: Db, userId: string, groupName: string | undefined): Promise<boolean> {
  if (!groupName) return false;
  const row = await db('group_members as gm')
    .join('groups as g', 'g.id', 'gm.group_id')
    .where('gm.user_id', userId)
    .whereRaw('lower(g.display_name) = lower(?)', [groupName])
    .first('gm.user_id');
  return row !== undefined;
}

async function toPerson(db: Db, row: { id: string; user_name: string; active: boolean } | undefined, adminGroup: string | undefined): Promise<Person | undefined> {
  if (!row) return undefined;
  return { id: row.id, userName: row.user_name, active: row.active, isAdmin: row.active && (await isMemberOf(db, row.id, adminGroup)) };
}

export async function findPersonByLogin(db: Db, login: string, adminGroup: string | undefined): Promise<Person | undefined> {
  const row = await db('users').whereRaw('lower(user_name) = lower(?)', [login]).first('id', 'user_name', 'active');
  return toPerson(db, row, adminGroup);
}

export async function findPersonById(db: Db, id: string, adminGroup: string | undefined): Promise<Person | undefined> {
  const row = await db('users').where({ id }).first('id', 'user_name', 'active');
  return toPerson(db, row, adminGroup);
}

/** The SCIM groups a person belongs to, by display name. */
export async function groupsOf(db: Db, userId: string): Promise<string[]> {
  const rows: Array<{ display_name: string }> = await db('group_members as gm')
    .join('groups as g', 'g.id', 'gm.group_id')
    .where('gm.user_id', userId)
    .orderByRaw('lower(g.display_name)')
    .select('g.display_name');
  return rows.map((r) => r.display_name);
}
