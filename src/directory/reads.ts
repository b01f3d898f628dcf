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
