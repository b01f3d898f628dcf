import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log';
import { recordScimRequest, type ScimResource } from '../metrics';
import { REQUEST_ID_PATTERN, UUID_PATTERN } from '../util';
import type { WriteContext } from './commands';
import { invalidSyntax, invalidValue, notFound, SCIM_CONTENT_TYPE } from './errors';
import type { ListParams } from './queries';
import { etagOf } from './resource-columns';

/**
 * What the SCIM routes read from a request and write to a response, so that each route is
 * parse, call, render. Responses are `application/scim+json`.
 */

export function send(res: Response, status: number, body?: unknown): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.set('Content-Type', SCIM_CONTENT_TYPE);
  res.send(JSON.stringify(body));
}

/** A resource with its ETag; `location` only on 201. */
export function sendResource(res: Response, status: number, resource: unknown, version: string, location?: string): void {
  res.set('ETag', etagOf(version));
  if (location) res.set('Location', location);
  send(res, status, resource);
}

/** 204 or 304: the answer is the version alone. */
export function sendVersion(res: Response, status: 204 | 304, version: string): void {
  res.set('ETag', etagOf(version));
  send(res, status);
}

export function queryString(req: Request, name: string): string | undefined {
  const raw = (req.query as Record<string, unknown>)[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' ? value : undefined;
}

/** An id in the URL; one that is not a UUID names no resource here. */
export function idParam(req: Request, kind: 'User' | 'Group'): string {
  const id = String(req.params.id);
  if (!UUID_PATTERN.test(id)) throw notFound(`${kind} ${id} not found`);
  return id;
}

/** Bare tags of an If-Match / If-None-Match header; weak and strong compare equal here. */
function tagsOf(header: string | undefined): string[] | undefined {
  if (!header) return undefined;
  return header.split(',').map((t) => t.trim().replace(/^W\//i, '').replace(/^"|"$/g, ''));
}

export function writeContext(req: Request, res: Response): WriteContext {
  return { requestId: requestIdOf(res), ifMatch: tagsOf(req.headers['if-match']) };
}

export function requestIdOf(res: Response): string {
  return res.locals.requestId as string;
}

/** RFC 7232 If-None-Match on a read: the client's copy is current. */
export function notModified(req: Request, version: string): boolean {
  const tags = tagsOf(req.headers['if-none-match']);
  return tags !== undefined && (tags.includes('*') || tags.includes(version));
}

export function listParamsOfQuery(req: Request): ListParams {
  return {
    filter: queryString(req, 'filter'),
    startIndex: queryString(req, 'startIndex'),
    count: queryString(req, 'count'),
    sortBy: queryString(req, 'sortBy'),
    sortOrder: queryString(req, 'sortOrder'),
    attributes: queryString(req, 'attributes'),
    excludedAttributes: queryString(req, 'excludedAttributes'),
  };
}

/** RFC 7644 §3.4.3: a search body; attribute lists may be arrays of names. */
export function listParamsOfSearch(body: unknown): ListParams {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('a search needs a JSON object body');
  const fields = body as Record<string, unknown>;
  const str = (v: unknown, name: string) => {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
    if (typeof v !== 'string') throw invalidValue(`'${name}' must be a string`);
    return v;
  };
  return {
    filter: str(fields.filter, 'filter'),
    startIndex: fields.startIndex,
    count: fields.count,
    sortBy: str(fields.sortBy, 'sortBy'),
    sortOrder: str(fields.sortOrder, 'sortOrder'),
    attributes: str(fields.attributes, 'attributes'),
    excludedAttributes: str(fields.excludedAttributes, 'excludedAttributes'),
  };
}

function resourceLabel(path: string): ScimResource {
  const first = path.split('/')[1]?.toLowerCase();
  switch (first) {
    case 'users':
      return 'Users';
    case 'groups':
      return 'Groups';
    case 'serviceproviderconfig':
      return 'ServiceProviderConfig';
    case 'schemas':
      return 'Schemas';
    case 'resourcetypes':
      return 'ResourceTypes';
    case 'bulk':
      return 'Bulk';
    default:
      return 'other';
  }
}

/**
 * Gives each request its id (a safe X-Request-Id as sent, else a fresh one), echoes it, and
 * when the response is sent records the request's metric and access-log line: no bodies,
 * names or tokens, only ids.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
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
  };
}
