import type { PulumiErrorBody } from './types';

/**
 * Typed errors of the Pulumi REST client. Callers decide retry / fail / delay by error class,
 * never by message text (controller-runtime and BullMQ both classify this way).
 *
 * `body` is the parsed JSON error body when the service sent one (docs/pulumi-api.md, "Transport"), else
 * the raw text; `message` never contains the request's credentials.
 */
export class PulumiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when no answer arrived (network error, timeout). */
    readonly status: number,
    readonly body: PulumiErrorBody | string | undefined,
    /** `METHOD /api/route/{template}` of the failed call. */
    readonly route: string,
    /** `X-Pulumi-Request-ID` of the answer, for support tickets. */
    readonly requestId?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request was invalid; retrying the same request cannot succeed. */
export class BadRequestError extends PulumiError {}
/** 401: the access token is missing, wrong or revoked. */
export class UnauthorizedError extends PulumiError {}
/** 403: the token lacks the permission, or the org's token-expiry policy rejects it. */
export class ForbiddenError extends PulumiError {}
/** 404: the org, team, user, token or route does not exist. */
export class NotFoundError extends PulumiError {}
/** 409: the name is taken, or the user is already a member. */
export class ConflictError extends PulumiError {}
/** 5xx after the last permitted attempt. */
export class ServerError extends PulumiError {}

/** 429 after the last permitted attempt; a BullMQ worker hands `retryAfterMs` to `worker.rateLimit()`. */
export class RateLimitedError extends PulumiError {
  constructor(
    message: string,
    body: PulumiErrorBody | string | undefined,
    route: string,
    requestId: string | undefined,
    /** How long the service asked us to wait (Retry-After), or the client's backoff estimate. */
    readonly retryAfterMs: number,
  ) {
    super(message, 429, body, route, requestId);
  }
}

/** No HTTP answer: connection refused or dropped, DNS failure, or the request timed out. */
export class NetworkError extends PulumiError {
  constructor(
    message: string,
    route: string,
    readonly timedOut: boolean,
    override readonly cause?: unknown,
  ) {
    super(message, 0, undefined, route);
  }
}

/** A 2xx answer whose body is not the documented shape (or a pagination cursor that loops). */
export class InvalidResponseError extends PulumiError {}

/** Any other status (e.g. 405, 410, 422) that has no class of its own. */
export class UnexpectedStatusError extends PulumiError {}

/**
 * Parses an error body: the JSON `{code, message, errors?}` shape, or plain text such as the
 * router's `404 page not found`. A JSON body without a usable `code` gets the HTTP status.
 */
export function parseErrorBody(status: number, text: string): { body: PulumiErrorBody | string | undefined; message: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { body: undefined, message: `HTTP ${status}` };
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const obj = parsed as Record<string, unknown>;
      const code = typeof obj.code === 'number' && obj.code !== 0 ? obj.code : status;
      const message = typeof obj.message === 'string' && obj.message !== '' ? obj.message : `HTTP ${status}`;
      const body: PulumiErrorBody = { ...(obj as Partial<PulumiErrorBody>), code, message };
      return { body, message: describeErrors(body) };
    }
  } catch {
    // Not JSON: fall through to the plain-text form both Pulumi clients use.
  }
  return { body: trimmed, message: truncate(trimmed, 300) };
}

function describeErrors(body: PulumiErrorBody): string {
  const details = (body.errors ?? []).map((e) => [e.resource, e.attribute, e.errorType, e.customMessage].filter(Boolean).join(' ')).filter((s) => s !== '');
  return details.length > 0 ? `${body.message} (${details.join('; ')})` : body.message;
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The error class for a non-2xx status that is final (no more retries). */
export function errorForStatus(status: number, text: string, route: string, requestId: string | undefined, retryAfterMs: number): PulumiError {
  const { body, message } = parseErrorBody(status, text);
  const full = `${route} → ${status}: ${message}`;
  switch (status) {
    case 400:
      return new BadRequestError(full, status, body, route, requestId);
    case 401:
      return new UnauthorizedError(full, status, body, route, requestId);
    case 403:
      return new ForbiddenError(full, status, body, route, requestId);
    case 404:
      return new NotFoundError(full, status, body, route, requestId);
    case 409:
      return new ConflictError(full, status, body, route, requestId);
    case 429:
      return new RateLimitedError(`${route} → 429: request rate-limit exceeded`, body, route, requestId, retryAfterMs);
    default:
      return status >= 500 ? new ServerError(full, status, body, route, requestId) : new UnexpectedStatusError(full, status, body, route, requestId);
  }
}

/**
 * How a job that failed on this error should be retried — the one classification every
 * worker uses (docs/architecture.md, "retries"):
 * - `rate-limited`: Pulumi asked us to wait; pause the queue, spend no attempt.
 * - `transient`: network, 5xx, anything not from Pulumi; retry with backoff.
 * - `permanent`: a 4xx other than 429 does not get better by retrying.
 */
export type FailureClass = { kind: 'rate-limited'; retryAfterMs: number } | { kind: 'transient' } | { kind: 'permanent' };

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof RateLimitedError) return { kind: 'rate-limited', retryAfterMs: err.retryAfterMs };
  if (err instanceof ServerError || err instanceof NetworkError) return { kind: 'transient' };
  if (err instanceof PulumiError && err.status >= 400 && err.status < 500) return { kind: 'permanent' };
  return { kind: 'transient' };
}
