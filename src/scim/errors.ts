import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../directory';
import type { Logger } from '../log';

/**
 * The SCIM error edge: one typed error, built through the factories below; one table
 * (`ERROR_TABLE`) that maps everything else the routes can meet onto it; one middleware
 * (`scimErrorHandler`) that renders the RFC 7644 §3.12 body. Only a genuine server fault
 * becomes a 500, and its detail never carries a message or stack from inside the process.
 */

export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * RFC 7644 §3.12 `scimType` values this server emits, and `tooLarge` on a bulk request past its
 * limits: §3.7.4 gives that 413 no type, so clients that read only the status lose nothing, and
 * those that branch on a type get one naming the cause (docs/scim.md, "/Bulk").
 */
export type ScimType =
  | 'invalidFilter'
  | 'tooLarge'
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
export const unauthorized = (detail: string) => new ScimError(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="scim"' });
export const rateLimited = (retryAfterSeconds: number) =>
  new ScimError(429, 'too many requests for this SCIM client', undefined, {
    'Retry-After': String(retryAfterSeconds),
  });

export const serviceUnavailable = () => new ScimError(503, 'the directory store is unavailable; retry later', undefined, { 'Retry-After': '5' });

/** Members named by id that are not Users of this directory; the request writes nothing. */
export const unknownMembers = (ids: string[]) => invalidValue(`members must be Users of this directory; unknown: ${ids.slice(0, 5).join(', ')}`);

const PG_UNIQUE_VIOLATION = '23505';
const PG_INVALID_TEXT = '22P02';
const PG_QUERY_CANCELED = '57014';
const USER_NAME_INDEX = 'users_user_name_lower';

/** The fields the rows below look at; any of them may be missing on what was thrown. */
type Thrown = { type?: string; status?: number; code?: string; constraint?: string };

const bodyParser =
  (...types: string[]) =>
  (e: Thrown) =>
    types.includes(e.type ?? '');

/**
 * Every failure the SCIM routes can meet and its answer, first match wins. A body in a media
 * type other than JSON is not parsed (see the router's body parser): the route then finds no
 * JSON object and throws its own 400 invalidSyntax ScimError.
 */
const ERROR_TABLE: ReadonlyArray<{ when: (e: Thrown) => boolean; answer: (e: Thrown) => ScimError }> = [
  // Thrown by auth, parsers, routes and commands: already the answer.
  { when: (e) => e instanceof ScimError, answer: (e) => e as ScimError },
  // express.json (body-parser) marks its errors with `type`.
  { when: bodyParser('entity.parse.failed'), answer: () => invalidSyntax('request body is not valid JSON') },
  { when: bodyParser('entity.too.large'), answer: () => new ScimError(413, 'request body is too large') },
  { when: bodyParser('encoding.unsupported', 'charset.unsupported'), answer: () => new ScimError(415, 'unsupported request body encoding') },
  { when: bodyParser('request.aborted'), answer: () => invalidSyntax('request body was aborted') },
  // Postgres refusing a value: bad input, not a fault here.
  {
    when: (e) => e.code === PG_UNIQUE_VIOLATION && e.constraint === USER_NAME_INDEX,
    answer: () => uniqueness('a User with this userName already exists'),
  },
  { when: (e) => e.code === PG_UNIQUE_VIOLATION, answer: () => uniqueness('a resource with this unique attribute already exists') },
  { when: (e) => e.code === PG_INVALID_TEXT, answer: () => invalidValue('a value has the wrong format') },
  // The statement timeout (DB_STATEMENT_TIMEOUT_MS) cancelled a query: the request asks for more
  // work than the server does per query; RFC 7644 §3.12 names that tooMany.
  {
    when: (e) => e.code === PG_QUERY_CANCELED,
    answer: () => tooMany('the request needs more work than the server allows per query; narrow the filter or page the results'),
  },
  // Other http-errors style client errors.
  { when: (e) => typeof e.status === 'number' && e.status >= 400 && e.status < 500, answer: (e) => new ScimError(e.status!, 'bad request') },
  // IdPs retry a 503 later (Entra next cycle, Okta's retry queue); a 500 reads as our bug.
  { when: isDatabaseUnavailable, answer: serviceUnavailable },
];

/** The answer to anything the table does not name: a fault here, told without message or stack. */
const internalError = () => new ScimError(500, 'internal server error');

/** The SCIM answer to anything a SCIM route threw or passed to `next`. */
export function toScimError(err: unknown): ScimError {
  const thrown = (err ?? {}) as Thrown;
  const row = ERROR_TABLE.find((r) => r.when(thrown));
  return row ? row.answer(thrown) : internalError();
}

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

function sendScimError(res: Response, error: ScimError): void {
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
