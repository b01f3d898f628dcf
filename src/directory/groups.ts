import { currentTraceparent } from '../tracing';
import { preparedRaw, type Db, type Trx } from './db';
import { bindings, type SqlClause } from './users';

/**
 * SCIM groups and their memberships. Membership changes are deltas in SQL — an INSERT ... ON
 * CONFLICT DO NOTHING or a DELETE of the named rows — whose RETURNING lists only the rows that
 * actually changed, so a PATCH costs what it changes whatever the group's size, concurrent
 * PATCHes adding different members cannot lose each other's rows, and outbox events name
 * exactly what changed.
 */

export interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  resource: Record<string, unknown>;
  version: string;
  created_at: Date;
  updated_at: Date;
}

export interface GroupFields {
  displayName: string;
  externalId: string | null;
  resource: Record<string, unknown>;
}

export interface MemberRef {
  groupId: string;
  userId: string;
  display: string;
}

const COLUMNS = 'g.id, g.display_name, g.external_id, g.resource, g.version, g.created_at, g.updated_at';

export async function insertGroup(trx: Trx, fields: GroupFields): Promise<GroupRow> {
  const [row] = await trx('groups')
    .insert({ display_name: fields.displayName, external_id: fields.externalId, resource: JSON.stringify(fields.resource) })
    .returning('*');
  return row as GroupRow;
}

export async function findGroup(db: Db | Trx, id: string): Promise<GroupRow | undefined> {
  const { rows } = await preparedRaw(db, `SELECT ${COLUMNS} FROM groups g WHERE g.id = ?`, [id]);
  return rows[0] as GroupRow | undefined;
}

/**
 * Row-locks a group (not its members) for the duration of a write. Membership writes to the
 * same group therefore serialise on this lock, which keeps `version` an exact count of writes.
 */
export async function lockGroup(trx: Trx, id: string): Promise<GroupRow | undefined> {
  const { rows } = await preparedRaw(trx, `SELECT ${COLUMNS} FROM groups g WHERE g.id = ? FOR UPDATE`, [id]);
  return rows[0] as GroupRow | undefined;
}

export async function updateGroup(trx: Trx, id: string, fields: GroupFields): Promise<GroupRow> {
  const [row] = await trx('groups')
    .where({ id })
    .update({
      display_name: fields.displayName,
      external_id: fields.externalId,
      resource: JSON.stringify(fields.resource),
      version: trx.raw('version + 1'),
      updated_at: trx.fn.now(),
    })
    .returning('*');
  return row as GroupRow;
}

/** Marks a membership-only change: bumps version and lastModified, returns the new version. */
export async function touchGroup(trx: Trx, id: string): Promise<{ version: string; updated_at: Date }> {
  const { rows } = await preparedRaw(trx, 'UPDATE groups SET version = version + 1, updated_at = now() WHERE id = ? RETURNING version, updated_at', [id]);
  return rows[0];
}

export async function deleteGroup(trx: Trx, id: string): Promise<void> {
  await trx('groups').where({ id }).delete();
}

export async function countGroups(db: Db, where: SqlClause): Promise<number> {
  const { rows } = await preparedRaw(db, `SELECT count(*)::int AS n FROM groups g WHERE ${where.sql}`, bindings(where.bindings));
  return rows[0].n as number;
}

export async function listGroups(db: Db, where: SqlClause, orderBy: SqlClause, offset: number, limit: number): Promise<GroupRow[]> {
  const { rows } = await preparedRaw(
    db,
    `SELECT ${COLUMNS} FROM groups g WHERE ${where.sql} ORDER BY ${orderBy.sql} OFFSET ? LIMIT ?`,
    bindings([...where.bindings, ...orderBy.bindings, offset, limit]),
  );
  return rows as GroupRow[];
}

/**
 * Adds members in one statement: ids that are not users are reported in `unknown` and, if
 * there are any, nothing is inserted; otherwise `added` lists the ids that were not members.
 */
export async function addMembers(trx: Trx, groupId: string, userIds: string[]): Promise<{ added: string[]; unknown: string[] }> {
  if (userIds.length === 0) return { added: [], unknown: [] };
  const { rows } = await preparedRaw(
    trx,
    `WITH wanted AS (SELECT DISTINCT w.id FROM unnest(?::uuid[]) AS w(id)),
          missing AS (SELECT w.id FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = w.id)),
          inserted AS (
            INSERT INTO group_members (group_id, user_id)
            SELECT ?::uuid, w.id FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM missing)
            ON CONFLICT DO NOTHING
            RETURNING user_id)
     SELECT (SELECT coalesce(array_agg(user_id), '{}') FROM inserted) AS added,
            (SELECT coalesce(array_agg(id), '{}') FROM missing) AS unknown`,
    [userIds, groupId],
  );
  // Reported in the order the client listed them (RETURNING has no defined order).
  const added = new Set<string>(rows[0].added);
  const unknown = new Set<string>(rows[0].unknown);
  return { added: userIds.filter((id) => added.has(id)), unknown: userIds.filter((id) => unknown.has(id)) };
}

