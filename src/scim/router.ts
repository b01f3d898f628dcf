import type { Redis } from 'ioredis';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../config';
import { findGroup, findUser, type Db, type GroupRow, type UserGroupRef, type UserRow } from '../directory';
import type { Logger } from '../log';
import { createScimAuth, type RateLimit } from './auth';
import { bulkPayloadTooLarge, parseBulkRequest, runBulk } from './bulk';
import * as commands from './commands';
import { methodNotAllowed, notFound, notImplemented, ScimError, scimErrorHandler } from './errors';
import {
  idParam,
  listParamsOfQuery,
  listParamsOfSearch,
  notModified,
  queryString,
  requestIdOf,
  requestLog,
  send,
  sendResource,
  sendVersion,
  writeContext,
} from './http';
import { membershipPatch } from './patch';
import { groupResource, listResources, projectionOf, userResource, type ResourceKind } from './queries';
import { LIST_URN, MAX_BULK_PAYLOAD_BYTES, resourceTypeDescriptions, schemaDescriptions, serviceProviderConfig } from './schema';

/**
 * The SCIM 2.0 HTTP surface (RFC 7644) for /scim/v2: discovery endpoints, Users and Groups.
 * Each route parses the request, calls one command (./commands, the writes) or query
 * (./queries, the reads) and renders the result. Bodies may be `application/scim+json` or
 * `application/json`; every error goes through `scimErrorHandler`.
 */

export interface ScimRouterDeps {
  db: Db;
  logger: Logger;
  config: Pick<Config, 'SCIM_BEARER_TOKEN' | 'SCIM_MAX_BODY' | 'PUBLIC_URL'>;
  /** Per-client request rate; `false` turns limiting off (benchmarks). */
  rateLimit?: RateLimit | false;
  /** See createScimAuth. @defaultValue 5000 */
  tokenCacheMs?: number;
  /** Where the rate limits are counted, shared by replicas; this process only when absent. */
  sharedLimits?: { redis: Redis; keyPrefix: string };
}

/** What the resource routes share: the store and the base URL resources are located under. */
interface RouteDeps {
  db: Db;
  baseUrlOf: (req: Request) => string;
}

export function createScimRouter(deps: ScimRouterDeps): Router {
  const { db, logger, config } = deps;
  const baseUrlOf = (req: Request) =>
    config.PUBLIC_URL ? `${config.PUBLIC_URL.replace(/\/$/, '')}${req.baseUrl}` : `${req.protocol}://${req.get('host')}${req.baseUrl}`;
  const router = express.Router();
  router.use(requestLog(logger));
  router.use(
    createScimAuth({
      db,
      logger,
      bootstrapToken: config.SCIM_BEARER_TOKEN,
      rateLimit: deps.rateLimit,
      tokenCacheMs: deps.tokenCacheMs,
      shared: deps.sharedLimits,
    }),
  );
  // Before the general body parser: a bulk request has its own size limit (maxPayloadSize).
  router.use(bulkRoutes({ db, baseUrlOf, logger }));
  router.use(jsonBody(config.SCIM_MAX_BODY));
  router.use(discoveryRoutes(baseUrlOf));
  router.use(userRoutes({ db, baseUrlOf }));
  router.use(groupRoutes({ db, baseUrlOf }));
  router.use(unsupportedRoutes());
  router.use((req) => {
    throw new ScimError(404, `no SCIM endpoint ${req.method} ${req.path}`);
  });
  router.use(scimErrorHandler(logger));
  return router;
}

/** JSON bodies of any `application/*json` type, or with no Content-Type; other bodies are left unparsed. */
function jsonBody(limit: string | number) {
  return express.json({
    limit,
    type: (req) => {
      const type = req.headers['content-type'];
      return type === undefined || /^application\/([\w.-]+\+)?json\b/i.test(type);
    },
  });
}

