import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfterMs } from '../../src/pulumi/retry';
import { parseErrorBody } from '../../src/pulumi/errors';
import { buildUrl } from '../../src/pulumi/http';

/** The client's pure parts: Retry-After parsing, backoff bounds, error-body parsing (the limiter: limiter.test.ts). */

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  test.each([
    ['5', 5000],
    [' 0 ', 0],
    ['Sat, 28 Nov 2026 12:00:30 GMT', 30_000],
    ['Sat, 28 Nov 2026 11:59:00 GMT', 0],
  ])('%p → %p ms', (header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });
  test.each([[null], [undefined], ['soon'], ['-3'], ['1.5']])('%p is not a usable Retry-After', (header) => {
    expect(parseRetryAfterMs(header as string | null | undefined, now)).toBeUndefined();
  });
});

describe('backoffDelayMs', () => {
  test('doubles from the base, never exceeds the cap, and keeps at least half of the step', () => {
    const policy = DEFAULT_RETRY_POLICY;
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      expect(backoffDelayMs(policy, attempt, () => 0)).toBe(step / 2);
      expect(backoffDelayMs(policy, attempt, () => 0.999999)).toBeLessThanOrEqual(step);
    }
    expect(backoffDelayMs(policy, 40, () => 1)).toBe(policy.maxDelayMs);
  });
});

describe('parseErrorBody', () => {
  test('the JSON error shape, errors[] described in the message', () => {
    const { body, message } = parseErrorBody(
      409,
      JSON.stringify({
        code: 409,
        message: 'Conflict',
        errors: [{ resource: 'team', attribute: 'name', errorType: 'already_exists' }],
      }),
    );
    expect(body).toMatchObject({ code: 409, message: 'Conflict' });
    expect(message).toBe('Conflict (team name already_exists)');
  });
  test('a JSON body with code 0 or no code takes the HTTP status', () => {
    expect(parseErrorBody(404, '{"code":0,"message":"gone"}').body).toMatchObject({ code: 404, message: 'gone' });
    expect(parseErrorBody(400, '{"message":"bad"}').body).toMatchObject({ code: 400 });
  });
  test('plain text stays text; empty bodies say the status', () => {
    expect(parseErrorBody(404, '404 page not found\n')).toEqual({ body: '404 page not found', message: '404 page not found' });
    expect(parseErrorBody(502, '')).toEqual({ body: undefined, message: 'HTTP 502' });
    expect(parseErrorBody(500, '[1,2]').body).toBe('[1,2]');
  });
});

describe('buildUrl', () => {
  test('escapes every path segment and drops empty query values', () => {
    expect(
      buildUrl('https://api.example', '/api/orgs/{org}/members/{login}', { org: 'a b', login: 'x/y?z' }, { type: 'frontend', continuationToken: undefined }),
    ).toBe('https://api.example/api/orgs/a%20b/members/x%2Fy%3Fz?type=frontend');
  });
  test('a missing parameter is a programming error, not a request to a wrong URL', () => {
    expect(() => buildUrl('https://api.example', '/api/orgs/{org}/teams/{team}', { org: 'acme', team: '' }, undefined)).toThrow(TypeError);
  });
});
