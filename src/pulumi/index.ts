/**
 * Public surface of the Pulumi Service REST client. Other parts import only from here.
 */
export { createPulumiClient } from './client';
export type {
  PulumiClient,
  PulumiClientOptions,
  TokenFilter,
  MemberRoster,
  StackGrant,
  StackRef,
  EnvironmentGrant,
  EnvironmentRef,
  OrgRole,
} from './client';
export type { PulumiCall, RetryMode } from './http';
export { PulumiBudget } from './limiter';
export type { CallClass } from './scheduler';
export { DEFAULT_RETRY_POLICY, parseRetryAfterMs } from './retry';
export type { RetryPolicy } from './retry';
export {
  PulumiError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  RateLimitedError,
  ServerError,
  NetworkError,
  InvalidResponseError,
  UnexpectedStatusError,
  parseErrorBody,
  classifyFailure,
} from './errors';
export type { FailureClass } from './errors';
export * from './types';
