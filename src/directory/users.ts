import type { Knex } from 'knex';
import { currentTraceparent } from '../tracing';
import { preparedRaw, type Db, type Trx } from './db';

/**
 * SCIM users. `user_name`, `external_id` and `active` are columns (looked up, unique,
 * indexed); every other attribute is in `resource` jsonb. `version` counts committed writes
 * and is the ETag. Writes take a transaction so the caller can append the outbox row in it.
 */

export interface UserRow {
  id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: string;
  created_at: Date;
  updated_at: Date;
}

export interface UserFields {
  userName: string;
  externalId: string | null;
  active: boolean;
  resource: Record<string, unknown>;
}

/** A parameterised SQL condition/ordering over `users u` (see src/scim/filter-sql.ts). */
export interface SqlClause {
  sql: string;
  bindings: unknown[];
}

/** Bindings built by the SQL compiler are values knex accepts; its types cannot see that. */
export const bindings = (values: unknown[]) => values as Knex.RawBinding[];

const COLUMNS = 'u.id, u.user_name, u.external_id, u.active, u.resource, u.version, u.created_at, u.updated_at';

/**
 * Creates a user and its `user.created` outbox row (the event of src/outbox) in one statement,
 * so one round trip and one implicit transaction: neither commits without the other. A taken
 * userName fails the whole statement with the unique violation.
 */
export async function createUser(db: Db, fields: UserFields, requestId: string | undefined): Promise<UserRow> {
  const { rows } = await preparedRaw(
    db,
    `WITH created AS (
       INSERT INTO users (user_name, external_id, active, resource) VALUES (?, ?, ?, ?::jsonb) RETURNING *),
     appended AS (
       INSERT INTO outbox (kind, payload, request_id, traceparent)
       SELECT 'user.created', jsonb_build_object('kind', 'user.created', 'userId', c.id), ?, ? FROM created c
       RETURNING id),
     notified AS (SELECT pg_notify('outbox', '') FROM appended)
     SELECT c.* FROM created c CROSS JOIN (SELECT count(*) FROM notified) n`,
    [fields.userName, fields.externalId, fields.active, JSON.stringify(fields.resource), requestId ?? null, currentTraceparent() ?? null],
  );
  return rows[0] as UserRow;
}

export async function findUser(db: Db | Trx, id: string): Promise<UserRow | undefined> {
  const { rows } = await preparedRaw(db, `SELECT ${COLUMNS} FROM users u WHERE u.id = ?`, [id]);
  return rows[0] as UserRow | undefined;
}

/** Reads and row-locks a user for a read-modify-write of its own attributes. */
export async function lockUser(trx: Trx, id: string): Promise<UserRow | undefined> {
  const { rows } = await preparedRaw(trx, `SELECT ${COLUMNS} FROM users u WHERE u.id = ? FOR UPDATE`, [id]);
  return rows[0] as UserRow | undefined;
}

/** What {@link replaceUser} did. */
export interface ReplacedUser {
  /** The user after the write; as it stands when nothing was written. */
  row: UserRow;
  /** Whether a new version committed, with its outbox event. */
  written: boolean;
  /** The user's groups, for the response's `groups`. */
  groups: UserGroupRef[];
}

/**
 * Replaces a user's columns with `fields` in ONE statement, so one round trip and one implicit
 * transaction, as {@link createUser}: it locks the row, writes it only when a value differs and
 * its version is one of `ifVersions` (any version when undefined or with `*`), and appends the
 * user event of src/outbox (`user.deactivated`, `user.reactivated` or `user.updated`, with the
 * user's group ids) in the same statement. A write that changes nothing commits nothing: no
 * version, no event. It also returns the user's groups, so the response needs no further read.
 * Undefined when there is no such user.
 */
export async function replaceUser(
  db: Db,
  id: string,
  fields: UserFields,
  ifVersions: string[] | undefined,
  requestId: string | undefined,
): Promise<ReplacedUser | undefined> {
  const resource = JSON.stringify(fields.resource);
  // `updated` joins `before`, so the row is locked (and read at its latest committed version)
  // before the UPDATE compares and writes it.
  const { rows } = await preparedRaw(
    db,
    `WITH before AS (
       SELECT ${COLUMNS} FROM users u WHERE u.id = ? FOR UPDATE),
     updated AS (
       UPDATE users u
          SET user_name = ?, external_id = ?, active = ?, resource = ?::jsonb, version = u.version + 1, updated_at = now()
         FROM before b
        WHERE u.id = b.id
          AND (?::text[] IS NULL OR '*' = ANY(?::text[]) OR u.version::text = ANY(?::text[]))
          AND (u.user_name, u.external_id, u.active, u.resource) IS DISTINCT FROM (?::text, ?::text, ?::boolean, ?::jsonb)
       RETURNING ${COLUMNS}, b.active AS was_active),
     memberships AS (
       SELECT g.id, g.display_name, g.created_at FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = ?),
     appended AS (
       INSERT INTO outbox (kind, payload, request_id, traceparent)
       SELECT e.kind,
              jsonb_build_object('kind', e.kind, 'userId', w.id,
                                 'groupIds', (SELECT coalesce(jsonb_agg(m.id ORDER BY m.id), '[]'::jsonb) FROM memberships m)),
              ?, ?
         FROM updated w
        CROSS JOIN LATERAL (
          SELECT CASE WHEN w.was_active AND NOT w.active THEN 'user.deactivated'
                      WHEN NOT w.was_active AND w.active THEN 'user.reactivated'
                      ELSE 'user.updated' END AS kind) e
       RETURNING id),
     notified AS (SELECT pg_notify('outbox', '') FROM appended)
     SELECT r.*,
            EXISTS (SELECT 1 FROM updated) AS written,
            (SELECT coalesce(json_agg(json_build_object('groupId', m.id, 'displayName', m.display_name) ORDER BY m.created_at, m.id), '[]')
               FROM memberships m) AS group_refs
       FROM (SELECT id, user_name, external_id, active, resource, version, created_at, updated_at FROM updated
             UNION ALL
             SELECT * FROM before WHERE NOT EXISTS (SELECT 1 FROM updated)) r
      CROSS JOIN (SELECT count(*) FROM notified) n`,
    [
      id,
      fields.userName,
      fields.externalId,
      fields.active,
      resource,
      ...Array(3).fill(ifVersions ?? null),
      fields.userName,
      fields.externalId,
      fields.active,
      resource,
      id,
      requestId ?? null,
      currentTraceparent() ?? null,
    ],
  );
  const found = rows[0] as (UserRow & { written: boolean; group_refs: Array<{ groupId: string; displayName: string }> }) | undefined;
  if (!found) return undefined;
  const { written, group_refs: groupRefs, ...row } = found;
  return { row, written, groups: groupRefs.map((g) => ({ userId: row.id, ...g })) };
}

