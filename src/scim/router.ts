import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Config } from '../config';
import {
  addMembers,
  countGroups,
  createUser,
  deleteGroup,
  deleteUser,
  findGroup,
  findUser,
  groupIdsOfUser,
  groupsOfUsers,
  insertGroup,
  listGroups,
  pageUsers,
  lockGroup,
  lockUser,
  patchGroupMembers,
  membersOfGroups,
  removeAllMembers,
  removeMembers,
  removeMembersWhere,
  replaceMembers,
  touchGroup,
  updateGroup,
  updateUser,
  type Db,
  type GroupRow,
  type Trx,
  type UserGroupRef,
  type UserRow,
} from '../directory';
import type { Logger } from '../log';
import { appendOutbox, type OutboxEvent } from '../outbox';
import { REQUEST_ID_PATTERN, UUID_PATTERN } from '../util';
import { recordScimRequest, type ScimResource } from '../metrics';
import { createScimAuth, type RateLimit } from './auth';
import {
  invalidSyntax,
  invalidValue,
  methodNotAllowed,
  notFound,
  notImplemented,
  preconditionFailed,
  SCIM_CONTENT_TYPE,
  ScimError,
  scimErrorHandler,
  uniqueness,
} from './errors';
import { parseFilter } from './filter';
import { compileFilter, compileMemberFilter, compileSort } from './filter-sql';
import { assertRequired, Doc, normalizeResource } from './normalize';
import { applyPatch, memberIds, MemberChange, membershipPatch } from './patch';
import {
  etagOf,
  groupDoc,
  groupFields,
  parseProjection,
  project,
  Projection,
  renderGroup,
  renderUser,
  returns,
  userDoc,
  userFields,
} from './resource-columns';
import {
  DEFAULT_COUNT,
  GROUP_DEF,
  LIST_URN,
  MAX_RESULTS,
  resourceTypeDescriptions,
  schemaDescriptions,
  serviceProviderConfig,
  USER_DEF,
} from './schema';

/**
 * The SCIM 2.0 HTTP surface (RFC 7644) for /scim/v2: discovery endpoints, Users and Groups.
 *
 * Every write runs in one transaction with its outbox row(s) (src/outbox), tagged
 * with the request id, so a rolled-back write leaves no event. Writes that change nothing
 * (Okta re-sends a whole user on every profile push, and a group rename with every membership
 * change) commit nothing: no version bump, no event.
 *
 * Responses are `application/scim+json`; bodies may be `application/scim+json` or
 * `application/json`. Every error goes through `scimErrorHandler`.
 */

export interface ScimRouterDeps {
  db: Db;
  logger: Logger;
  config: Pick<Config, 'SCIM_BEARER_TOKEN' | 'SCIM_MAX_BODY' | 'PUBLIC_URL'>;
  /** Per-client request rate; `false` turns limiting off (benchmarks). */
  rateLimit?: RateLimit | false;
  /** See createScimAuth. @defaultValue 5000 */
  tokenCacheMs?: number;
}

const USER_NAME_INDEX = 'users_user_name_lower';

function send(res: Response, status: number, body?: unknown): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.set('Content-Type', SCIM_CONTENT_TYPE);
  res.send(JSON.stringify(body));
}

