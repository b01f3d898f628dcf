import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../directory';
import type { Logger } from '../log';

/**
 * SCIM errors: one typed error, built through the factories below, rendered in one place
 * (`scimErrorHandler`) as the RFC 7644 §3.12 body. Anything that is not a ScimError is
 * classified by `toScimError`; only a genuine server fault becomes a 500, and its detail never
 * carries a message or stack from inside the process.
 */

export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12 `scimType` values this server emits. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: ScimType,
    /** Extra response headers, e.g. Retry-After on 429, WWW-Authenticate on 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  toBody(): Record<string, unknown> {
    return {
      schemas: [ERROR_URN],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.message,
    };
  }
}

export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter');
export const invalidSyntax = (detail: string) => new ScimError(400, detail, 'invalidSyntax');
export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue');
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath');
export const noTarget = (detail: string) => new ScimError(400, detail, 'noTarget');
export const mutability = (detail: string) => new ScimError(400, detail, 'mutability');
export const tooMany = (detail: string) => new ScimError(400, detail, 'tooMany');
export const uniqueness = (detail: string) => new ScimError(409, detail, 'uniqueness');
export const notFound = (detail: string) => new ScimError(404, detail);
export const preconditionFailed = (detail: string) => new ScimError(412, detail);
export const methodNotAllowed = (detail: string) => new ScimError(405, detail);
/** RFC 7644 §3.12: an operation this service provider does not support. */
export const notImplemented = (detail: string) => new ScimError(501, detail);
export const unauthorized = (detail: string) =>
  new ScimError(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="scim"' });
export const rateLimited = (retryAfterSeconds: number) =>
  new ScimError(429, 'too many requests for this SCIM client', undefined, {
    'Retry-After': String(retryAfterSeconds),
  });

export const serviceUnavailable = () =>
  new ScimError(503, 'the directory store is unavailable; retry later', undefined, { 'Retry-After': '5' });

const PG_UNIQUE_VIOLATION = '23505';
const PG_INVALID_TEXT = '22P02';

/** Maps library and driver errors that reflect bad input onto SCIM errors; the rest are 500. */
export function toScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  const e = err as { type?: string; status?: number; code?: string };
  // body-parser (express.json) errors carry `type`.
  if (e?.type === 'entity.parse.failed') return invalidSyntax('request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new ScimError(413, 'request body is too large');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new ScimError(415, 'unsupported request body encoding');
  }
  if (e?.type === 'request.aborted') return invalidSyntax('request body was aborted');
  if (e?.code === PG_UNIQUE_VIOLATION) return uniqueness('a resource with this unique attribute already exists');
  if (e?.code === PG_INVALID_TEXT) return invalidValue('a value has the wrong format');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ScimError(e.status, 'bad request');
  }
  // IdPs retry a 503 later (Entra next cycle, Okta's retry queue); a 500 reads as our bug.
  if (isDatabaseUnavailable(err)) return serviceUnavailable();
  return new ScimError(500, 'internal server error');
}

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export function sendScimError(res: Response, error: ScimError): void {
  res.status(error.status);
  res.set(error.headers);
  res.set('Content-Type', SCIM_CONTENT_TYPE);
  res.send(JSON.stringify(error.toBody()));
}

/** The single place SCIM errors become HTTP responses. */
export function scimErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const error = toScimError(err);
    // A 501 answers a request for a feature this server does not offer: no fault here.
    if (error.status >= 500 && error.status !== 501) {
      logger.error('scim request failed', {
        requestId: res.locals.requestId,
        method: req.method,
        route: req.route?.path,
        err,
      });
    }
    if (res.headersSent) return;
    sendScimError(res, error);
  };
}
