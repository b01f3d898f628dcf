import {
  type Db,
  groupIdsByExternalId,
  groupNamesOf,
  isGroupMember,
  isMemberOfGroupNamed,
  peopleByExternalId,
  peopleByUserName,
  personById,
  type PersonRef,
} from '../directory';
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

type UserRow = PersonRef;

/**
 * By externalId: members of the one group carrying it (none when several groups do, since
 * then the IdP's id no longer names one group). By displayName: members of any group with
 * that name, as before externalId could be given.
 */
async function isMemberOf(db: Db, userId: string, adminGroup: AdminGroupRef | undefined): Promise<boolean> {
  if (!adminGroup) return false;
  if ('externalId' in adminGroup) {
    const groupIds = await groupIdsByExternalId(db, adminGroup.externalId);
    return groupIds.length === 1 && isGroupMember(db, groupIds[0], userId);
  }
  return isMemberOfGroupNamed(db, userId, adminGroup.displayName);
}

async function toPerson(db: Db, row: UserRow, adminGroup: AdminGroupRef | undefined): Promise<Person> {
  return { id: row.id, userName: row.user_name, active: row.active, isAdmin: row.active && (await isMemberOf(db, row.id, adminGroup)) };
}

/**
 * The people a sign-in names: none, one, or — when several SCIM users share an externalId —
 * two, which the caller must refuse rather than pick from.
 */
export async function findPeopleBySubject(db: Db, subject: LoginSubject, adminGroup: AdminGroupRef | undefined): Promise<Person[]> {
  const rows = 'externalId' in subject ? await peopleByExternalId(db, subject.externalId) : await peopleByUserName(db, subject.userName);
  return Promise.all(rows.map((row) => toPerson(db, row, adminGroup)));
}

export async function findPersonById(db: Db, id: string, adminGroup: AdminGroupRef | undefined): Promise<Person | undefined> {
  const row = await personById(db, id);
  return row ? toPerson(db, row, adminGroup) : undefined;
}

/** The SCIM groups a person belongs to, by display name. */
export function groupsOf(db: Db, userId: string): Promise<string[]> {
  return groupNamesOf(db, userId);
}