function queryString(req: Request, name: string): string | undefined {
  const raw = (req.query as Record<string, unknown>)[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' ? value : undefined;
}

/** Bare tags of an If-Match / If-None-Match header; weak and strong compare equal here. */
function tagsOf(header: string): string[] {
  return header.split(',').map((t) => t.trim().replace(/^W\//i, '').replace(/^"|"$/g, ''));
}

function checkIfMatch(req: Request, version: string): void {
  const header = req.headers['if-match'];
  if (!header) return;
  const tags = tagsOf(header);
  if (!tags.includes('*') && !tags.includes(version)) {
    throw preconditionFailed('the resource has changed since the version in If-Match');
  }
}

function notModified(req: Request, version: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  const tags = tagsOf(header);
  return tags.includes('*') || tags.includes(version);
}

function resourceLabel(path: string): ScimResource {
  const first = path.split('/')[1]?.toLowerCase();
  switch (first) {
    case 'users': return 'Users';
    case 'groups': return 'Groups';
    case 'serviceproviderconfig': return 'ServiceProviderConfig';
    case 'schemas': return 'Schemas';
    case 'resourcetypes': return 'ResourceTypes';
    case 'bulk': return 'Bulk';
    default: return 'other';
  }
}

/** Canonical JSON (sorted keys), to tell whether a write changes anything. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Doc)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function userEvent(before: UserRow | undefined, after: UserRow, groupIds: string[]): OutboxEvent {
  if (before?.active && !after.active) return { kind: 'user.deactivated', userId: after.id, groupIds };
  if (before && !before.active && after.active) return { kind: 'user.reactivated', userId: after.id, groupIds };
  return { kind: 'user.updated', userId: after.id, groupIds };
}

function mapUniqueViolation(err: unknown): never {
  const e = err as { code?: string; constraint?: string };
  if (e?.code === '23505' && e.constraint === USER_NAME_INDEX) {
    throw uniqueness('a User with this userName already exists');
  }
  throw err;
}

/** Net membership delta of several changes applied in order. */
class MemberDelta {
  readonly added = new Set<string>();
  readonly removed = new Set<string>();

  record(added: string[], removed: string[]): void {
    for (const id of removed) {
      if (this.added.has(id)) this.added.delete(id);
      else this.removed.add(id);
    }
    for (const id of added) {
      if (this.removed.has(id)) this.removed.delete(id);
      else this.added.add(id);
    }
  }

  get empty(): boolean {
    return this.added.size === 0 && this.removed.size === 0;
  }
}

function unknownMembers(unknown: string[]): ScimError {
  return invalidValue(`members must be Users of this directory; unknown: ${unknown.slice(0, 5).join(', ')}`);
}

async function applyMemberChanges(trx: Trx, groupId: string, changes: MemberChange[]): Promise<MemberDelta> {
  const delta = new MemberDelta();
  const rejectUnknown = (unknown: string[]) => {
    // Thrown inside the transaction: nothing of this request is committed.
    if (unknown.length) throw unknownMembers(unknown);
  };
  for (const change of changes) {
    switch (change.kind) {
      case 'add': {
        const { added, unknown } = await addMembers(trx, groupId, change.ids);
        rejectUnknown(unknown);
        delta.record(added, []);
        break;
      }
      case 'remove':
        delta.record([], await removeMembers(trx, groupId, change.ids));
        break;
      case 'removeAll':
        delta.record([], await removeAllMembers(trx, groupId));
        break;
      case 'removeWhere':
        delta.record([], await removeMembersWhere(trx, groupId, compileMemberFilter(change.filter, 'gm', 'mu')));
        break;
      case 'replace': {
        const { added, removed, unknown } = await replaceMembers(trx, groupId, change.ids);
        rejectUnknown(unknown);
        delta.record(added, removed);
        break;
      }
    }
  }
  return delta;
}

export function createScimRouter(deps: ScimRouterDeps): Router {
  const { db, logger, config } = deps;
  const router = express.Router();
  const auth = createScimAuth({ db, logger, bootstrapToken: config.SCIM_BEARER_TOKEN, rateLimit: deps.rateLimit, tokenCacheMs: deps.tokenCacheMs });

  const baseUrl = (req: Request) =>
    config.PUBLIC_URL ? `${config.PUBLIC_URL.replace(/\/$/, '')}${req.baseUrl}` : `${req.protocol}://${req.get('host')}${req.baseUrl}`;

  router.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const resource = resourceLabel(req.path);
      recordScimRequest({ resource, method: req.method, status: res.statusCode, durationSeconds: seconds });
      logger.http('scim request', {
        requestId,
        client: (res.locals.scimClient as { clientName?: string } | undefined)?.clientName,
        method: req.method,
        resource,
        id: typeof req.params?.id === 'string' ? req.params.id : undefined,
        status: res.statusCode,
        ms: Math.round(seconds * 10_000) / 10,
      });
    });
    next();
  });
  router.use(auth);
  router.use(
    express.json({
      limit: config.SCIM_MAX_BODY,
      type: (req) => {
        const type = req.headers['content-type'];
        return type === undefined || /^application\/([\w.-]+\+)?json\b/i.test(type);
      },
    }),
  );

  // ---- discovery ----------------------------------------------------------------------

  const listOf = (resources: unknown[]) => ({
    schemas: [LIST_URN],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  });

  router.get('/ServiceProviderConfig', async (req, res) => send(res, 200, await serviceProviderConfig(baseUrl(req))));
  router.get('/Schemas', (req, res) => send(res, 200, listOf(schemaDescriptions(baseUrl(req)))));
  router.get('/Schemas/:id', (req, res) => {
    const found = schemaDescriptions(baseUrl(req)).find((s) => String(s.id).toLowerCase() === req.params.id!.toLowerCase());
    if (!found) throw notFound(`no schema '${req.params.id}'`);
    send(res, 200, found);
  });
  router.get('/ResourceTypes', (req, res) => send(res, 200, listOf(resourceTypeDescriptions(baseUrl(req)))));
  router.get('/ResourceTypes/:id', (req, res) => {
    const found = resourceTypeDescriptions(baseUrl(req)).find((r) => String(r.id).toLowerCase() === req.params.id!.toLowerCase());
    if (!found) throw notFound(`no resource type '${req.params.id}'`);
    send(res, 200, found);
  });
  for (const path of ['/ServiceProviderConfig', '/Schemas', '/Schemas/:id', '/ResourceTypes', '/ResourceTypes/:id']) {
    router.all(path, (req) => {
      throw methodNotAllowed(`${req.method} is not supported on ${path.split('/')[1]}`);
    });
  }

  // ---- queries ------------------------------------------------------------------------

  interface ListParams {
    filter?: string;
    startIndex?: unknown;
    count?: unknown;
    sortBy?: string;
    sortOrder?: string;
    attributes?: string;
    excludedAttributes?: string;
  }

  const intParam = (name: string, raw: unknown): number | undefined => {
    if (raw === undefined || raw === null || raw === '') return undefined;
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isInteger(n)) throw invalidValue(`'${name}' must be an integer`);
    return n;
  };

  /** Past any real directory; keeps an absurd startIndex from overflowing Postgres' OFFSET. */
  const MAX_START_INDEX = 2 ** 31;

  async function list(req: Request, res: Response, params: ListParams, kind: 'User' | 'Group'): Promise<void> {
    const def = kind === 'User' ? USER_DEF : GROUP_DEF;
    const where = params.filter?.trim() ? compileFilter(def, parseFilter(params.filter)) : { sql: 'TRUE', bindings: [] };
    const startIndex = Math.max(1, intParam('startIndex', params.startIndex) ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, intParam('count', params.count) ?? DEFAULT_COUNT));
    const sortOrder = params.sortOrder?.toLowerCase();
    if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
      throw invalidValue("'sortOrder' must be ascending or descending");
    }
    const descending = sortOrder === 'descending';
    const orderBy = compileSort(def, params.sortBy, descending);
    const projection = parseProjection(def, params.attributes, params.excludedAttributes);
    const base = baseUrl(req);
    let resources: Doc[];
    let total: number;
    if (kind === 'User') {
      const page = await pageUsers(db, where, orderBy, Math.min(startIndex, MAX_START_INDEX) - 1, count, returns(projection, 'groups'));
      total = page.total;
      resources = page.rows.map((r) => project(renderUser(r, base, page.groups?.get(r.id)), projection));
    } else {
      total = await countGroups(db, where);
      const rows = count > 0 && total >= startIndex ? await listGroups(db, where, orderBy, startIndex - 1, count) : [];
      const members = returns(projection, 'members') ? await membersOfGroups(db, rows.map((r) => r.id)) : undefined;
      resources = rows.map((r) => project(renderGroup(r, base, members?.get(r.id)), projection));
    }
    send(res, 200, { schemas: [LIST_URN], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources });
  }

  const queryParams = (req: Request): ListParams => ({
    filter: queryString(req, 'filter'),
    startIndex: queryString(req, 'startIndex'),
    count: queryString(req, 'count'),
    sortBy: queryString(req, 'sortBy'),
    sortOrder: queryString(req, 'sortOrder'),
    attributes: queryString(req, 'attributes'),
    excludedAttributes: queryString(req, 'excludedAttributes'),
  });

  const searchParams = (req: Request): ListParams => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('a search needs a JSON object body');
    const str = (v: unknown, name: string) => {
      if (v === undefined || v === null) return undefined;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
      if (typeof v !== 'string') throw invalidValue(`'${name}' must be a string`);
      return v;
    };
    return {
      filter: str(body.filter, 'filter'),
      startIndex: body.startIndex,
      count: body.count,
      sortBy: str(body.sortBy, 'sortBy'),
      sortOrder: str(body.sortOrder, 'sortOrder'),
      attributes: str(body.attributes, 'attributes'),
      excludedAttributes: str(body.excludedAttributes, 'excludedAttributes'),
    };
  };

  router.get('/Users', (req, res) => list(req, res, queryParams(req), 'User'));
  router.post('/Users/.search', (req, res) => list(req, res, searchParams(req), 'User'));
  router.get('/Groups', (req, res) => list(req, res, queryParams(req), 'Group'));
  router.post('/Groups/.search', (req, res) => list(req, res, searchParams(req), 'Group'));

  // ---- users --------------------------------------------------------------------------

  const requestIdOf = (res: Response) => res.locals.requestId as string;
  const projectionOf = (req: Request, kind: 'User' | 'Group'): Projection =>
    parseProjection(kind === 'User' ? USER_DEF : GROUP_DEF, queryString(req, 'attributes'), queryString(req, 'excludedAttributes'));

  /** `knownGroups`: the user's groups when the caller knows them (a user just created has none). */
  async function sendUser(req: Request, res: Response, status: number, row: UserRow, knownGroups?: UserGroupRef[]): Promise<void> {
    const projection = projectionOf(req, 'User');
    const groups = returns(projection, 'groups') ? (knownGroups ?? (await groupsOfUsers(db, [row.id])).get(row.id)) : undefined;
    const body = project(renderUser(row, baseUrl(req), groups), projection);
    res.set('ETag', etagOf(row.version));
    if (status === 201) res.set('Location', `${baseUrl(req)}/Users/${row.id}`);
    send(res, status, body);
  }

  const idParam = (req: Request, kind: string): string => {
    const id = String(req.params.id);
    if (!UUID_PATTERN.test(id)) throw notFound(`${kind} ${id} not found`);
    return id;
  };

  router.post('/Users', async (req, res) => {
    const fields = userFields(normalizeResource(USER_DEF, req.body));
    const row = await createUser(db, fields, requestIdOf(res)).catch(mapUniqueViolation);
    await sendUser(req, res, 201, row, []);
  });

  router.get('/Users/:id', async (req, res) => {
    const row = await findUser(db, idParam(req, 'User'));
    if (!row) throw notFound(`User ${req.params.id} not found`);
    if (notModified(req, String(row.version))) {
      res.set('ETag', etagOf(row.version));
      send(res, 304);
      return;
    }
    await sendUser(req, res, 200, row);
  });

  /** Shared by PUT and PATCH: lock, compute the new document, write it if it changed. */
  async function writeUser(req: Request, res: Response, next: (row: UserRow) => Doc): Promise<UserRow> {
    const id = idParam(req, 'User');
    return db
      .transaction(async (trx) => {
        const before = await lockUser(trx, id);
        if (!before) throw notFound(`User ${id} not found`);
        checkIfMatch(req, String(before.version));
        const doc = next(before);
        assertRequired(USER_DEF, doc);
        const fields = userFields(doc);
        if (canonical(fields) === canonical(userFields(userDoc(before)))) return before;
        const after = await updateUser(trx, id, fields);
        await appendOutbox(trx, userEvent(before, after, await groupIdsOfUser(trx, id)), requestIdOf(res));
        return after;
      })
      .catch(mapUniqueViolation);
  }

  router.put('/Users/:id', async (req, res) => {
    const row = await writeUser(req, res, () => normalizeResource(USER_DEF, req.body, String(req.params.id)));
    await sendUser(req, res, 200, row);
  });

  router.patch('/Users/:id', async (req, res) => {
    const row = await writeUser(req, res, (before) => {
      const result = applyPatch(USER_DEF, userDoc(before), req.body, before.id);
      return result.doc;
    });
    await sendUser(req, res, 200, row);
  });

  router.delete('/Users/:id', async (req, res) => {
    const id = idParam(req, 'User');
    await db.transaction(async (trx) => {
      const row = await lockUser(trx, id);
      if (!row) throw notFound(`User ${id} not found`);
      checkIfMatch(req, String(row.version));
      const groupIds = await groupIdsOfUser(trx, id);
      await deleteUser(trx, id);
      await appendOutbox(trx, { kind: 'user.deleted', userId: id, groupIds }, requestIdOf(res));
    });
    send(res, 204);
  });

  // ---- groups -------------------------------------------------------------------------

  async function sendGroup(req: Request, res: Response, status: number, row: GroupRow): Promise<void> {
    const projection = projectionOf(req, 'Group');
    // `excludedAttributes=members` (Entra) never touches group_members.
    const members = returns(projection, 'members') ? (await membersOfGroups(db, [row.id])).get(row.id) : undefined;
    const body = project(renderGroup(row, baseUrl(req), members), projection);
    res.set('ETag', etagOf(row.version));
    if (status === 201) res.set('Location', `${baseUrl(req)}/Groups/${row.id}`);
    send(res, status, body);
  }

  router.post('/Groups', async (req, res) => {
    const doc = normalizeResource(GROUP_DEF, req.body);
    const ids = memberIds(doc.members);
    const row = await db.transaction(async (trx) => {
      const created = await insertGroup(trx, groupFields(doc));
      await appendOutbox(trx, { kind: 'group.created', groupId: created.id }, requestIdOf(res));
      if (ids.length) {
        const delta = await applyMemberChanges(trx, created.id, [{ kind: 'add', ids }]);
        await appendOutbox(trx, { kind: 'group.members_changed', groupId: created.id, added: [...delta.added], removed: [] }, requestIdOf(res));
      }
      return created;
    });
    await sendGroup(req, res, 201, row);
  });

  router.get('/Groups/:id', async (req, res) => {
    const row = await findGroup(db, idParam(req, 'Group'));
    if (!row) throw notFound(`Group ${req.params.id} not found`);
    if (notModified(req, String(row.version))) {
      res.set('ETag', etagOf(row.version));
      send(res, 304);
      return;
    }
    await sendGroup(req, res, 200, row);
  });

  /** Shared by PUT and PATCH: lock the group row, write attributes and the member delta. */
  async function writeGroup(req: Request, res: Response, next: (row: GroupRow) => { doc: Doc; memberChanges: MemberChange[] }): Promise<GroupRow> {
    const id = idParam(req, 'Group');
    return db.transaction(async (trx) => {
      const before = await lockGroup(trx, id);
      if (!before) throw notFound(`Group ${id} not found`);
      checkIfMatch(req, String(before.version));
      const { doc, memberChanges } = next(before);
      assertRequired(GROUP_DEF, doc);
      const fields = groupFields(doc);
      const attributesChanged = canonical(fields) !== canonical(groupFields(groupDoc(before)));
      let after = attributesChanged ? await updateGroup(trx, id, fields) : before;
      const delta = await applyMemberChanges(trx, id, memberChanges);
      if (!delta.empty && !attributesChanged) after = { ...before, ...(await touchGroup(trx, id)) };
      if (attributesChanged) await appendOutbox(trx, { kind: 'group.updated', groupId: id }, requestIdOf(res));
      if (!delta.empty) {
        await appendOutbox(
          trx,
          { kind: 'group.members_changed', groupId: id, added: [...delta.added], removed: [...delta.removed] },
          requestIdOf(res),
        );
      }
      return after;
    });
  }

  router.put('/Groups/:id', async (req, res) => {
    const row = await writeGroup(req, res, () => {
      const doc = normalizeResource(GROUP_DEF, req.body, String(req.params.id));
      // PUT replaces the resource: the member list becomes exactly the one sent.
      return { doc, memberChanges: [{ kind: 'replace', ids: memberIds(doc.members) }] };
    });
    await sendGroup(req, res, 200, row);
  });

  router.patch('/Groups/:id', async (req, res) => {
    // Membership-only PATCHes (nearly all an IdP sends) take one database round trip. A
    // conditional request or one asking for the resource back takes the general path.
    const membership = req.headers['if-match'] || queryString(req, 'attributes') ? undefined : membershipPatch(req.body);
    if (membership) {
      const id = idParam(req, 'Group');
      const result = await patchGroupMembers(db, id, membership.op, membership.ids, requestIdOf(res));
      if (result.outcome === 'not_found') throw notFound(`Group ${id} not found`);
      if (result.outcome === 'unknown_members') throw unknownMembers(result.unknown);
      res.set('ETag', etagOf(result.version));
      send(res, 204);
      return;
    }
    const row = await writeGroup(req, res, (before) => applyPatch(GROUP_DEF, groupDoc(before), req.body, before.id));
    // RFC 7644 §3.5.2: 204 is a valid answer, and the one Entra expects; a client that wants
    // the resource back asks for it with `attributes`.
    if (queryString(req, 'attributes')) {
      await sendGroup(req, res, 200, row);
      return;
    }
    res.set('ETag', etagOf(row.version));
    send(res, 204);
  });

  router.delete('/Groups/:id', async (req, res) => {
    const id = idParam(req, 'Group');
    await db.transaction(async (trx) => {
      const row = await lockGroup(trx, id);
      if (!row) throw notFound(`Group ${id} not found`);
      checkIfMatch(req, String(row.version));
      await deleteGroup(trx, id);
      await appendOutbox(trx, { kind: 'group.deleted', groupId: id }, requestIdOf(res));
    });
    send(res, 204);
  });

  // ---- features this server does not offer (RFC 7644 §3.12: 501) -------------------------

  // §3.11: a bearer token here belongs to an IdP client, not to a person, so there is no
  // authenticated subject for /Me to stand for.
  router.all('/Me{/*rest}', () => {
    throw notImplemented('/Me is not supported: SCIM clients here are identity providers, not users');
  });
  router.all('/Bulk', () => {
    throw notImplemented('bulk operations are not supported (see bulk.supported in /ServiceProviderConfig)');
  });
  // §3.4.2.1, §3.4.3: queries run per resource type (/Users, /Groups), not across the root.
  router.get('/', () => {
    throw notImplemented('queries against the server root are not supported; query /Users or /Groups');
  });
  router.post('/.search', () => {
    throw notImplemented('searches against the server root are not supported; use /Users/.search or /Groups/.search');
  });

  router.use((req) => {
    throw new ScimError(404, `no SCIM endpoint ${req.method} ${req.path}`);
  });
  router.use(scimErrorHandler(logger));
  return router;
}
