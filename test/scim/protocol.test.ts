import { PassThrough } from 'node:stream';
import { loadConfig, scimRateLimit } from '../../src/config';
import { createScimClient, revokeScimClient, rotateScimToken } from '../../src/directory';
import { createLogger } from '../../src/log';
import { MAX_PATCH_OPERATIONS } from '../../src/scim/schema';
import { BOOTSTRAP_TOKEN, SCIM_JSON, startScimServer, withFailingCommit, type TestScimServer } from './server';

/** Errors, auth, ETags, concurrency, transactions and logging of the SCIM server. */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let scim: TestScimServer;
const logStream = new PassThrough();
let logText = '';
logStream.on('data', (chunk) => (logText += chunk.toString()));

beforeAll(async () => {
  scim = await startScimServer({ logger: createLogger({ level: 'http', stream: logStream }) });
});
afterAll(async () => {
  await scim.close();
});

let seq = 0;
async function newUser(extra: Record<string, unknown> = {}) {
  seq++;
  const res = await scim.request('POST', '/Users', { schemas: [USER_URN], userName: `proto${seq}@example.com`, ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

describe('errors', () => {
  it('answers malformed JSON with 400 invalidSyntax and no stack', async () => {
    const res = await scim.request('POST', '/Users', '{"userName": ');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    expect(res.body).toEqual({ schemas: [ERROR_URN], status: '400', scimType: 'invalidSyntax', detail: 'request body is not valid JSON' });
  });

  it('answers an oversized body with 413', async () => {
    const res = await scim.request('POST', '/Users', { userName: 'big', title: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '413' });
  });

  it('answers unknown ids and routes with a 404 SCIM error', async () => {
    for (const path of ['/Users/00919288221112222', `/Groups/${crypto.randomUUID()}`, '/Nope', '/Users/a/b']) {
      const res = await scim.request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '404' });
    }
  });

  it('rejects a non-JSON body', async () => {
    const res = await scim.request('POST', '/Users', 'userName=x', { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });

  it.each<[string, unknown, string]>([
    ['no Operations', { schemas: [PATCH_URN] }, 'invalidSyntax'],
    ['an unknown op', { Operations: [{ op: 'move', path: 'title', value: 'x' }] }, 'invalidSyntax'],
    ['remove without path', { Operations: [{ op: 'remove' }] }, 'noTarget'],
    ['a read-only attribute', { Operations: [{ op: 'replace', path: 'id', value: 'x' }] }, 'mutability'],
    ['the read-only groups', { Operations: [{ op: 'add', path: 'groups', value: [{ value: 'x' }] }] }, 'mutability'],
    ['an unknown attribute', { Operations: [{ op: 'replace', path: 'shoeSize', value: 42 }] }, 'noTarget'],
    ['a bad path', { Operations: [{ op: 'replace', path: 'emails[type eq', value: 'x' }] }, 'invalidPath'],
    ['a bad boolean', { Operations: [{ op: 'replace', path: 'active', value: 'maybe' }] }, 'invalidValue'],
    ['removing userName', { Operations: [{ op: 'remove', path: 'userName' }] }, 'invalidValue'],
    ['a path-less value that is not an object', { Operations: [{ op: 'replace', value: 'x' }] }, 'invalidValue'],
    [
      'more operations than allowed',
      { Operations: Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'replace', path: 'title', value: 'x' })) },
      'tooMany',
    ],
  ])('answers a PATCH with %s with 400 %s', async (_name, body, scimType) => {
    const user = await newUser();
    const res = await scim.request('PATCH', `/Users/${user.id}`, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType });
  });

  it('rejects a PUT whose id differs from the URL', async () => {
    const user = await newUser();
    const res = await scim.request('PUT', `/Users/${user.id}`, { ...user, id: crypto.randomUUID() });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('mutability');
  });

  it("answers 409 when a rename takes another user's userName", async () => {
    const a = await newUser();
    const b = await newUser();
    const res = await scim.request('PATCH', `/Users/${b.id}`, { Operations: [{ op: 'replace', path: 'userName', value: a.userName.toUpperCase() }] });
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });
});