function discoveryRoutes(baseUrlOf: (req: Request) => string): Router {
  const router = express.Router();
  const listOf = (resources: unknown[]) => ({
    schemas: [LIST_URN],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  });
  const byId = <T extends { id?: unknown }>(all: T[], id: string, what: string): T => {
    const found = all.find((d) => String(d.id).toLowerCase() === id.toLowerCase());
    if (!found) throw notFound(`no ${what} '${id}'`);
    return found;
  };
  router.get('/ServiceProviderConfig', async (req, res) => send(res, 200, await serviceProviderConfig(baseUrlOf(req))));
  router.get('/Schemas', (req, res) => send(res, 200, listOf(schemaDescriptions(baseUrlOf(req)))));
  router.get('/Schemas/:id', (req, res) => send(res, 200, byId(schemaDescriptions(baseUrlOf(req)), req.params.id!, 'schema')));
  router.get('/ResourceTypes', (req, res) => send(res, 200, listOf(resourceTypeDescriptions(baseUrlOf(req)))));
  router.get('/ResourceTypes/:id', (req, res) => send(res, 200, byId(resourceTypeDescriptions(baseUrlOf(req)), req.params.id!, 'resource type')));
  for (const path of ['/ServiceProviderConfig', '/Schemas', '/Schemas/:id', '/ResourceTypes', '/ResourceTypes/:id']) {
    router.all(path, (req) => {
      throw methodNotAllowed(`${req.method} is not supported on ${path.split('/')[1]}`);
    });
  }
  return router;
}

/** GET /Users|/Groups and POST /.search on them (RFC 7644 §3.4.2, §3.4.3). */
function listRoutes(router: Router, path: string, kind: ResourceKind, { db, baseUrlOf }: RouteDeps): void {
  router.get(path, async (req, res) => send(res, 200, await listResources(db, kind, listParamsOfQuery(req), baseUrlOf(req))));
  router.post(`${path}/.search`, async (req, res) => send(res, 200, await listResources(db, kind, listParamsOfSearch(req.body), baseUrlOf(req))));
}

function userRoutes(deps: RouteDeps): Router {
  const { db, baseUrlOf } = deps;
  const router = express.Router();
  /** `knownGroups`: the user's groups when the caller knows them (a user just created has none). */
  const respond = async (req: Request, res: Response, status: 200 | 201, row: UserRow, knownGroups?: UserGroupRef[]) => {
    const base = baseUrlOf(req);
    const projection = projectionOf('User', queryString(req, 'attributes'), queryString(req, 'excludedAttributes'));
    const resource = await userResource(db, row, base, projection, knownGroups);
    sendResource(res, status, resource, row.version, status === 201 ? `${base}/Users/${row.id}` : undefined);
  };

  listRoutes(router, '/Users', 'User', deps);
  router.post('/Users', async (req, res) => respond(req, res, 201, await commands.createUser(db, req.body, requestIdOf(res)), []));
  router.get('/Users/:id', async (req, res) => {
    const row = await findUser(db, idParam(req, 'User'));
    if (!row) throw notFound(`User ${req.params.id} not found`);
    if (notModified(req, String(row.version))) return sendVersion(res, 304, row.version);
    await respond(req, res, 200, row);
  });
  router.put('/Users/:id', async (req, res) => {
    const replaced = await commands.replaceUser(db, idParam(req, 'User'), req.body, writeContext(req, res));
    await respond(req, res, 200, replaced.row, replaced.groups);
  });
  router.patch('/Users/:id', async (req, res) => respond(req, res, 200, await commands.patchUser(db, idParam(req, 'User'), req.body, writeContext(req, res))));
  router.delete('/Users/:id', async (req, res) => {
    await commands.deleteUser(db, idParam(req, 'User'), writeContext(req, res));
    send(res, 204);
  });
  return router;
}