/** Removes the named members; returns the ids that were members, in the order the caller listed them. */
export async function removeMembers(trx: Trx, groupId: string, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const { rows } = await preparedRaw(trx, 'DELETE FROM group_members WHERE group_id = ? AND user_id = ANY(?::uuid[]) RETURNING user_id', [groupId, userIds]);
  // As addMembers and patch_group_members report them (RETURNING has no defined order).
  const removed = new Set<string>(rows.map((r: { user_id: string }) => r.user_id));
  return userIds.filter((id) => removed.has(id));
}

export async function removeAllMembers(trx: Trx, groupId: string): Promise<string[]> {
  const { rows } = await preparedRaw(trx, 'DELETE FROM group_members WHERE group_id = ? RETURNING user_id', [groupId]);
  return rows.map((r: { user_id: string }) => r.user_id);
}

/**
 * Removes the members matching a condition over `group_members gm` joined to `users mu`
 * (a compiled `members[...]` filter).
 */
export async function removeMembersWhere(trx: Trx, groupId: string, where: SqlClause): Promise<string[]> {
  const { rows } = await preparedRaw(
    trx,
    `DELETE FROM group_members gm USING users mu
      WHERE gm.group_id = ? AND mu.id = gm.user_id AND ${where.sql}
      RETURNING gm.user_id`,
    bindings([groupId, ...where.bindings]),
  );
  return rows.map((r: { user_id: string }) => r.user_id);
}

/** Sets the member list to exactly `userIds`; returns what was added and removed (see addMembers for `unknown`). */
export async function replaceMembers(trx: Trx, groupId: string, userIds: string[]): Promise<{ added: string[]; removed: string[]; unknown: string[] }> {
  const { rows } = await preparedRaw(trx, 'DELETE FROM group_members WHERE group_id = ? AND NOT (user_id = ANY(?::uuid[])) RETURNING user_id', [
    groupId,
    userIds,
  ]);
  const removed = rows.map((r: { user_id: string }) => r.user_id);
  const { added, unknown } = await addMembers(trx, groupId, userIds);
  return { added, removed, unknown };
}

/** How many members each of a page of groups has (0 for a group without any), without reading them. */
export async function memberCountsOfGroups(db: Db, groupIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>(groupIds.map((id) => [id, 0]));
  if (groupIds.length === 0) return out;
  const { rows } = await preparedRaw(db, 'SELECT group_id, count(*)::int AS n FROM group_members WHERE group_id = ANY(?::uuid[]) GROUP BY group_id', [
    groupIds,
  ]);
  for (const r of rows as { group_id: string; n: number }[]) out.set(r.group_id, r.n);
  return out;
}

/** Members of a page of groups, for the `members` attribute. */
export async function membersOfGroups(db: Db, groupIds: string[]): Promise<Map<string, MemberRef[]>> {
  const out = new Map<string, MemberRef[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const { rows } = await preparedRaw(
    db,
    `SELECT gm.group_id, u.id AS user_id, coalesce(u.resource ->> 'displayName', u.user_name) AS display
       FROM group_members gm JOIN users u ON u.id = gm.user_id
      WHERE gm.group_id = ANY(?::uuid[])
      ORDER BY gm.created_at, gm.user_id`,
    [groupIds],
  );
  for (const r of rows as { group_id: string; user_id: string; display: string }[]) {
    out.get(r.group_id)?.push({ groupId: r.group_id, userId: r.user_id, display: r.display });
  }
  return out;
}

export type MemberPatchOutcome = { outcome: 'not_found' } | { outcome: 'unknown_members'; unknown: string[] } | { outcome: 'ok'; version: string };

/**
 * A membership-only PATCH in one round trip: the lock, the delta, the version bump and the
 * `group.members_changed` outbox row run in the database (migration
 * 20261129000000_patch_group_members), in one transaction. Same results as lockGroup +
 * addMembers/removeMembers + touchGroup + appendOutbox, which the general write path uses
 * (test/scim/member-delta-payload.test.ts holds the two paths to one payload); the caller
 * needs only the new version (the outbox row carries what changed). With a trace active, the
 * five-argument overload also keeps its traceparent on the row (migration
 * 20261202070000_outbox_traceparent); without one the call is the same as before tracing.
 */
export async function patchGroupMembers(
  db: Db,
  groupId: string,
  op: 'add' | 'remove',
  userIds: string[],
  requestId: string | undefined,
): Promise<MemberPatchOutcome> {
  const traceparent = currentTraceparent();
  const { rows } = traceparent
    ? await preparedRaw(db, 'SELECT * FROM patch_group_members(?::uuid, ?, ?::uuid[], ?, ?)', [groupId, op, userIds, requestId ?? null, traceparent])
    : await preparedRaw(db, 'SELECT * FROM patch_group_members(?::uuid, ?, ?::uuid[], ?)', [groupId, op, userIds, requestId ?? null]);
  const row = rows[0] as { outcome: string; version: string; unknown: string[] };
  if (row.outcome === 'not_found') return { outcome: 'not_found' };
  if (row.outcome === 'unknown_members') return { outcome: 'unknown_members', unknown: row.unknown };
  return { outcome: 'ok', version: row.version };
}