describe('authentication', () => {
  const list = (headers: Record<string, string>, query = '') => scim.request('GET', `/Users?count=1${query}`, undefined, headers);

  it.each([
    ['no header', {}],
    ['Authorization: non-token', { authorization: 'non-token' }],
    ['a wrong bearer token', { authorization: 'Bearer pis_scim_wrong' }],
    ['basic auth', { authorization: `Basic ${Buffer.from(`x:${BOOTSTRAP_TOKEN}`).toString('base64')}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('rejects %s with 401 and a SCIM error body', async (_name, headers) => {
    const res = await scim.request('GET', '/Users?count=1', undefined, { authorization: '', ...headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '401', detail: expect.any(String) });
  });

  it('ignores a token in the query string and never writes it to the log', async () => {
    const res = await list({ authorization: '' }, `&access_token=${BOOTSTRAP_TOKEN}&token=${BOOTSTRAP_TOKEN}`);
    expect(res.status).toBe(401);
    const requestId = res.headers.get('x-request-id')!;
    for (let i = 0; i < 100 && !logText.includes(requestId); i++) await new Promise((r) => setTimeout(r, 10));
    expect(logText).toContain(requestId);
    expect(logText).not.toContain(BOOTSTRAP_TOKEN);
  });

  it('accepts client tokens, keeps two valid during a rotation, and revokes', async () => {
    const first = await createScimClient(scim.db, 'okta');
    expect(first.token.startsWith('pis_scim_')).toBe(true);
    const stored = await scim.db('scim_tokens').where({ id: first.tokenId }).first();
    expect(stored.token_hash.toString('hex')).not.toContain(Buffer.from(first.token).toString('hex'));
    expect(stored.last4).toBe(first.token.slice(-4));

    expect((await list({ authorization: `Bearer ${first.token}` })).status).toBe(200);
    const used = await scim.db('scim_tokens').where({ id: first.tokenId }).first();
    await new Promise((r) => setTimeout(r, 50)); // last_used_at is written after the response
    expect((await scim.db('scim_tokens').where({ id: first.tokenId }).first()).last_used_at ?? used.last_used_at).not.toBeNull();

    const second = await rotateScimToken(scim.db, 'okta', 3600);
    expect(second.previousValidUntil).toBeInstanceOf(Date);
    expect((await list({ authorization: `Bearer ${first.token}` })).status).toBe(200);
    expect((await list({ authorization: `Bearer ${second.token}` })).status).toBe(200);

    const third = await rotateScimToken(scim.db, 'okta', 3600);
    expect((await list({ authorization: `Bearer ${first.token}` })).status).toBe(401);
    expect((await list({ authorization: `Bearer ${second.token}` })).status).toBe(200);
    expect((await list({ authorization: `Bearer ${third.token}` })).status).toBe(200);

    await scim
      .db('scim_tokens')
      .where({ id: second.tokenId })
      .update({ expires_at: scim.db.raw("now() - interval '1 second'") });
    expect((await list({ authorization: `Bearer ${second.token}` })).status).toBe(401);

    await revokeScimClient(scim.db, 'okta');
    expect((await list({ authorization: `Bearer ${third.token}` })).status).toBe(401);
    await expect(rotateScimToken(scim.db, 'okta', 60)).rejects.toThrow(/revoked/);
  });

  it('trusts a verified client token only for the cache time: a revoked one is refused soon after', async () => {
    const cached = await startScimServer({ tokenCacheMs: 200 });
    try {
      const client = await createScimClient(cached.db, 'entra');
      const asClient = { authorization: `Bearer ${client.token}` };
      expect((await cached.request('GET', '/Users?count=0', undefined, asClient)).status).toBe(200);
      await revokeScimClient(cached.db, 'entra');
      let status = 200;
      for (let i = 0; i < 100 && status === 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await cached.request('GET', '/Users?count=0', undefined, asClient)).status;
      }
      expect(status).toBe(401);
    } finally {
      await cached.close();
    }
  });

  it('rate-limits each client at the configured rate with 429, Retry-After and a SCIM error', async () => {
    const limited = await startScimServer({ rateLimit: scimRateLimit(loadConfig({ SCIM_RATE_LIMIT_RPS: '0.5', SCIM_RATE_LIMIT_BURST: '2' })) });
    try {
      expect((await limited.request('GET', '/Users?count=0')).status).toBe(200);
      expect((await limited.request('GET', '/Users?count=0')).status).toBe(200);
      const res = await limited.request('GET', '/Users?count=0');
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('content-type')).toBe(SCIM_JSON);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '429' });
      expect(res.body.detail).toEqual(expect.any(String));
      // Another client has a bucket of its own.
      const other = await createScimClient(limited.db, 'other');
      expect((await limited.request('GET', '/Users?count=0', undefined, { authorization: `Bearer ${other.token}` })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('does not limit when SCIM_RATE_LIMIT_RPS is 0', async () => {
    const unlimited = await startScimServer({ rateLimit: scimRateLimit(loadConfig({ SCIM_RATE_LIMIT_RPS: '0', SCIM_RATE_LIMIT_BURST: '1' })) });
    try {
      for (let i = 0; i < 5; i++) expect((await unlimited.request('GET', '/Users?count=0')).status).toBe(200);
    } finally {
      await unlimited.close();
    }
  });
});

describe('ETags', () => {
  it('answers If-None-Match with 304 and a stale If-Match with 412', async () => {
    const user = await newUser();
    const get = await scim.request('GET', `/Users/${user.id}`);
    expect(get.headers.get('etag')).toBe('W/"1"');
    expect((await scim.request('GET', `/Users/${user.id}`, undefined, { 'if-none-match': 'W/"1"' })).status).toBe(304);

    const patch = { schemas: [PATCH_URN], Operations: [{ op: 'replace', path: 'title', value: 'v2' }] };
    const ok = await scim.request('PATCH', `/Users/${user.id}`, patch, { 'if-match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
    const stale = await scim.request(
      'PATCH',
      `/Users/${user.id}`,
      { ...patch, Operations: [{ op: 'replace', path: 'title', value: 'v3' }] },
      { 'if-match': 'W/"1"' },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ schemas: [ERROR_URN], status: '412' });
    expect((await scim.request('GET', `/Users/${user.id}`, undefined, { 'if-none-match': 'W/"1"' })).status).toBe(200);
    expect((await scim.request('DELETE', `/Users/${user.id}`, undefined, { 'if-match': '"1"' })).status).toBe(412);
    expect((await scim.request('DELETE', `/Users/${user.id}`, undefined, { 'if-match': '*' })).status).toBe(204);
  });

  it('does not bump the version for a write that changes nothing', async () => {
    const user = await newUser({ title: 'same' });
    const res = await scim.request('PATCH', `/Users/${user.id}`, { Operations: [{ op: 'replace', path: 'title', value: 'same' }] });
    expect(res.body.meta.version).toBe('W/"1"');
    const events = (await scim.outbox()).filter((r) => r.payload.userId === user.id);
    expect(events.map((e) => e.kind)).toEqual(['user.created']);
  });
});

describe('PUT /Users/{id}', () => {
  const put = (id: string, body: unknown, headers?: Record<string, string>) => scim.request('PUT', `/Users/${id}`, body, headers);

  it('writes only under a current If-Match, and a stale one changes nothing', async () => {
    const user = await newUser({ title: 'v1' });
    const stale = await put(user.id, { ...user, title: 'v2' }, { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ schemas: [ERROR_URN], status: '412' });
    // Unchanged values under a stale If-Match are refused as well: the precondition comes first.
    expect((await put(user.id, user, { 'if-match': 'W/"7"' })).status).toBe(412);
    expect((await scim.request('GET', `/Users/${user.id}`)).body).toMatchObject({ title: 'v1', meta: { version: 'W/"1"' } });

    const ok = await put(user.id, { ...user, title: 'v2' }, { 'if-match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
    expect((await put(user.id, { ...user, title: 'v3' }, { 'if-match': '*' })).body.meta.version).toBe('W/"3"');
    const kinds = (await scim.outbox()).filter((r) => r.payload.userId === user.id).map((r) => r.kind);
    expect(kinds).toEqual(['user.created', 'user.updated', 'user.updated']);
  });

  it('answers 404 for a missing user and 412 for a stale version before judging the body', async () => {
    const user = await newUser();
    const invalid = { schemas: [USER_URN] };
    expect((await put('00000000-0000-4000-8000-000000000000', invalid)).status).toBe(404);
    expect((await put(user.id, invalid, { 'if-match': 'W/"9"' })).status).toBe(412);
    expect((await put(user.id, invalid)).body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  it('commits nothing for the same user sent again, key order and case of keys aside', async () => {
    const user = await newUser({ name: { givenName: 'Ada', familyName: 'Lovelace' }, title: 'same' });
    const again = await put(user.id, { title: 'same', name: { familyName: 'Lovelace', givenName: 'Ada' }, USERNAME: user.userName, schemas: [USER_URN] });
    expect(again.status).toBe(200);
    expect(again.body.meta.version).toBe('W/"1"');
    expect((await scim.outbox()).filter((r) => r.payload.userId === user.id).map((r) => r.kind)).toEqual(['user.created']);
    // A userName differing only in case is a change.
    const recased = await put(user.id, { ...user, userName: user.userName.toUpperCase() });
    expect(recased.body).toMatchObject({ userName: user.userName.toUpperCase(), meta: { version: 'W/"2"' } });
  });

  it("answers with the user's groups and names them in the deactivation event", async () => {
    const user = await newUser();
    const groups = [];
    for (const name of ['Put B', 'Put A']) {
      groups.push((await scim.request('POST', '/Groups', { displayName: name, members: [{ value: user.id }] })).body);
    }
    const res = await put(user.id, { ...user, active: false });
    expect(res.status).toBe(200);
    expect(res.body.groups.map((g: { display: string }) => g.display)).toEqual(['Put B', 'Put A']);
    const event = (await scim.outbox()).filter((r) => r.payload.userId === user.id).pop()!;
    expect(event.payload).toEqual({ kind: 'user.deactivated', userId: user.id, groupIds: groups.map((g) => g.id).sort() });
    expect((await put(user.id, { ...user, active: true })).status).toBe(200);
    expect((await scim.outbox()).filter((r) => r.payload.userId === user.id).pop()!.kind).toBe('user.reactivated');
  });
});

describe('concurrency', () => {
  it('loses no member when 20 PATCHes add different members to one group at once', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => newUser()));
    const group = (await scim.request('POST', '/Groups', { displayName: 'Concurrent' })).body;
    const results = await Promise.all(
      users.map((u) =>
        scim.request('PATCH', `/Groups/${group.id}`, { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'members', value: [{ value: u.id }] }] }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(204));
    const members = (await scim.request('GET', `/Groups/${group.id}`)).body.members.map((m: { value: string }) => m.value);
    expect(members.sort()).toEqual(users.map((u) => u.id).sort());
    const events = (await scim.outbox()).filter((r) => r.payload.groupId === group.id && r.kind === 'group.members_changed');
    expect(events.flatMap((e) => e.payload.added).sort()).toEqual(users.map((u) => u.id).sort());
    expect((await scim.request('GET', `/Groups/${group.id}`)).body.meta.version).toBe('W/"21"');
  });

  it('answers concurrent creates of one userName with exactly one 201 and 409s', async () => {
    const body = { schemas: [USER_URN], userName: 'racer@example.com' };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => scim.request('POST', '/Users', { ...body, userName: i % 2 ? 'RACER@example.com' : body.userName })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    expect(await scim.db('users').whereRaw('lower(user_name) = ?', ['racer@example.com']).count('* as n')).toEqual([{ n: '1' }]);
    expect((await scim.outbox()).filter((r) => r.kind === 'user.created' && r.payload.userId === results.find((x) => x.status === 201)!.body.id)).toHaveLength(
      1,
    );
  });
});

describe('transactions', () => {
  it('leaves neither the change nor an outbox row when the commit fails', async () => {
    const group = (await scim.request('POST', '/Groups', { displayName: 'Before' })).body;
    await withFailingCommit(scim.db, group.id, 'group.updated', async () => {
      const before = (await scim.outbox()).length;
      const res = await scim.request('PATCH', `/Groups/${group.id}`, {
        schemas: [PATCH_URN],
        Operations: [{ op: 'replace', path: 'displayName', value: 'After' }],
      });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ schemas: [ERROR_URN], status: '500', detail: 'internal server error' });
      expect((await scim.outbox()).length).toBe(before);
      const after = (await scim.request('GET', `/Groups/${group.id}`)).body;
      expect(after.displayName).toBe('Before');
      expect(after.meta.version).toBe('W/"1"');
    });
  });

  it('tags outbox rows with the request id', async () => {
    await scim.request('POST', '/Users', { userName: 'tagged@example.com' }, { 'x-request-id': 'req-abc-123' });
    const row = (await scim.outbox()).pop()!;
    expect(row.request_id).toBe('req-abc-123');
  });
});

describe('logging', () => {
  it('writes no email, name, token or body during a create/patch/delete flow', async () => {
    logText = '';
    const user = await newUser({
      name: { givenName: 'Secretgiven', familyName: 'Secretfamily' },
      emails: [{ value: 'private.mail@example.com', type: 'work' }],
      password: 'Passw0rd!x',
    });
    await scim.request('PATCH', `/Users/${user.id}`, { Operations: [{ op: 'replace', path: 'displayName', value: 'Hidden Display' }] });
    const group = (await scim.request('POST', '/Groups', { displayName: 'Secret Group Name', members: [{ value: user.id }] })).body;
    await scim.request('DELETE', `/Groups/${group.id}`);
    await scim.request('DELETE', `/Users/${user.id}`);
    await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`);
    await new Promise((r) => setImmediate(r));
    expect(logText).toContain('scim request');
    for (const secret of [user.userName, 'private.mail', 'Secretgiven', 'Secretfamily', 'Passw0rd', 'Hidden Display', 'Secret Group Name', BOOTSTRAP_TOKEN]) {
      expect(logText).not.toContain(secret);
    }
  });
});
