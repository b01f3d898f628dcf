import { BOOTSTRAP_TOKEN, startScimServer, type TestScimServer } from './server';

/**
 * Okta's own documented and test traffic, replayed against the real HTTP server and Postgres
 * with the sources' request lines, headers and bodies as written (only Okta's example ids are
 * swapped for ids this server issued). okta.test.ts covers the same life-cycle in paraphrase;
 * this file holds the sources to the letter.
 *
 * OKTA-REF  okta/okta-developer-docs, packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md
 * OKTA-SPEC BerriAI/litellm, tests/scim_tests/scim_e2e_test.json (Okta's "Okta SCIM 2.0 SPEC Test"
 *           Runscope export), with the initial variables' example values from okta-developer-docs
 *           .../docs/guides/scim-provisioning-integration-prepare/main/index.md
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** What Okta's SCIM client sends (docs/idp-behaviour.md, "Transport"; OKTA-HDR/OKTA-REF). */
const OKTA_CLIENT = {
  'User-Agent': 'Okta SCIM Client 1.0.0',
  Accept: 'application/scim+json',
  'Accept-Charset': 'utf-8',
  Authorization: `Bearer ${BOOTSTRAP_TOKEN}`,
};
const OKTA_BODY = { 'Content-Type': 'application/scim+json; charset=utf-8' };

/** OKTA-REF's example ids, which requests carry and which this server's own ids replace. */
const DOC_USER_ID = '23a35c27-23d3-4c03-b4c5-6443c09e7173';
const DOC_OTHER_USER_ID = '89bb1940-b905-4575-9e7f-6f887cfb368e';
const DOC_GROUP_ID = 'abf4dd94-a4c0-4f67-89c9-76b03340cb9b';

