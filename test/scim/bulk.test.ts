import { bulkOrder } from '../../src/scim/bulk';
import { BOOTSTRAP_TOKEN, startScimServer, type TestScimServer } from './server';

/**
 * POST /Bulk against RFC 7644 §3.7. The request bodies marked "RFC" are the RFC's own examples
 * as printed, with one exception said where it occurs: §3.7.3's PATCH `data` is printed as
 * `{[ ... ]}`, which is not JSON; it is sent as the bare array of operations it holds.
 */

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The three existing users RFC 7644 §3.7.3's example updates, replaces and deletes. */
const BOB = 'b7c14771-226c-4d05-8860-134711653041';
const DAVE = '5d8d29d3-342c-4b5f-8683-a3cb6763ffcc';
const GONE = 'e9025315-6bea-44e1-899c-1e07454e468b';

/** RFC 7644 §3.7.3, the first request ("add, update, and remove a user"); `versions` replaces its three versions when given. */
function rfcRequest(versions?: { put: string; patch: string; delete: string }, failOnErrors: number | null = 1) {
  return {
    schemas: [BULK_REQUEST],
    ...(failOnErrors !== null ? { failOnErrors } : {}),
    Operations: [
      {
        method: 'POST',
        path: '/Users',
        bulkId: 'qwerty',
        data: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:User'],
          userName: 'Alice',
        },
      },
      {
        method: 'PUT',
        path: `/Users/${BOB}`,
        version: versions?.put ?? 'W/"3694e05e9dff591"',
        data: {
          schemas: [USER_URN],
          id: BOB,
          userName: 'Bob',
        },
      },
      {
        method: 'PATCH',
        path: `/Users/${DAVE}`,
        version: versions?.patch ?? 'W/"edac3253e2c0ef2"',
        // Printed as `"data": {[ ... ]}` (not JSON): the operations it holds.
        data: [
          {
            op: 'remove',
            path: 'nickName',
          },
          {
            op: 'add',
            path: 'userName',
            value: 'Dave',
          },
        ],
      },
      {
        method: 'DELETE',
        path: `/Users/${GONE}`,
        version: versions?.delete ?? 'W/"0ee8add0a938e1a"',
      },
    ],
  };
}

/** RFC 7644 §3.7.2: "a 'User' with the 'userName' 'Alice' and a 'Group' ... 'Tour Guides' with Alice as a member". */
const RFC_TOUR_GUIDES = {
  schemas: [BULK_REQUEST],
  Operations: [
    {
      method: 'POST',
      path: '/Users',
      bulkId: 'qwerty',
      data: {
        schemas: [USER_URN],
        userName: 'Alice',
      },
    },
    {
      method: 'POST',
      path: '/Groups',
      bulkId: 'ytrewq',
      data: {
        schemas: [GROUP_URN],
        displayName: 'Tour Guides',
        members: [
          {
            type: 'User',
            value: 'bulkId:qwerty',
          },
        ],
      },
    },
  ],
};

/** RFC 7644 §3.7.1: two groups, each a member of the other. */
const RFC_CIRCULAR = {
  schemas: [BULK_REQUEST],
  Operations: [
    {
      method: 'POST',
      path: '/Groups',
      bulkId: 'qwerty',
      data: {
        schemas: [GROUP_URN],
        displayName: 'Group A',
        members: [
          {
            type: 'Group',
            value: 'bulkId:ytrewq',
          },
        ],
      },
    },
    {
      method: 'POST',
      path: '/Groups',
      bulkId: 'ytrewq',
      data: {
        schemas: [GROUP_URN],
        displayName: 'Group B',
        members: [
          {
            type: 'Group',
            value: 'bulkId:qwerty',
          },
        ],
      },
    },
  ],
};

