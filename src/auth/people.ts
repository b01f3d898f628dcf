import type { Db } from '../directory/db';
import type { AdminGroupRef } from './settings';
import type { LoginSubject } from './subject';

/**
 * People who may use the console: SCIM-provisioned users. A sign-in finds them by the SCIM
 * externalId (the IdP's user id, exact) or, where configured, by userName (case-insensitively:
 * the unique index is on lower(user_name)); from then on only their SCIM id is kept, so a
 * renamed userName keeps its person and a reused one finds nobody else's session or tokens.
 * Admins are members of the SCIM group SAML_ADMIN_GROUP names.
 */
export interface Person {
  id: string;
  userName: string;
  active: boolean;
  isAdmin: boolean;
}

type UserRow = { id: string; user_name: string; active: boolean };

/**
 * By externalId: members of the one group carrying it (none when several groups do, since
 * then the IdP's id no longer names one group). By displayName: members of any group with
 * that name, as before externalId could be given.
 */
async function isMemberOf(db: Db, userId: string, adminGroup: AdminGroupRef | undefined): Promise<boolean> {
  if (!adminGroup) return false;
  if ('externalId' in adminGroup) {
    const groupIds: string[] = await db('groups').where('external_id', adminGroup.externalId).limit(2).pluck('id');
    if (groupIds.length !== 1) return false;
    return (await db('group_members').where({ group_id: groupIds[0], user_id: userId }).first('user_id')) !== undefined;
  }
  const row = await db('group_members as gm')
    .join('groups as g', 'g.id', 'gm.group_id')
    .where('gm.user_id', userId)
    .whereRaw('lower(g.display_name) = lower(?)', [adminGroup.displayName])
    .first('gm.user_id');
  return row !== undefined;
}

async function toPerson(db: Db, row: UserRow, adminGroup: AdminGroupRef | undefined): Promise<Person> {
  return { id: row.id, userName: row.user_name, active: row.active, isAdmin: row.active && (await isMemberOf(db, row.id, adminGroup)) };
}

/**
 * The people a sign-in names: none, one, or — when several SCIM users share an externalId —
 * two, which the caller must refuse rather than pick from.
 */
export async function findPeopleBySubject(db: Db, subject: LoginSubject, adminGroup: AdminGroupRef | undefined): Promise<Person[]> {
  const rows: UserRow[] =
    'externalId' in subject
      ? await db('users').where('external_id', subject.externalId).limit(2).select('id', 'user_name', 'active')
      : await db('users').whereRaw('lower(user_name) = lower(?)', [subject.userName]).limit(2).select('id', 'user_name', 'active');
  return Promise.all(rows.map((row) => toPerson(db, row, adminGroup)));
}

export async function findPersonById(db: Db, id: string, adminGroup: AdminGroupRef | undefined): Promise<Person | undefined> {
  const row: UserRow | undefined = await db('users').where({ id }).first('id', 'user_name', 'active');
  return row ? toPerson(db, row, adminGroup) : undefined;
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