interface Reply {
  status: number;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A server of its own for the enclosing describe block: each source starts from its own state. */
function serverForBlock(): () => TestScimServer {
  let server: TestScimServer;
  beforeAll(async () => {
    server = await startScimServer();
  });
  afterAll(async () => {
    await server.close();
  });
  return () => server;
}

/** One request with exactly these headers and this body text. */
async function exchange(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

/** The body of OKTA-REF's "Create the User" request. */
const OKTA_CREATE = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Test",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work"
    }],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": true
}`;

/** Swaps the documentation's example ids in a request for the ids this server issued. */
function withIds(text: string, ids: Record<string, string>): string {
  return Object.entries(ids).reduce((out, [doc, real]) => out.replaceAll(doc, real), text);
}

describe('OKTA-REF: every request of "Okta and SCIM Version 2.0", in the order Okta sends them', () => {
  const server = serverForBlock();
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) => exchange(`${server().url}${path}`, method, headers, body);
  // §Create Users, the "custom attributes" request: the same text without the externalId line.
  const CREATE_WITHOUT_EXTERNAL_ID = OKTA_CREATE.replace('    "externalId": "00ujl29u0le5T6Aj10h7",\n', '');
  // §Update a specific User (PUT) › Update the User.
  const PUT_BODY = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Another",
        "middleName": "Excited",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work",
        "display": "test.user@okta.local"
    }],
    "active": true,
    "groups": [],
    "meta": {
        "resourceType": "User"
    }
}`;
  // The created user of the page's 201 answers, less the server's `id` and the request's `externalId`.
  const DOCUMENTED_CREATED = {
    schemas: [USER_URN],
    userName: 'test.user@okta.local',
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    active: true,
    groups: [],
    meta: { resourceType: 'User' },
  };
  const LOOKUP = '/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100';

  let userId: string;
  let otherUserId: string;
  let groupId: string;

  it('§Determine if the User already exists: an empty ListResponse, as documented', async () => {
    const res = await send('GET', LOOKUP, OKTA_CLIENT);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('§Create the User without externalId (custom attributes): 201 with the created user', async () => {
    const res = await send('POST', '/scim/v2/Users', { ...OKTA_CLIENT, ...OKTA_BODY }, CREATE_WITHOUT_EXTERNAL_ID);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(DOCUMENTED_CREATED);
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.text).not.toContain('1mz050nq');
    // Okta never deletes users; this clears the way for the page's other create of the same userName.
    expect((await send('DELETE', `/scim/v2/Users/${res.body.id}`, OKTA_CLIENT)).status).toBe(204);
  });

  it('§Create the User: lookup, then POST answered with the documented user, never an empty body', async () => {
    expect((await send('GET', LOOKUP, OKTA_CLIENT)).body.totalResults).toBe(0);
    const res = await send('POST', '/scim/v2/Users', { ...OKTA_CLIENT, ...OKTA_BODY }, OKTA_CREATE);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...DOCUMENTED_CREATED, externalId: '00ujl29u0le5T6Aj10h7' });
    expect(res.text).not.toContain('1mz050nq');
    userId = res.body.id;
    const found = await send('GET', LOOKUP, OKTA_CLIENT);
    expect(found.body).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: userId }] });
  });

  it('§Create the User, user already there: 409 with an Error body, which stops the job', async () => {
    // OKTA-REF shows `"status": 409`; RFC 7644 §3.12 and docs/idp-behaviour.md, "RFC baseline", make it the string "409".
    const res = await send('POST', '/scim/v2/Users', { ...OKTA_CLIENT, ...OKTA_BODY }, OKTA_CREATE);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '409' });
    expect(res.body.detail).toEqual(expect.any(String));
  });

  it('§Retrieve Users: the import page has integer counts and the user', async () => {
    const res = await send('GET', '/scim/v2/Users?startIndex=1&count=100', OKTA_CLIENT);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(res.body.Resources.map((u: { id: string }) => u.id)).toEqual([userId]);
  });

  it('§Retrieve a specific User', async () => {
    const res = await send('GET', withIds(`/scim/v2/Users/${DOC_USER_ID}`, { [DOC_USER_ID]: userId }), OKTA_CLIENT);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      schemas: [USER_URN],
      id: userId,
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      active: true,
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      groups: [],
      meta: { resourceType: 'User' },
    });
  });

  it('§Update a specific User (PUT): GET, then PUT the whole object; the answer is the updated user', async () => {
    expect((await send('GET', `/scim/v2/Users/${userId}`, OKTA_CLIENT)).status).toBe(200);
    const res = await send('PUT', `/scim/v2/Users/${userId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(PUT_BODY, { [DOC_USER_ID]: userId }));
    const documented = {
      schemas: [USER_URN],
      id: userId,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work', display: 'test.user@okta.local' }],
      active: true,
      groups: [],
      meta: { resourceType: 'User' },
    };
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(documented);
    expect((await send('GET', `/scim/v2/Users/${userId}`, OKTA_CLIENT)).body).toMatchObject(documented);
  });

  it('§Update a specific User (PATCH): the path-less deactivation, answered with the user (or 204)', async () => {
    const body = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "active": false
        }
    }]
}`;
    const res = await send('PATCH', `/scim/v2/Users/${userId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, body);
    expect([200, 204]).toContain(res.status);
    if (res.status === 200) expect(res.body).toMatchObject({ id: userId, userName: 'test.user@okta.local', active: false });
    const after = await send('GET', `/scim/v2/Users/${userId}`, OKTA_CLIENT);
    expect(after.body).toMatchObject({ active: false, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' } });
  });

  it('§Create Groups: 201 with the group as a GET returns it', async () => {
    const body = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Test SCIMv2",
    "members": []
}`;
    const res = await send('POST', '/scim/v2/Groups', { ...OKTA_CLIENT, ...OKTA_BODY }, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ schemas: [GROUP_URN], displayName: 'Test SCIMv2', members: [], meta: { resourceType: 'Group' } });
    groupId = res.body.id;
    expect((await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT)).body).toEqual(res.body);
  });

  it('§Retrieve Groups and §Retrieve specific Groups', async () => {
    const page = await send('GET', '/scim/v2/Groups?startIndex=1&count=100', OKTA_CLIENT);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: groupId }] });
    const one = await send('GET', withIds(`/scim/v2/Groups/${DOC_GROUP_ID}`, { [DOC_GROUP_ID]: groupId }), OKTA_CLIENT);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ schemas: [GROUP_URN], id: groupId, displayName: 'Test SCIMv2', members: [], meta: { resourceType: 'Group' } });
  });

  it('§Update a specific Group name: path-less replace with the id inside the value', async () => {
    const body = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
            "displayName": "Test SCIMv2"
        }
    }]
}`;
    const same = await send('PATCH', `/scim/v2/Groups/${groupId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(body, { [DOC_GROUP_ID]: groupId }));
    expect([200, 204]).toContain(same.status);
    // The documented answer shows the new name "Test SCIMv20": the same request with that name.
    const renamed = await send(
      'PATCH',
      `/scim/v2/Groups/${groupId}`,
      { ...OKTA_CLIENT, ...OKTA_BODY },
      withIds(body, { [DOC_GROUP_ID]: groupId, '"Test SCIMv2"': '"Test SCIMv20"' }),
    );
    expect([200, 204]).toContain(renamed.status);
    const group = await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT);
    expect(group.body).toMatchObject({ schemas: [GROUP_URN], id: groupId, displayName: 'Test SCIMv20', meta: { resourceType: 'Group' } });
  });

  it('§Update specific Group membership: remove by members[value eq] and add in one PATCH, then a full push', async () => {
    const other = await send(
      'POST',
      '/scim/v2/Users',
      { ...OKTA_CLIENT, ...OKTA_BODY },
      OKTA_CREATE.replaceAll('test.user@okta.local', 'other.user@okta.local').replace('00ujl29u0le5T6Aj10h7', '00ujl29u0le5T6Aj10h8'),
    );
    expect(other.status).toBe(201);
    otherUserId = other.body.id;
    const ids = { [DOC_USER_ID]: userId, [DOC_OTHER_USER_ID]: otherUserId, [DOC_GROUP_ID]: groupId };
    const membership = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
          "op": "remove",
          "path": "members[value eq \\"89bb1940-b905-4575-9e7f-6f887cfb368e\\"]"
        },
        {
          "op": "add",
          "path": "members",
          "value": [{
              "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
              "display": "test.user@okta.local"
        }]
    }]
}`;
    const membersOf = async () => (await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT)).body.members.map((m: { value: string }) => m.value).sort();

    // The user to remove is not a member yet: removing nobody is not an error.
    const first = await send('PATCH', `/scim/v2/Groups/${groupId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(membership, ids));
    expect([200, 204]).toContain(first.status);
    expect(await membersOf()).toEqual([userId]);

    const fullPush = `{
  "schemas": [
    "urn:ietf:params:scim:api:messages:2.0:PatchOp"
  ],
  "Operations": [
    {
      "op": "replace",
      "path": "members",
      "value": [
        {
          "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
          "display": "test.user@okta.local"
        },
        {
          "value": "89bb1940-b905-4575-9e7f-6f887cfb368e",
          "display": "test.user@okta.local"
        }
      ]
    }
  ]
}`;
    const push = await send('PATCH', `/scim/v2/Groups/${groupId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(fullPush, ids));
    expect([200, 204]).toContain(push.status);
    expect(await membersOf()).toEqual([userId, otherUserId].sort());

    // Now the removed user is a member: the same PATCH takes it out and keeps the other.
    const again = await send('PATCH', `/scim/v2/Groups/${groupId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(membership, ids));
    expect([200, 204]).toContain(again.status);
    expect(await membersOf()).toEqual([userId]);
    const group = (await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT)).body;
    expect(group.members).toEqual([expect.objectContaining({ value: userId, display: expect.any(String) })]);
  });

  it('§Update a specific User (PUT) of a group member: the body\'s "groups": [] leaves the membership alone', async () => {
    // The user was deactivated above; the body's "active": true reactivates it, as AIW integrations do by PUT.
    const res = await send('PUT', `/scim/v2/Users/${userId}`, { ...OKTA_CLIENT, ...OKTA_BODY }, withIds(PUT_BODY, { [DOC_USER_ID]: userId }));
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(true);
    expect(res.body.groups).toEqual([expect.objectContaining({ value: groupId, display: 'Test SCIMv20' })]);
    const group = (await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT)).body;
    expect(group.members.map((m: { value: string }) => m.value)).toEqual([userId]);
  });

  it('§Delete a specific Group: 204 with no body', async () => {
    const res = await send('DELETE', withIds(`/scim/v2/Groups/${DOC_GROUP_ID}`, { [DOC_GROUP_ID]: groupId }), OKTA_CLIENT);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await send('GET', `/scim/v2/Groups/${groupId}`, OKTA_CLIENT)).status).toBe(404);
  });
});