export async function updateUser(trx: Trx, id: string, fields: UserFields): Promise<UserRow> {
  const [row] = await trx('users')
    .where({ id })
    .update({
      user_name: fields.userName,
      external_id: fields.externalId,
      active: fields.active,
      resource: JSON.stringify(fields.resource),
      version: trx.raw('version + 1'),
      updated_at: trx.fn.now(),
    })
    .returning('*');
  return row as UserRow;
}

export async function deleteUser(trx: Trx, id: string): Promise<void> {
  await trx('users').where({ id }).delete();
}

export async function countUsers(db: Db, where: SqlClause): Promise<number> {
  const { rows } = await preparedRaw(db, `SELECT count(*)::int AS n FROM users u WHERE ${where.sql}`, bindings(where.bindings));
  return rows[0].n as number;
}

export interface UserPage {
  /** All users matching the filter, not only this page's. */
  total: number;
  rows: UserRow[];
  /** Each row's groups, when asked for. */
  groups?: Map<string, UserGroupRef[]>;
}

/**
 * One page of users, the total count and (optionally) each user's groups in ONE round trip:
 * `count(*) OVER ()` counts before OFFSET/LIMIT, and the groups are aggregated only for the
 * rows of the page (the outer query), never for the rows OFFSET skips. A lookup — Okta's and
 * Entra's most frequent request — costs a single query.
 */
export async function pageUsers(db: Db, where: SqlClause, orderBy: SqlClause, offset: number, limit: number, withGroups: boolean): Promise<UserPage> {
  if (limit === 0) return { total: await countUsers(db, where), rows: [] };
  const groupsColumn = withGroups
    ? `, (SELECT coalesce(json_agg(json_build_object('groupId', g.id, 'displayName', g.display_name)
                                   ORDER BY g.created_at, g.id), '[]')
            FROM group_members gm JOIN groups g ON g.id = gm.group_id
           WHERE gm.user_id = u.id) AS group_refs`
    : '';
  const { rows } = await preparedRaw(
    db,
    `SELECT u.*${groupsColumn}
       FROM (SELECT ${COLUMNS}, count(*) OVER () AS total_count
               FROM users u WHERE ${where.sql} ORDER BY ${orderBy.sql} OFFSET ? LIMIT ?) u
      ORDER BY ${orderBy.sql}`,
    bindings([...where.bindings, ...orderBy.bindings, offset, limit, ...orderBy.bindings]),
  );
  type Row = UserRow & { total_count: string; group_refs?: Array<{ groupId: string; displayName: string }> };
  const page = rows as Row[];
  // An empty page says nothing about the total when it starts past the end.
  const total = page.length > 0 ? Number(page[0]!.total_count) : offset === 0 ? 0 : await countUsers(db, where);
  const groups = withGroups ? new Map(page.map((r) => [r.id, (r.group_refs ?? []).map((g) => ({ userId: r.id, ...g }))])) : undefined;
  return {
    total,
    rows: page.map(({ total_count: _total, group_refs: _groups, ...row }) => row as UserRow),
    groups,
  };
}

/** Group ids of one user (outbox events carry them). */
export async function groupIdsOfUser(db: Db | Trx, userId: string): Promise<string[]> {
  const { rows } = await preparedRaw(db, 'SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id', [userId]);
  return rows.map((r: { group_id: string }) => r.group_id);
}

export interface UserGroupRef {
  userId: string;
  groupId: string;
  displayName: string;
}

/** The groups of a page of users, for the read-only `groups` attribute. */
export async function groupsOfUsers(db: Db, userIds: string[]): Promise<Map<string, UserGroupRef[]>> {
  const out = new Map<string, UserGroupRef[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  const { rows } = await preparedRaw(
    db,
    `SELECT gm.user_id, g.id AS group_id, g.display_name
       FROM group_members gm JOIN groups g ON g.id = gm.group_id
      WHERE gm.user_id = ANY(?::uuid[])
      ORDER BY g.created_at, g.id`,
    [userIds],
  );
  for (const r of rows as { user_id: string; group_id: string; display_name: string }[]) {
    out.get(r.user_id)?.push({ userId: r.user_id, groupId: r.group_id, displayName: r.display_name });
  }
  return out;
}
