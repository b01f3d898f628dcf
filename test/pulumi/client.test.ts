import { startEmulator, type Emulator } from '../../src/emulator';
import {
  BadRequestError,
  ConflictError,
  createPulumiClient,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  type PulumiCall,
  type PulumiClientOptions,
  RateLimitedError,
  ServerError,
  UnauthorizedError,
} from '../../src/pulumi';

/**
 * The client's failure handling, against the emulator over HTTP with injected faults: error
 * classes from JSON and plain-text bodies, retries bounded, Retry-After honoured, token creation
 * never blindly retried, timeouts, headers and escaping, and the per-org concurrency limit.
 * Delays are kept to milliseconds; assertions are on call counts and order, never on time.
 */

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      org: 'acme',
      members: ['alice', 'bob'],
      accounts: ['carol'],
      stacks: ['infra/dev', 'infra/prod'],
      teams: [{ name: 'platform', members: ['alice'] }],
    },
  });
});
afterAll(() => emu.stop());
beforeEach(async () => {
  emu.faults.clear();
  // A request a timed-out client abandoned is still being answered; let it land first.
  await emu.calls.idle();
  emu.calls.reset();
});

const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 2, maxDelayMs: 10, maxRetryAfterMs: 2000 };

function client(extra: Partial<PulumiClientOptions> = {}) {
  const calls: PulumiCall[] = [];
  const c = createPulumiClient({
    baseUrl: emu.url,
    accessToken: emu.accessToken,
    retry: FAST_RETRY,
    onCall: (call) => calls.push(call),
    ...extra,
  });
  return { c, calls };
}

const apiCalls = (route: string) => emu.calls.entries.filter((e) => e.route === route);

describe('headers and URLs', () => {
  test('every request carries the token scheme, the v8 media type and a JSON content type', async () => {
    const { c } = client();
    await c.getTeam('acme', 'platform');
    await c.updateTeam('acme', 'platform', { newDisplayName: 'Platform', newDescription: 'd' });
    expect(emu.calls.entries).toHaveLength(2);
    for (const entry of emu.calls.entries) {
      expect(entry).toMatchObject({ authScheme: 'token', accept: 'application/vnd.pulumi+8', contentType: 'application/json' });
    }
  });

  test('path segments are escaped, so a slash in a login stays inside its segment', async () => {
    const { c } = client();
    await c.removeTeamMember('acme', 'platform', 'a/b c');
    await expect(c.getTeam('acme', 'x/y')).resolves.toBeNull();
    expect(emu.calls.entries.map((e) => e.route)).toEqual(['/api/orgs/{org}/teams/{team}', '/api/orgs/{org}/teams/{team}']);
    expect(emu.calls.entries[1].path).toBe('/api/orgs/acme/teams/x%2Fy');
  });

  test('a base URL with a path prefix is kept', async () => {
    const { c } = createPulumiClientAt(`${emu.url}/_emulator/hand/`);
    await expect(c.getTeam('acme', 'platform')).resolves.toMatchObject({ name: 'platform' });
  });
});

function createPulumiClientAt(baseUrl: string) {
  return { c: createPulumiClient({ baseUrl, accessToken: 'unused-by-hand-edits', retry: FAST_RETRY }) };
}

describe('error classes', () => {
  test('401 → UnauthorizedError with the JSON body', async () => {
    const { c } = client({ accessToken: 'pul-not-the-token' });
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err).toMatchObject({ status: 401, body: { code: 401 } });
  });

  test('403 JSON body → ForbiddenError, not retried', async () => {
    emu.faults.add({ path: '/api/orgs/*/teams', kind: 'status', status: 403 });
    const { c } = client();
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err).toMatchObject({ status: 403, body: { code: 403, message: expect.any(String) } });
    expect(emu.calls.total).toBe(1);
  });

  test('plain-text 404 → NotFoundError carrying the raw text', async () => {
    emu.faults.add({ path: '/api/orgs/*/teams', kind: 'status', status: 404, body: 'text' });
    const { c } = client();
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, body: '404 Not Found' });
  });

  test('plain-text 502 on every attempt → ServerError after the last attempt', async () => {
    emu.faults.add({ path: '/api/orgs/*/teams', kind: 'status', status: 502, body: 'text' });
    const { c, calls } = client();
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ status: 502, body: '502 Bad Gateway' });
    expect(calls.map((x) => x.attempt)).toEqual([1, 2, 3, 4]);
    expect(emu.calls.total).toBe(4);
  });

  test('409 with an errors[] body → ConflictError whose message names the attribute', async () => {
    const { c } = client();
    const err = await c.createTeam('acme', { name: 'platform', displayName: 'x', description: '' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain('already_exists');
  });

  test('400 → BadRequestError, not retried', async () => {
    const { c } = client();
    await expect(c.addStackPermission('acme', 'platform', { projectName: 'infra', stackName: 'dev', permission: 100 as 101 })).rejects.toBeInstanceOf(
      BadRequestError,
    );
    // The one other call is the GET that checks whether the grant is already there.
    expect(emu.calls.entries.map((e) => e.method)).toEqual(['PATCH', 'GET']);
  });
});

