import {
  BadRequestError,
  classifyFailure,
  ConflictError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  UnauthorizedError,
} from '../../src/pulumi';

/**
 * The one retry classification both workers (team reconciles and the revoke lane) use: a 403
 * is not retried ten times by one and given up by the other.
 */
it.each([
  [
    '429 waits without spending an attempt',
    new RateLimitedError('slow down', undefined, 'GET /x', undefined, 1500),
    { kind: 'rate-limited', retryAfterMs: 1500 },
  ],
  ['5xx is retried', new ServerError('boom', 503, undefined, 'GET /x'), { kind: 'transient' }],
  ['no answer is retried', new NetworkError('reset', 'GET /x', false), { kind: 'transient' }],
  ['an error not from Pulumi is retried', new Error('database went away'), { kind: 'transient' }],
  ['400 is permanent', new BadRequestError('bad', 400, undefined, 'POST /x'), { kind: 'permanent' }],
  ['401 is permanent', new UnauthorizedError('who', 401, undefined, 'GET /x'), { kind: 'permanent' }],
  ['403 is permanent', new ForbiddenError('no', 403, undefined, 'DELETE /x'), { kind: 'permanent' }],
  ['an unexpected 404 is permanent', new NotFoundError('gone', 404, undefined, 'GET /x'), { kind: 'permanent' }],
  ['409 is permanent', new ConflictError('taken', 409, undefined, 'POST /x'), { kind: 'permanent' }],
])('%s', (_name, err, expected) => {
  expect(classifyFailure(err)).toEqual(expected);
});