describe('bulkOrder: request order, waiting only for what an operation refers to', () => {
  const post = (bulkId: string, ...refs: string[]) => ({ method: 'POST', bulkId, refs });
  const patch = (...refs: string[]) => ({ method: 'PATCH', refs });
  it.each([
    ['no references: request order', [post('a'), post('b'), patch()], [0, 1, 2], []],
    ['a group before the users it names waits for them', [post('g', 'u1', 'u2'), post('u1'), post('u2')], [1, 2, 0], []],
    ['a chain runs in dependency order', [post('c', 'b'), post('b', 'a'), post('a')], [2, 1, 0], []],
    ['an unknown bulkId is no wait (the operation fails when it runs)', [patch('nope'), post('a')], [0, 1], []],
    ['a self-reference is circular', [post('a', 'a'), post('b')], [1], [0]],
    ['a two-cycle, and what waits on it, are circular', [post('a', 'b'), post('b', 'a'), patch('a'), post('c')], [3], [0, 1, 2]],
  ])('%s', (_name, ops, order, circular) => {
    expect(bulkOrder(ops)).toEqual({ order, circular });
  });
});

describe('POST /Bulk (RFC 7644 §3.7)', () => {
  let scim: TestScimServer;

  beforeAll(async () => {
    scim = await startScimServer();
  });
  afterAll(async () => {
    await scim.close();
  });
  beforeEach(async () => {
    await scim.db.raw('TRUNCATE users, groups, group_members, outbox CASCADE');
  });

  const bulk = (body: unknown, headers?: Record<string, string>) => scim.request('POST', '/Bulk', body, headers);

  async function seedRfcUsers(): Promise<void> {
    await scim.db('users').insert([
      { id: BOB, user_name: 'Robert', resource: {} },
      { id: DAVE, user_name: 'David', resource: { nickName: 'Davy' } },
      { id: GONE, user_name: 'Eve', resource: {} },
    ]);
  }

  async function userByName(userName: string) {
    const res = await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    return res.body.Resources[0];
  }

  it('ServiceProviderConfig: bulk.supported is true, with maxOperations and maxPayloadSize (RFC 7643 §5)', async () => {
    const spc = (await scim.request('GET', '/ServiceProviderConfig')).body;
    expect(spc.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
  });

  // RFC 7644 §3.7.3: "The following example shows how to add, update, and remove a user."
  it('RFC 7644 §3.7.3: the add/update/remove example succeeds, answered as the RFC shows', async () => {
    await seedRfcUsers();
    const res = await bulk(rfcRequest({ put: 'W/"1"', patch: 'W/"1"', delete: 'W/"1"' }));
    expect(res.status).toBe(200);
    const alice = await userByName('Alice');
    expect(res.body).toEqual({
      schemas: [BULK_RESPONSE],
      Operations: [
        { location: `${scim.base}/Users/${alice.id}`, method: 'POST', bulkId: 'qwerty', version: 'W/"1"', status: '201' },
        { location: `${scim.base}/Users/${BOB}`, method: 'PUT', version: 'W/"2"', status: '200' },
        { location: `${scim.base}/Users/${DAVE}`, method: 'PATCH', version: 'W/"2"', status: '200' },
        { location: `${scim.base}/Users/${GONE}`, method: 'DELETE', status: '204' },
      ],
    });
    expect((await scim.request('GET', `/Users/${BOB}`)).body.userName).toBe('Bob');
    const dave = (await scim.request('GET', `/Users/${DAVE}`)).body;
    expect(dave.userName).toBe('Dave');
    expect(dave.nickName).toBeUndefined();
    expect((await scim.request('GET', `/Users/${GONE}`)).status).toBe(404);

    // The outbox rows each single request writes, in order, all naming the bulk request.
    const outbox = await scim.outbox();
    expect(outbox.map((r) => r.kind)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.deleted']);
    expect(new Set(outbox.map((r) => r.request_id)).size).toBe(1);
    expect(outbox[0]!.request_id).toBe(res.headers.get('x-request-id'));
  });

  // RFC 7644 §3.7.3: "The service provider stops processing the bulk operation and immediately
  // returns a response to the client. The response contains the error and any successful
  // results prior to the error."
  it('RFC 7644 §3.7.3: with failOnErrors 1 the example stops at its first failure (versions that are not current: 412)', async () => {
    await seedRfcUsers();
    const res = await bulk(rfcRequest());
    expect(res.status).toBe(200);
    const alice = await userByName('Alice');
    expect(res.body.Operations).toEqual([
      { location: `${scim.base}/Users/${alice.id}`, method: 'POST', bulkId: 'qwerty', version: 'W/"1"', status: '201' },
      {
        location: `${scim.base}/Users/${BOB}`,
        method: 'PUT',
        status: '412',
        response: { schemas: [ERROR_URN], status: '412', detail: expect.any(String) },
      },
    ]);
    // Nothing after the failure ran.
    expect((await scim.request('GET', `/Users/${DAVE}`)).body.userName).toBe('David');
    expect((await scim.request('GET', `/Users/${GONE}`)).status).toBe(200);
  });

  // RFC 7644 §3.7.3: "If the 'failOnErrors' attribute is not specified or the service provider
  // has not reached the error limit defined by the client, the service provider will continue
  // to process all operations. The following is an example in which all operations failed."
  it('RFC 7644 §3.7.3: without failOnErrors every operation runs, each failure with its own error', async () => {
    await scim.db('users').insert({ user_name: 'alice', resource: {} });
    const res = await bulk(rfcRequest(undefined, null));
    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([
      {
        method: 'POST',
        bulkId: 'qwerty',
        status: '409',
        response: { schemas: [ERROR_URN], status: '409', scimType: 'uniqueness', detail: expect.any(String) },
      },
      { location: `${scim.base}/Users/${BOB}`, method: 'PUT', status: '404', response: { schemas: [ERROR_URN], status: '404', detail: expect.any(String) } },
      { location: `${scim.base}/Users/${DAVE}`, method: 'PATCH', status: '404', response: { schemas: [ERROR_URN], status: '404', detail: expect.any(String) } },
      {
        location: `${scim.base}/Users/${GONE}`,
        method: 'DELETE',
        status: '404',
        response: { schemas: [ERROR_URN], status: '404', detail: expect.any(String) },
      },
    ]);
    expect(await scim.outbox()).toEqual([]);
  });

  // RFC 7644 §3.7.2: "The service provider MUST replace the string 'bulkId:qwerty' with the
  // permanent resource id once created."
  it('RFC 7644 §3.7.2: a group refers to a user created in the same request (bulkId:qwerty)', async () => {
    const res = await bulk(RFC_TOUR_GUIDES);
    expect(res.status).toBe(200);
    const [user, group] = res.body.Operations;
    expect(user).toMatchObject({ method: 'POST', bulkId: 'qwerty', status: '201' });
    expect(group).toMatchObject({ method: 'POST', bulkId: 'ytrewq', status: '201' });
    const aliceId = user.location.split('/').pop();
    const read = (await scim.request('GET', group.location.slice(scim.base.length))).body;
    expect(read.displayName).toBe('Tour Guides');
    expect(read.members.map((m: { value: string }) => m.value)).toEqual([aliceId]);
    const outbox = await scim.outbox();
    expect(outbox.map((r) => r.kind)).toEqual(['user.created', 'group.created', 'group.members_changed']);
    expect(outbox[2]!.payload).toMatchObject({ added: [aliceId], removed: [] });
  });

  it('RFC 7644 §3.7.2: a group listed before the users it names waits for them', async () => {
    const [user, group] = RFC_TOUR_GUIDES.Operations;
    const res = await bulk({ ...RFC_TOUR_GUIDES, Operations: [group, user] });
    expect(res.body.Operations.map((o: { bulkId: string; status: string }) => [o.bulkId, o.status])).toEqual([
      ['ytrewq', '201'],
      ['qwerty', '201'],
    ]);
    const read = (await scim.request('GET', res.body.Operations[0].location.slice(scim.base.length))).body;
    expect(read.members).toHaveLength(1);
  });

  it('RFC 7644 §3.7.2: a manager refers to a user created in the same request', async () => {
    const res = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'qwerty', data: { schemas: [USER_URN], userName: 'Alice' } },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ytrewq',
          data: {
            schemas: [USER_URN, ENTERPRISE_URN],
            userName: 'Bob',
            [ENTERPRISE_URN]: { employeeNumber: '11250', manager: { value: 'bulkId:qwerty' } },
          },
        },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201']);
    const aliceId = res.body.Operations[0].location.split('/').pop();
    const bob = await userByName('Bob');
    expect(bob[ENTERPRISE_URN]).toEqual({ employeeNumber: '11250', manager: { value: aliceId } });
  });

  it('RFC 7644 §3.7.2: "bulkId:" in a path names the resource created in the same request', async () => {
    const res = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { displayName: 'Later members' } },
        { method: 'POST', path: '/Users', bulkId: 'u', data: { userName: 'later@example.org' } },
        { method: 'PATCH', path: '/Groups/bulkId:g', data: { Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:u' }] }] } },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201', '204']);
    const groupPath = res.body.Operations[0].location.slice(scim.base.length);
    expect(res.body.Operations[2].location).toBe(res.body.Operations[0].location);
    expect((await scim.request('GET', groupPath)).body.members).toHaveLength(1);
  });

  // RFC 7644 §3.7.1: the service provider "MAY stop after a failed attempt and instead return
  // HTTP status code 409 (Conflict)".
  it('RFC 7644 §3.7.1: circular bulkId references are refused with 409 and create nothing', async () => {
    const res = await bulk(RFC_CIRCULAR);
    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([
      { method: 'POST', bulkId: 'qwerty', status: '409', response: { schemas: [ERROR_URN], status: '409', detail: expect.stringContaining('circular') } },
      { method: 'POST', bulkId: 'ytrewq', status: '409', response: { schemas: [ERROR_URN], status: '409', detail: expect.stringContaining('circular') } },
    ]);
    expect((await scim.request('GET', '/Groups')).body.totalResults).toBe(0);
    expect(await scim.outbox()).toEqual([]);
  });

  it('an operation fails as its single request would: same status, scimType and detail, and nothing written', async () => {
    const invalid = { schemas: [USER_URN], userName: 'x@example.org', active: 'maybe' };
    const single = await scim.request('POST', '/Users', invalid);
    const res = await bulk({ schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', bulkId: 'x', data: invalid }] });
    expect(res.body.Operations[0]).toEqual({ method: 'POST', bulkId: 'x', status: String(single.status), response: single.body });
    expect(single.body.scimType).toBe('invalidValue');
    expect(await scim.outbox()).toEqual([]);
  });

  it('atomicity is per operation: a group naming an unknown member is not created, the users around it are', async () => {
    const res = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: { userName: 'a@example.org' } },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g',
          data: { displayName: 'Half', members: [{ value: 'bulkId:a' }, { value: '00000000-0000-4000-8000-000000000000' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'b', data: { userName: 'b@example.org' } },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '400', '201']);
    expect((await scim.request('GET', '/Groups')).body.totalResults).toBe(0);
    expect((await scim.outbox()).map((r) => r.kind)).toEqual(['user.created', 'user.created']);
  });

  it('a reference to a bulkId no successful POST created fails that operation with 400 invalidValue', async () => {
    const res = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'bad', data: { userName: '' } },
        { method: 'POST', path: '/Groups', bulkId: 'g1', data: { displayName: 'Refers to a failure', members: [{ value: 'bulkId:bad' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'g2', data: { displayName: 'Refers to nothing', members: [{ value: 'bulkId:nobody' }] } },
        // Only a `value` stands for a resource id: other text is text.
        { method: 'POST', path: '/Users', bulkId: 'text', data: { userName: 'text@example.org', nickName: 'bulkId:bad' } },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['400', '400', '400', '201']);
    expect((await userByName('text@example.org')).nickName).toBe('bulkId:bad');
    expect(res.body.Operations[1].response).toMatchObject({ scimType: 'invalidValue', detail: expect.stringContaining('bulkId:bad') });
    expect(res.body.Operations[2].response).toMatchObject({ scimType: 'invalidValue', detail: expect.stringContaining('bulkId:nobody') });
  });

  it('group PATCH and PUT take the commands of their single requests (membership fast path included)', async () => {
    const created = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'u1', data: { userName: 'u1@example.org' } },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: { userName: 'u2@example.org' } },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { displayName: 'Team' } },
        { method: 'PATCH', path: '/Groups/bulkId:g', data: { Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:u1' }] }] } },
        { method: 'PUT', path: '/Groups/bulkId:g', data: { displayName: 'Team renamed', members: [{ value: 'bulkId:u2' }] } },
      ],
    });
    expect(created.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201', '201', '204', '200']);
    const groupPath = created.body.Operations[2].location.slice(scim.base.length);
    const u2 = created.body.Operations[1].location.split('/').pop();
    const group = (await scim.request('GET', groupPath)).body;
    expect(group).toMatchObject({ displayName: 'Team renamed', members: [{ value: u2 }] });
    expect((await scim.outbox()).map((r) => r.kind)).toEqual([
      'user.created',
      'user.created',
      'group.created',
      'group.members_changed',
      'group.updated',
      'group.members_changed',
    ]);
    const del = await bulk({ schemas: [BULK_REQUEST], Operations: [{ method: 'DELETE', path: groupPath, version: group.meta.version }] });
    expect(del.body.Operations).toEqual([{ method: 'DELETE', location: `${scim.base}${groupPath}`, status: '204' }]);
  });

  it('malformed operations fail alone; a malformed request is a 400', async () => {
    const res = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'GET', path: '/Users' },
        { method: 'POST', path: '/Users', data: { userName: 'no-bulk-id@example.org' } },
        { method: 'POST', path: '/Schemas', bulkId: 's', data: {} },
        { method: 'DELETE', path: '/Users' },
        { method: 'DELETE', path: '/Users/not-a-uuid' },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['400', '400', '404', '405', '404']);

    const duplicate = await bulk({
      schemas: [BULK_REQUEST],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'same', data: { userName: 'one@example.org' } },
        { method: 'POST', path: '/Users', bulkId: 'same', data: { userName: 'two@example.org' } },
      ],
    });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidValue' });
    for (const body of [{}, { Operations: [] }, [], { Operations: [{ method: 'DELETE', path: `/Users/${GONE}` }], failOnErrors: 0 }]) {
      expect((await bulk(body)).status).toBe(400);
    }
    expect((await scim.request('GET', '/Bulk')).status).toBe(405);
    expect((await scim.request('GET', '/Users')).body.totalResults).toBe(0);
  });

  // RFC 7644 §3.7.4: "If either limits are exceeded, the service provider MUST return HTTP
  // response code 413 (Payload Too Large). The returned response MUST specify the limit
  // exceeded in the body of the error response."
  it('RFC 7644 §3.7.4: more than maxOperations, or a body over maxPayloadSize, is a 413 naming the limit', async () => {
    const op = (i: number) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: { userName: `u${i}@example.org` } });
    const tooMany = await bulk({ schemas: [BULK_REQUEST], Operations: Array.from({ length: 1001 }, (_, i) => op(i)) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toEqual({ schemas: [ERROR_URN], status: '413', scimType: 'tooLarge', detail: expect.stringContaining('maxOperations (1000)') });

    const padding = 'x'.repeat(1_048_576);
    const tooLarge = await bulk({ schemas: [BULK_REQUEST], Operations: [{ ...op(0), data: { userName: 'big@example.org', nickName: padding } }] });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toEqual({ schemas: [ERROR_URN], status: '413', scimType: 'tooLarge', detail: expect.stringContaining('maxPayloadSize (1048576)') });
    expect((await scim.request('GET', '/Users')).body.totalResults).toBe(0);

    // At the limit, and over the general body limit of other routes (64 KB here), it is accepted.
    const full = await bulk({ schemas: [BULK_REQUEST], Operations: Array.from({ length: 1000 }, (_, i) => op(i)) });
    expect(full.status).toBe(200);
    expect(full.body.Operations).toHaveLength(1000);
  }, 180_000);

  it('sits behind the SCIM bearer authentication', async () => {
    const res = await bulk(RFC_TOUR_GUIDES, { authorization: 'Bearer not-the-token' });
    expect(res.status).toBe(401);
    expect((await scim.request('GET', '/Users')).body.totalResults).toBe(0);
  });
});

describe('POST /Bulk and the per-client rate limit', () => {
  let scim: TestScimServer;

  beforeAll(async () => {
    scim = await startScimServer({ rateLimit: { perSecond: 0.001, burst: 1 } });
  });
  afterAll(async () => {
    await scim.close();
  });

  it('is counted as the other SCIM routes are: past the burst, 429 with Retry-After', async () => {
    const first = await scim.request('POST', '/Bulk', RFC_TOUR_GUIDES);
    expect(first.status).toBe(200);
    const second = await scim.request('POST', '/Bulk', RFC_TOUR_GUIDES, { authorization: `Bearer ${BOOTSTRAP_TOKEN}` });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBeTruthy();
  });
});