/**
 * OKTA-SPEC, step by step: each request as exported (method, URL template, headers, body
 * template) and each of its assertions, evaluated the way Runscope compares. Pauses and the
 * optional 600 ms response-time check are left out.
 */
describe('OKTA-SPEC: the "Okta SCIM 2.0 SPEC Test" Runscope export', () => {
  const server = serverForBlock();
  type Assertion =
    | { comparison: 'equal_number' | 'equal' | 'has_value' | 'contains'; source: 'response_status' | 'response_json'; value: string; property?: string }
    | { comparison: 'not_empty' | 'is_a_number'; source: 'response_json'; value: null; property: string };
  interface Step {
    note: string;
    method: 'GET' | 'POST';
    url: string;
    headers: Record<string, string>;
    body?: string;
    assertions: Assertion[];
    variables?: Record<string, string>;
    /** The step's script, returning what failed. */
    script?: (body: any) => string | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  const GET_HEADERS = {
    'Accept-Charset': 'utf-8',
    'Content-Type': 'application/scim+json; charset=utf-8',
    Accept: 'application/scim+json',
    Authorization: '{{auth}}',
    'User-Agent': 'OKTA SCIM Integration',
  };
  const POST_HEADERS = { 'Content-Type': 'application/json', Authorization: '{{auth}}', Accept: 'application/scim+json; charset=utf-8' };
  const status = (value: string): Assertion => ({ comparison: 'equal_number', source: 'response_status', value });
  const json = (comparison: Assertion['comparison'], property: string, value: string | null = null) =>
    ({ comparison, source: 'response_json', value, property }) as Assertion;
  const listSchema = json('has_value', 'schemas', LIST_URN);
  const errorSchema = json('has_value', 'schemas', ERROR_URN);
  const userFields = (prefix: string) =>
    ['id', 'name.familyName', 'name.givenName', 'userName', 'active', 'emails[0].value'].map((p) => json('not_empty', `${prefix}${p}`));

  const steps: Step[] = [
    {
      note: 'Required Test: Test Users endpoint',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users?count=1&startIndex=1',
      headers: GET_HEADERS,
      assertions: [
        status('200'),
        json('not_empty', 'Resources'),
        listSchema,
        json('is_a_number', 'itemsPerPage'),
        json('is_a_number', 'startIndex'),
        json('is_a_number', 'totalResults'),
        ...userFields('Resources[0].'),
      ],
      variables: { ISVUserid: 'Resources[0].id' },
    },
    {
      note: 'Required Test: Get Users/{{id}} ',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users/{{ISVUserid}}',
      headers: GET_HEADERS,
      assertions: [status('200'), ...userFields(''), json('equal', 'id', '{{ISVUserid}}')],
    },
    {
      note: 'Required Test: Test invalid User by username',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users?filter=userName eq "{{InvalidUserEmail}}"',
      headers: GET_HEADERS,
      assertions: [status('200'), listSchema, json('equal', 'totalResults', '0')],
    },
    {
      note: 'Required Test: Test invalid User by ID',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users/{{UserIdThatDoesNotExist}}',
      headers: GET_HEADERS,
      assertions: [status('404'), json('not_empty', 'detail'), errorSchema],
    },
    {
      note: "Required Test: Make sure random user doesn't exist",
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users?filter=userName eq "{{randomEmail}}"',
      headers: GET_HEADERS,
      assertions: [status('200'), json('equal_number', 'totalResults', '0'), listSchema],
    },
    {
      note: 'Required Test: Create Okta user with realistic values',
      method: 'POST',
      url: '{{SCIMBaseURL}}/Users',
      headers: POST_HEADERS,
      body: '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{randomUsername}}","name":{"givenName":"{{randomGivenName}}","familyName":"{{randomFamilyName}}"},"emails":[{"primary":true,"value":"{{randomEmail}}","type":"work"}],"displayName":"{{randomGivenName}} {{randomFamilyName}}","active":true}',
      assertions: [
        status('201'),
        json('equal', 'active', 'true'),
        json('not_empty', 'id'),
        json('equal', 'name.familyName', '{{randomFamilyName}}'),
        json('equal', 'name.givenName', '{{randomGivenName}}'),
        json('contains', 'schemas', USER_URN),
        json('equal', 'userName', '{{randomUsername}}'),
      ],
      variables: { idUserOne: 'id', randomUserEmail: 'emails[0].value' },
    },
    {
      note: 'Required Test: Verify that user was created',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users/{{idUserOne}}',
      headers: GET_HEADERS,
      assertions: [
        status('200'),
        json('equal', 'userName', '{{randomUsername}}'),
        json('equal', 'name.familyName', '{{randomFamilyName}}'),
        json('equal', 'name.givenName', '{{randomGivenName}}'),
      ],
    },
    {
      note: 'Required Test: Expect failure when recreating user with same values',
      method: 'POST',
      url: '{{SCIMBaseURL}}/Users',
      headers: POST_HEADERS,
      body: '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{randomUsername}}","name":{"givenName":"{{randomGivenName}}","familyName":"{{randomFamilyName}}"},"emails":[{"primary":true,"value":"{{randomUsername}}","type":"work"}],"displayName":"{{randomGivenName}} {{randomFamilyName}}","active":true}',
      assertions: [status('409')],
    },
    {
      note: 'Required Test: Username Case Sensitivity Check',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users?filter=userName eq "{{randomUsernameCaps}}"',
      headers: GET_HEADERS,
      // The export asserts only the status; userName is caseExact:false (RFC 7643 §4.1.1,
      // docs/idp-behaviour.md, "RFC baseline"), so the upper-cased name finds the user.
      assertions: [status('200'), json('equal_number', 'totalResults', '1'), json('equal', 'Resources[0].id', '{{idUserOne}}')],
    },
    {
      note: 'Optional Test: Verify Groups endpoint',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Groups',
      headers: GET_HEADERS,
      assertions: [status('200')],
      // The step's script: no groups is a pass ("nogroups"); with groups, Resources must be an array.
      script: (data) =>
        data.totalResults === 0 || (data.totalResults >= 1 && Array.isArray(data.Resources))
          ? undefined
          : `Optional Test: Verify Groups endpoint: script (totalResults ${JSON.stringify(data.totalResults)}, Resources ${JSON.stringify(data.Resources)})`,
    },
    {
      note: 'Required Test: Check status 401',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users?filter=userName eq "{{randomUsernameCaps}}"',
      headers: { ...GET_HEADERS, Authorization: 'non-token' },
      assertions: [status('401'), json('not_empty', 'detail'), json('equal', 'status', '401'), errorSchema],
    },
    {
      note: 'Required Test: Check status 404',
      method: 'GET',
      url: '{{SCIMBaseURL}}/Users/00919288221112222',
      headers: GET_HEADERS,
      assertions: [status('404'), json('not_empty', 'detail'), json('equal', 'status', '404'), errorSchema],
    },
  ];

  /** `Resources[0].name.familyName` → the value at that path of a JSON document. */
  function at(doc: unknown, property: string): unknown {
    return property.split(/\.|(?=\[)/).reduce<unknown>((value, key) => {
      if (value === null || value === undefined) return undefined;
      const index = /^\[(\d+)\]$/.exec(key);
      return index ? (value as unknown[])[Number(index[1])] : (value as Record<string, unknown>)[key];
    }, doc);
  }

  const isEmpty = (v: unknown) =>
    v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);

  /** Runscope's verdict on one assertion: undefined when it passes, else what failed. */
  function check(a: Assertion, reply: Reply, fill: (s: string) => string, note: string): string | undefined {
    const actual = a.source === 'response_status' ? reply.status : at(reply.body, a.property!);
    const expected = a.value === null ? null : fill(a.value);
    const label = `${note}: ${a.comparison} ${a.property ?? 'status'} ${expected ?? ''} (got ${JSON.stringify(actual)})`;
    const pass = (() => {
      switch (a.comparison) {
        case 'equal_number':
          return typeof actual === 'number' || typeof actual === 'string' ? Number(actual) === Number(expected) : false;
        case 'equal':
          return actual !== undefined && actual !== null && String(actual) === expected;
        case 'not_empty':
          return !isEmpty(actual);
        case 'is_a_number':
          return typeof actual === 'number';
        case 'has_value':
        case 'contains':
          return Array.isArray(actual) ? actual.includes(expected) : typeof actual === 'string' && actual.includes(expected!);
      }
    })();
    return pass ? undefined : label;
  }

  it("passes every step against a server holding one user (the suite's precondition)", async () => {
    const seeded = await exchange(`${server().base}/Users`, 'POST', { ...OKTA_CLIENT, ...OKTA_BODY }, OKTA_CREATE);
    expect(seeded.status).toBe(201);
    const vars: Record<string, string> = {
      SCIMBaseURL: server().base,
      auth: `Bearer ${BOOTSTRAP_TOKEN}`,
      InvalidUserEmail: 'abcdefgh@example.com',
      randomEmail: 'Runscope300Hfluaklab151@example.com',
      randomFamilyName: 'Hfluaklab151',
      randomGivenName: 'Runscope300',
      randomUsername: 'Runscope300Hfluaklab151@example.com',
      randomUsernameCaps: 'RUNSCOPE300HFLUAKLAB151@example.com',
      UserIdThatDoesNotExist: '010101001010101011001010101011',
    };
    const fill = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (_, name: string) => vars[name] ?? `{{${name}}}`);
    const failures: string[] = [];
    for (const step of steps) {
      const headers = Object.fromEntries(Object.entries(step.headers).map(([k, v]) => [k, fill(v)]));
      const reply = await exchange(fill(step.url), step.method, headers, step.body === undefined ? undefined : fill(step.body));
      const verdicts = [...step.assertions.map((assertion) => check(assertion, reply, fill, step.note)), step.script?.(reply.body)];
      failures.push(...verdicts.filter((v): v is string => v !== undefined));
      for (const [name, property] of Object.entries(step.variables ?? {})) vars[name] = String(at(reply.body, property));
    }
    expect(failures).toEqual([]);
    expect(vars.ISVUserid).toBe(seeded.body.id);
    expect(vars.randomUserEmail).toBe('Runscope300Hfluaklab151@example.com');
  });
});