describe('retries', () => {
  test('a transient 503 on a GET is retried until it succeeds', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams/platform', kind: 'status', status: 503, times: 2 });
    const { c, calls } = client();
    await expect(c.getTeam('acme', 'platform')).resolves.toMatchObject({ name: 'platform' });
    expect(calls.map((x) => [x.attempt, x.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
  });

  test('attempts are bounded by maxAttempts', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams/platform', kind: 'status', status: 500 });
    const { c } = client({ retry: { ...FAST_RETRY, maxAttempts: 2 } });
    await expect(c.getTeam('acme', 'platform')).rejects.toBeInstanceOf(ServerError);
    expect(emu.calls.total).toBe(2);
  });

  test('a dropped connection is a NetworkError, retried for idempotent calls', async () => {
    emu.faults.add({ method: 'PATCH', path: '/api/orgs/acme/teams/platform', kind: 'drop', times: 1 });
    const { c, calls } = client();
    await c.addTeamMember('acme', 'platform', 'bob');
    expect(calls.map((x) => x.outcome)).toEqual(['network-error', 'ok']);
    expect(emu.state.teams[0].members.map((m) => m.login)).toEqual(['alice', 'bob']);
    await c.removeTeamMember('acme', 'platform', 'bob');
  });

  test('dropped on every attempt → NetworkError (not timed out)', async () => {
    emu.faults.add({ path: '/api/orgs/acme/members', kind: 'drop' });
    const { c } = client({ retry: { ...FAST_RETRY, maxAttempts: 3 } });
    const err = await c.listOrgMembers('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ status: 0, timedOut: false });
    expect(emu.calls.total).toBe(3);
  });

  test('a slow answer times out as NetworkError{timedOut}; each attempt has its own timeout', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'latency', latencyMs: 300 });
    const { c, calls } = client({ timeoutMs: 40, retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ timedOut: true });
    expect(calls.map((x) => x.outcome)).toEqual(['timeout', 'timeout']);
  });

  test('token creation is never retried after a 5xx, and no token exists afterwards', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/platform/tokens', kind: 'status', status: 500 });
    const { c } = client();
    await expect(c.createTeamToken('acme', 'platform', { name: 'ci-5xx', description: '', expires: 0 })).rejects.toBeInstanceOf(ServerError);
    expect(apiCalls('/api/orgs/{org}/teams/{team}/tokens')).toHaveLength(1);
    expect(emu.state.tokens.filter((t) => t.name === 'ci-5xx')).toHaveLength(0);
  });

  test('token creation is never retried after a dropped connection', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/platform/tokens', kind: 'drop' });
    const { c } = client();
    await expect(c.createTeamToken('acme', 'platform', { name: 'ci-drop', description: '', expires: 0 })).rejects.toBeInstanceOf(NetworkError);
    expect(apiCalls('/api/orgs/{org}/teams/{team}/tokens')).toHaveLength(1);
  });

  test('token creation is retried after a 429 (the service did no work) and creates exactly one token', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/platform/tokens', kind: 'rate-limit', retryAfterSeconds: 0, times: 1 });
    const { c } = client();
    const issued = await c.createTeamToken('acme', 'platform', { name: 'ci-429', description: '', expires: 0 });
    expect(apiCalls('/api/orgs/{org}/teams/{team}/tokens').map((e) => e.status)).toEqual([429, 200]);
    expect(emu.state.tokens.filter((t) => t.name === 'ci-429').map((t) => t.id)).toEqual([issued.id]);
  });

  test('team creation is not retried after a 5xx', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/pulumi', kind: 'status', status: 503 });
    const { c } = client();
    await expect(c.createTeam('acme', { name: 'new-team', displayName: 'New', description: '' })).rejects.toBeInstanceOf(ServerError);
    expect(emu.calls.total).toBe(1);
  });
});