function groupRoutes(deps: RouteDeps): Router {
  const { db, baseUrlOf } = deps;
  const router = express.Router();
  const respond = async (req: Request, res: Response, status: 200 | 201, row: GroupRow) => {
    const base = baseUrlOf(req);
    const projection = projectionOf('Group', queryString(req, 'attributes'), queryString(req, 'excludedAttributes'));
    const resource = await groupResource(db, row, base, projection);
    sendResource(res, status, resource, row.version, status === 201 ? `${base}/Groups/${row.id}` : undefined);
  };

  listRoutes(router, '/Groups', 'Group', deps);
  router.post('/Groups', async (req, res) => respond(req, res, 201, await commands.createGroup(db, req.body, requestIdOf(res))));
  router.get('/Groups/:id', async (req, res) => {
    const row = await findGroup(db, idParam(req, 'Group'));
    if (!row) throw notFound(`Group ${req.params.id} not found`);
    if (notModified(req, String(row.version))) return sendVersion(res, 304, row.version);
    await respond(req, res, 200, row);
  });
  router.put('/Groups/:id', async (req, res) =>
    respond(req, res, 200, await commands.replaceGroup(db, idParam(req, 'Group'), req.body, writeContext(req, res))),
  );
  router.patch('/Groups/:id', async (req, res) => {
    const id = idParam(req, 'Group');
    const context = writeContext(req, res);
    const wantsResource = Boolean(queryString(req, 'attributes'));
    // Membership-only PATCHes (nearly all an IdP sends) take one database round trip. A
    // conditional request or one asking for the resource back takes the general path.
    const membership = context.ifMatch || wantsResource ? undefined : membershipPatch(req.body);
    if (membership) return sendVersion(res, 204, await commands.patchGroupMembers(db, id, membership, context.requestId));
    const row = await commands.patchGroup(db, id, req.body, context);
    // RFC 7644 §3.5.2: 204 is a valid answer, and the one Entra expects; a client that wants
    // the resource back asks for it with `attributes`.
    if (wantsResource) return respond(req, res, 200, row);
    sendVersion(res, 204, row.version);
  });
  router.delete('/Groups/:id', async (req, res) => {
    await commands.deleteGroup(db, idParam(req, 'Group'), writeContext(req, res));
    send(res, 204);
  });
  return router;
}

/** POST /Bulk (RFC 7644 §3.7, bulk.ts); each operation is logged as the request it stands for would be. */
function bulkRoutes({ db, baseUrlOf, logger }: RouteDeps & { logger: Logger }): Router {
  const router = express.Router();
  const parse = jsonBody(MAX_BULK_PAYLOAD_BYTES);
  // RFC 7644 §3.7.4: a body over maxPayloadSize is a 413 that names the limit.
  const bulkBody = (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => next((err as { type?: string } | undefined)?.type === 'entity.too.large' ? bulkPayloadTooLarge() : err));
  router.post('/Bulk', bulkBody, async (req, res) => {
    const request = parseBulkRequest(req.body);
    const requestId = requestIdOf(res);
    const client = (res.locals.scimClient as { clientName?: string } | undefined)?.clientName;
    const body = await runBulk(request, {
      db,
      baseUrl: baseUrlOf(req),
      requestId,
      onOperation: ({ error, ...entry }) => {
        if (error) logger.error('scim bulk operation failed', { requestId, ...entry, err: error });
        logger.http('scim bulk operation', { requestId, client, ...entry });
      },
    });
    send(res, 200, body);
  });
  router.all('/Bulk', (req) => {
    throw methodNotAllowed(`${req.method} is not supported on Bulk; send a BulkRequest with POST`);
  });
  return router;
}

/** Features this server does not offer (RFC 7644 §3.12: 501). */
function unsupportedRoutes(): Router {
  const router = express.Router();
  // §3.11: a bearer token here belongs to an IdP client, not to a person, so there is no
  // authenticated subject for /Me to stand for.
  router.all('/Me{/*rest}', () => {
    throw notImplemented('/Me is not supported: SCIM clients here are identity providers, not users');
  });
  // §3.4.2.1, §3.4.3: queries run per resource type (/Users, /Groups), not across the root.
  router.get('/', () => {
    throw notImplemented('queries against the server root are not supported; query /Users or /Groups');
  });
  router.post('/.search', () => {
    throw notImplemented('searches against the server root are not supported; use /Users/.search or /Groups/.search');
  });
  return router;
}
