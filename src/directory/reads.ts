import type { Db, Trx } from './db';

/**
 * The directory as the reconciler reads it: every group with the names rules match on, the
 * members of some groups, and people by id. Read-only; the reconciler builds desired state from
 * these and never queries the directory's tables itself.
 */

type Conn = Db | Trx;

/** A person as the login rules and the reconciler need them. */
export interface DirectoryPerson {
  id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  resource: unknown;
}

export interface DirectoryGroup {
  id: string;
  display_name: string;
  external_id: string | null;
}

const PERSON_COLUMNS = ['id', 'user_name', 'external_id', 'active', 'resource'] as const;

export async function listDirectoryGroups(conn: Conn, ids?: readonly string[]): Promise<DirectoryGroup[]> {
  const q = conn('groups').select('id', 'display_name', 'external_id');
  if (ids) q.whereIn('id', [...ids]);
  return q;
}

/** Members of the given groups, each with the group they were read through (500 groups a query). */
export async function peopleInGroups(conn: Conn, groupIds: readonly string[]): Promise<Array<DirectoryPerson & { group_id: string }>> {
  const out: Array<DirectoryPerson & { group_id: string }> = [];
  for (let i = 0; i < groupIds.length; i += 500) {
    out.push(
      ...(await conn('group_members as gm')
        .join('users as u', 'u.id', 'gm.user_id')
        .whereIn('gm.group_id', groupIds.slice(i, i + 500))
        .select('gm.group_id', ...PERSON_COLUMNS.map((c) => `u.${c}`))),
    );
  }
  return out;
}

export async function peopleByIds(conn: Conn, ids: readonly string[]): Promise<DirectoryPerson[]> {
  if (ids.length === 0) return [];
  return conn('users')
    .whereIn('id', [...ids])
    .select(...PERSON_COLUMNS);
}

/** A person's identity as sign-in and token ownership need it. */
export interface PersonRef {
  id: string;
  user_name: string;
  active: boolean;
}

const REF_COLUMNS = ['id', 'user_name', 'active'] as const;

export async function personById(conn: Conn, id: string): Promise<PersonRef | undefined> {
  return conn('users')
    .where({ id })
    .first(...REF_COLUMNS);
}

/** By userName, case-insensitively (the unique index is on lower(user_name)). */
export async function peopleByUserName(conn: Conn, userName: string, limit = 2): Promise<PersonRef[]> {
  return conn('users')
    .whereRaw('lower(user_name) = lower(?)', [userName])
    .limit(limit)
    .select(...REF_COLUMNS);
}

/** By the IdP's user id, exactly; more than one means the id no longer names one person. */
export async function peopleByExternalId(conn: Conn, externalId: string, limit = 2): Promise<PersonRef[]> {
  return conn('users')
    .where('external_id', externalId)
    .limit(limit)
    .select(...REF_COLUMNS);
}

/** By the SCIM primary email (`emails[primary eq true].value`), case-insensitively. */
export async function peopleByPrimaryEmail(conn: Conn, email: string, limit = 2): Promise<PersonRef[]> {
  return conn('users')
    .whereRaw(
      `exists (select 1 from jsonb_array_elements(case when jsonb_typeof(resource->'emails') = 'array' then resource->'emails' else '[]'::jsonb end) e
                where (e->>'primary')::text = 'true' and lower(e->>'value') = lower(?))`,
      [email],
    )
    .limit(limit)
    .select(...REF_COLUMNS);
}

/** Groups carrying the IdP's group id, exactly. */
export async function groupIdsByExternalId(conn: Conn, externalId: string, limit = 2): Promise<string[]> {
  return conn('groups').where('external_id', externalId).limit(limit).pluck('id');
}

export async function isGroupMember(conn: Conn, groupId: string, userId: string): Promise<boolean> {
  return (await conn('group_members').where({ group_id: groupId, user_id: userId }).first('user_id')) !== undefined;
}

/** Whether the person belongs to a group of this display name (case-insensitively). */
export async function isMemberOfGroupNamed(conn: Conn, userId: string, displayName: string): Promise<boolean> {
  const row = await conn('group_members as gm')
    .join('groups as g', 'g.id', 'gm.group_id')
    .where('gm.user_id', userId)
    .whereRaw('lower(g.display_name) = lower(?)', [displayName])
    .first('gm.user_id');
  return row !== undefined;
}

/** The display names of a person's groups, sorted case-insensitively. */
export async function groupNamesOf(conn: Conn, userId: string): Promise<string[]> {
  const rows: Array<{ display_name: string }> = await conn('group_members as gm')
    .join('groups as g', 'g.id', 'gm.group_id')
    .where('gm.user_id', userId)
    .orderByRaw('lower(g.display_name)')
    .select('g.display_name');
  return rows.map((r) => r.display_name);
}