describe('429 and Retry-After', () => {
  test('Retry-After in seconds is waited for, then the call succeeds', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 1, times: 1 });
    const { c, calls } = client();
    await expect(c.listTeams('acme')).resolves.toHaveLength(1);
    expect(calls.map((x) => x.status)).toEqual([429, 200]);
  });

  test('Retry-After as an HTTP date is waited for, then the call succeeds', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 1, retryAfterFormat: 'http-date', times: 1 });
    const { c, calls } = client();
    await expect(c.listTeams('acme')).resolves.toHaveLength(1);
    expect(calls.map((x) => x.status)).toEqual([429, 200]);
  });

  test('a Retry-After beyond the cap surfaces at once as RateLimitedError with the full wait (seconds)', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 120 });
    const { c } = client();
    const err = await c.listTeams('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(120_000);
    expect(emu.calls.total).toBe(1);
  });

  test('a Retry-After beyond the cap surfaces at once as RateLimitedError with the full wait (HTTP date)', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 120, retryAfterFormat: 'http-date' });
    const { c } = client();
    const err = (await c.listTeams('acme').catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    // An HTTP date has whole-second resolution and the clock moved on since it was written.
    expect(err.retryAfterMs).toBeGreaterThan(100_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  test('a 429 on every attempt ends in RateLimitedError after maxAttempts', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit', retryAfterSeconds: 0 });
    const { c } = client({ retry: { ...FAST_RETRY, maxAttempts: 3 } });
    await expect(c.listTeams('acme')).rejects.toBeInstanceOf(RateLimitedError);
    expect(emu.calls.total).toBe(3);
  });

  test('a 429 without Retry-After still carries a positive retryAfterMs (the backoff estimate)', async () => {
    emu.faults.add({ path: '/api/orgs/acme/teams', kind: 'rate-limit' });
    const { c } = client({ retry: { ...FAST_RETRY, maxAttempts: 1 } });
    const err = (await c.listTeams('acme').catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.retryAfterMs).toBeGreaterThan(0);
  });
});

describe('per-org concurrency limit', () => {
  test('never more requests in flight than maxConcurrency', async () => {
    emu.faults.add({ method: 'GET', path: '/api/orgs/acme/teams/platform', kind: 'latency', latencyMs: 20 });
    const { c } = client({ maxConcurrency: 3, maxRps: 1000 });
    await Promise.all(Array.from({ length: 12 }, () => c.getTeam('acme', 'platform')));
    expect(emu.calls.total).toBe(12);
    expect(emu.calls.snapshot().maxInFlight).toBe(3);
  });

  test('maxConcurrency 1 serialises the calls of one org', async () => {
    emu.faults.add({ method: 'GET', path: '/api/orgs/acme/teams/platform', kind: 'latency', latencyMs: 10 });
    const { c } = client({ maxConcurrency: 1, maxRps: 1000 });
    await Promise.all(Array.from({ length: 5 }, () => c.getTeam('acme', 'platform')));
    expect(emu.calls.snapshot().maxInFlight).toBe(1);
  });

  test('the limit is per org: a busy org does not hold back another', async () => {
    emu.faults.add({ method: 'GET', path: '/api/orgs/*/teams/platform', kind: 'latency', latencyMs: 30 });
    const { c } = client({ maxConcurrency: 1, maxRps: 1000 });
    await Promise.all([c.getTeam('acme', 'platform'), c.getTeam('other-org', 'platform'), c.getTeam('acme', 'platform')]);
    expect(emu.calls.snapshot().maxInFlight).toBe(2);
  });
});

describe('onCall hook', () => {
  test('reports route templates, statuses and attempts, never the concrete path', async () => {
    const { c, calls } = client();
    await c.getTeam('acme', 'platform');
    await c.getTeam('acme', 'nope');
    expect(calls.map(({ method, route, status, attempt, outcome }) => ({ method, route, status, attempt, outcome }))).toEqual([
      { method: 'GET', route: '/api/orgs/{org}/teams/{team}', status: 200, attempt: 1, outcome: 'ok' },
      { method: 'GET', route: '/api/orgs/{org}/teams/{team}', status: 404, attempt: 1, outcome: 'http-error' },
    ]);
    for (const call of calls) expect(call.ms).toBeGreaterThanOrEqual(0);
  });

  test('a throwing hook does not break the call', async () => {
    const c = createPulumiClient({
      baseUrl: emu.url,
      accessToken: emu.accessToken,
      onCall: () => {
        throw new Error('boom');
      },
    });
    await expect(c.getTeam('acme', 'platform')).resolves.toMatchObject({ name: 'platform' });
  });
});

describe('idempotence helpers', () => {
  test('addOrgMember maps 200 / 409 / 404', async () => {
    const { c } = client();
    expect(await c.addOrgMember('acme', 'carol')).toBe('added');
    expect(await c.addOrgMember('acme', 'carol')).toBe('already-member');
    expect(await c.addOrgMember('acme', 'nobody-at-all')).toBe('no-account');
    await c.removeOrgMember('acme', 'carol');
    await c.removeOrgMember('acme', 'carol');
    expect(emu.state.members.map((m) => m.login)).not.toContain('carol');
  });

  test('ping succeeds with the right token and fails with a wrong one, in one attempt', async () => {
    await expect(client().c.ping('acme')).resolves.toBeUndefined();
    await expect(client({ accessToken: 'pul-wrong' }).c.ping('acme')).rejects.toBeInstanceOf(UnauthorizedError);
    emu.faults.add({ path: '/api/user/stacks', kind: 'status', status: 503 });
    emu.calls.reset();
    await expect(client().c.ping()).rejects.toBeInstanceOf(ServerError);
    expect(emu.calls.total).toBe(1);
  });
});
