import {
  countGroups,
  groupsOfUsers,
  listGroups,
  memberCountsOfGroups,
  membersOfGroups,
  pageUsers,
  type Db,
  type GroupRow,
  type UserGroupRef,
  type UserRow,
} from '../directory';
import { invalidValue, tooMany } from './errors';
import { parseFilter } from './filter';
import { compileFilter, compileSort } from './filter-sql';
import type { Doc } from './normalize';
import { parseProjection, project, renderGroup, renderUser, returns, type Projection } from './resource-columns';
import { DEFAULT_COUNT, GROUP_DEF, LIST_URN, MAX_LISTED_MEMBERS, MAX_RESULTS, USER_DEF } from './schema';

/**
 * SCIM reads: list and search (RFC 7644 §3.4.2, §3.4.3), and a resource as a response shows
 * it. Only what the projection returns is read: `excludedAttributes=members` (Entra) never
 * touches group_members.
 */

export type ResourceKind = 'User' | 'Group';

/** The query parameters of a list, or the members of a search body, not yet validated. */
export interface ListParams {
  filter?: string;
  startIndex?: unknown;
  count?: unknown;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string;
  excludedAttributes?: string;
}

/** Past any real directory; keeps an absurd startIndex from overflowing Postgres' OFFSET. */
const MAX_START_INDEX = 2 ** 31;

function intParam(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw invalidValue(`'${name}' must be an integer`);
  return n;
}

export function projectionOf(kind: ResourceKind, attributes: string | undefined, excludedAttributes: string | undefined): Projection {
  return parseProjection(kind === 'User' ? USER_DEF : GROUP_DEF, attributes, excludedAttributes);
}

/** One page of Users or Groups as a ListResponse. */
export async function listResources(db: Db, kind: ResourceKind, params: ListParams, baseUrl: string): Promise<Doc> {
  const def = kind === 'User' ? USER_DEF : GROUP_DEF;
  const where = params.filter?.trim() ? compileFilter(def, parseFilter(params.filter)) : { sql: 'TRUE', bindings: [] };
  const startIndex = Math.max(1, intParam('startIndex', params.startIndex) ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, intParam('count', params.count) ?? DEFAULT_COUNT));
  const sortOrder = params.sortOrder?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw invalidValue("'sortOrder' must be ascending or descending");
  }
  const orderBy = compileSort(def, params.sortBy, sortOrder === 'descending');
  const projection = projectionOf(kind, params.attributes, params.excludedAttributes);
  let resources: Doc[];
  let total: number;
  if (kind === 'User') {
    const page = await pageUsers(db, where, orderBy, Math.min(startIndex, MAX_START_INDEX) - 1, count, returns(projection, 'groups'));
    total = page.total;
    resources = page.rows.map((r) => project(renderUser(r, baseUrl, page.groups?.get(r.id)), projection));
  } else {
    total = await countGroups(db, where);
    const rows = count > 0 && total >= startIndex ? await listGroups(db, where, orderBy, startIndex - 1, count) : [];
    let page = rows;
    let members: Awaited<ReturnType<typeof membersOfGroups>> | undefined;
    if (returns(projection, 'members')) {
      page = await groupsWithinMemberBudget(db, rows);
      members = await membersOfGroups(
        db,
        page.map((r) => r.id),
      );
    }
    resources = page.map((r) => project(renderGroup(r, baseUrl, members?.get(r.id)), projection));
  }
  return { schemas: [LIST_URN], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/**
 * The leading groups of a page whose members, all together, fit in MAX_LISTED_MEMBERS
 * (docs/scim.md, "Group members in lists"). RFC 7644 §3.4.2.4 lets a page hold fewer results
 * than `count` asked for, as the `filter.maxResults` cap already does; the client reads the
 * next page from `startIndex + itemsPerPage`. A first group that alone has more members is
 * refused with 400 tooMany (RFC 7644 §3.12: more than the server is willing to process): a
 * group listed without some of its members would read, to an importing client, as members
 * removed.
 */
async function groupsWithinMemberBudget(db: Db, rows: GroupRow[]): Promise<GroupRow[]> {
  const counts = await memberCountsOfGroups(
    db,
    rows.map((r) => r.id),
  );
  let total = 0;
  let fitting = 0;
  while (fitting < rows.length && total + counts.get(rows[fitting]!.id)! <= MAX_LISTED_MEMBERS) total += counts.get(rows[fitting++]!.id)!;
  if (fitting === 0 && rows.length > 0) {
    throw tooMany(
      `group ${rows[0]!.id} has ${counts.get(rows[0]!.id)} members, more than the ${MAX_LISTED_MEMBERS} a list response renders: ` +
        "ask with excludedAttributes=members and read the group's members with GET /Groups/{id}",
    );
  }
  return rows.slice(0, fitting);
}

/** `knownGroups`: the user's groups when the caller knows them (a user just created has none). */
export async function userResource(db: Db, row: UserRow, baseUrl: string, projection: Projection, knownGroups?: UserGroupRef[]): Promise<Doc> {
  const groups = returns(projection, 'groups') ? (knownGroups ?? (await groupsOfUsers(db, [row.id])).get(row.id)) : undefined;
  return project(renderUser(row, baseUrl, groups), projection);
}

export async function groupResource(db: Db, row: GroupRow, baseUrl: string, projection: Projection): Promise<Doc> {
  const members = returns(projection, 'members') ? (await membersOfGroups(db, [row.id])).get(row.id) : undefined;
  return project(renderGroup(row, baseUrl, members), projection);
}
