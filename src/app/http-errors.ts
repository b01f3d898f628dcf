import type { ErrorRequestHandler, Response } from 'express';
import { z } from 'zod';
import { ScimClientError } from '../directory';
import type { Logger } from '../log';
import { PulumiError } from '../pulumi';
import { QueueUnavailableError } from '../queue';
import { HoldNotPendingError } from '../reconcile';
import { StreamNotConfiguredError, TransmitterError } from '../signals';
import { httpStatusOfTokenError, TokenError } from '../tokens';

/**
 * The one table from errors to HTTP answers, for every surface but SCIM (which answers in
 * RFC 7644's format): the admin API and the outer edge render it as JSON, the console as a
 * page. Routes throw; only an edge turns an error into a response.
 */

/** An answer a route chooses itself: status, machine-readable code, message for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpErrorAnswer {
  status: number;
  /** Machine-readable, e.g. `invalid_request`, `unknown_team`. */
  code: string;
  /** Safe to show: never a stack or text from inside the process. */
  message: string;
  /** Field-level problems of a bad request, `path: message`, when the error has them. */
  details?: string[];
  /** A fault of this process, not of the request or a dependency: log it with its stack. */
  internal: boolean;
}

/** body-parser's error `type`s: the request body could not be read. */
const BODY_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  'entity.parse.failed': { status: 400, message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, message: 'request body is too large' },
  'parameters.too.many': { status: 413, message: 'request body has too many fields' },
  'encoding.unsupported': { status: 415, message: 'unsupported request body encoding' },
  'charset.unsupported': { status: 415, message: 'unsupported request body charset' },
  'request.aborted': { status: 400, message: 'request body was aborted' },
  'request.size.invalid': { status: 400, message: 'request body is shorter or longer than its Content-Length' },
};

const issuesOf = (err: z.ZodError) => err.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`);

export function httpErrorAnswer(err: unknown): HttpErrorAnswer {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, internal: false };
  if (err instanceof TokenError) return { status: httpStatusOfTokenError(err), code: err.code, message: err.message, details: err.details, internal: false };
  if (err instanceof z.ZodError) {
    const details = issuesOf(err);
    return { status: 400, code: 'invalid_request', message: `invalid request: ${details.join('; ')}`, details, internal: false };
  }
  if (err instanceof ScimClientError) return { status: 400, code: 'invalid_request', message: err.message, internal: false };
  if (err instanceof QueueUnavailableError) return { status: 503, code: 'queue_unavailable', message: err.message, internal: false };
  // Decided already, applied or superseded: only a pending hold takes a decision.
  if (err instanceof HoldNotPendingError) return { status: 409, code: 'hold_not_pending', message: err.message, internal: false };
  if (err instanceof StreamNotConfiguredError) return { status: 404, code: 'no_stream', message: err.message, internal: false };
  // The SSF transmitter refused or failed a stream-management call; its answer is not ours to show.
  if (err instanceof TransmitterError) return { status: 502, code: 'transmitter_error', message: err.message, internal: false };
  if (err instanceof PulumiError) {
    return { status: 502, code: 'pulumi_unavailable', message: `the Pulumi API answered ${err.status || 'nothing'}`, internal: false };
  }
  const e = err as { type?: unknown; status?: unknown; message?: unknown } | null;
  const body = typeof e?.type === 'string' ? BODY_ERRORS[e.type] : undefined;
  if (body) return { ...body, code: 'invalid_request', internal: false };
  // Other errors that carry a 4xx status (CSRF, http-errors): the request was refused.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, code: 'bad_request', message: typeof e.message === 'string' ? e.message : 'bad request', internal: false };
  }
  return { status: 500, code: 'internal_error', message: 'internal error', internal: true };
}

/** Logs what needs a look: a fault of ours with its stack, a dependency's failure in one line. */
export function logHttpError(logger: Logger, what: string, path: string, err: unknown, answer: HttpErrorAnswer): void {
  if (answer.internal) logger.error(what, { path, err });
  else if (answer.status >= 500) logger.warn(what, { path, status: answer.status, code: answer.code, err: (err as Error)?.message });
}

export function sendJsonError(res: Response, answer: HttpErrorAnswer): void {
  res.status(answer.status).json({ error: answer.code, message: answer.message, ...(answer.details ? { details: answer.details } : {}) });
}

/** An error middleware answering in JSON `{error, message, details?}` from the table. */
export function jsonErrorEdge(logger: Logger, what: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const answer = httpErrorAnswer(err);
    logHttpError(logger, what, req.baseUrl + req.path, err, answer);
    if (res.headersSent) return;
    sendJsonError(res, answer);
  };
}
