/**
 * Domain errors of the tokens part. Every HTTP surface maps them through the one error table
 * (src/app/http-errors.ts), with the status given here.
 */
export type TokenErrorCode =
  | 'invalid_request'
  | 'unknown_owner'
  | 'unknown_team'
  | 'not_a_member'
  | 'empty_scope'
  | 'unknown_token'
  | 'owner_lost_access'
  | 'observe_mode'
  | 'pulumi_unavailable'
  | 'too_many_live_tokens'
  | 'too_many_issues';

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
    /** Field-level problems of a bad request, `path: message`. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

const STATUS: Readonly<Record<TokenErrorCode, number>> = {
  invalid_request: 400,
  empty_scope: 400,
  unknown_owner: 404,
  unknown_team: 404,
  unknown_token: 404,
  not_a_member: 403,
  owner_lost_access: 409,
  observe_mode: 409,
  pulumi_unavailable: 502,
  too_many_live_tokens: 409,
  too_many_issues: 429,
};

export function httpStatusOfTokenError(err: TokenError): number {
  return STATUS[err.code];
}
