import { randomUUID } from 'node:crypto';
import { SCIM_JSON, startScimServer, type ScimResponse, type TestScimServer } from './server';

/**
 * Microsoft's own SCIM traffic, replayed as published against the real server and Postgres:
 *
 * - REF-POSTMAN: `AzureAD/SCIMReferenceCode` PostmanCollection.json, every request in
 *   collection order (method, path, query, body, `Content-Type: application/json`) on a server
 *   of its own, because its assertions count every user left by the earlier folders;
 * - ENTRA-TUT: Microsoft Learn, `entra-docs` docs/identity/app-provisioning/
 *   use-scim-to-provision-users-and-groups.md, every request/response example;
 * - ENTRA-COMPAT: `entra-docs` .../application-provisioning-config-problem-scim-compatibility.md,
 *   every request body, with and without the aadOptscim062020 flag.
 *
 * Each block asserts what its source asserts or shows. Where this server answers differently
 * on purpose (RFC 7644 or docs/idp-behaviour.md), the comment at the assertion says why.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

function expectScim(res: ScimResponse, status: number): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toBe(SCIM_JSON);
}

function expectNoContent(res: ScimResponse): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 204 });
  expect(res.text).toBe('');
}

const ids = (res: ScimResponse) => (res.body.Resources as { id: string }[]).map((r) => r.id);
const patchOp = (operations: unknown[]) => ({ schemas: [PATCH_URN], Operations: operations });
/** The `meta` of ENTRA-TUT's example responses. */
const documentedMeta = (resourceType: string) => expect.objectContaining({ resourceType, created: expect.any(String), lastModified: expect.any(String) });

/** A server, with a database of its own, for the calling describe block. */
function serverForBlock(): Pick<TestScimServer, 'request'> {
  let server: TestScimServer;
  beforeAll(async () => {
    server = await startScimServer();
  });
  afterAll(async () => {
    await server.close();
  });
  return { request: (...args) => server.request(...args) };
}

describe('AzureAD/SCIMReferenceCode PostmanCollection.json, in collection order', () => {
  const scim = serverForBlock();

  /** The collection sends `Content-Type: application/json` with every body. */
  const send = (method: string, path: string, body?: unknown) =>
    scim.request(method, path, body, body === undefined ? {} : { 'content-type': 'application/json' });

  /** The users of the first folders differ only in these values; `{{$guid}}` is a fresh UUID. */
  const bobUser = (
    userName: string,
    displayName: string,
    schemas: string[],
    [formatted, familyName, givenName]: [string, string, string],
    [work, home]: [string, string],
  ) => ({
    userName,
    active: true,
    displayName,
    schemas,
    externalId: randomUUID(),
    name: { formatted, familyName, givenName },
    emails: [
      { Primary: true, type: 'work', value: work },
      { Primary: false, type: 'home', value: home },
    ],
  });
  const RYAN_LEENAY: [string, string, string] = ['Ryan Leenay', 'Leenay', 'Ryan'];
  const ADREW_RYAN: [string, string, string] = ['Adrew Ryan', 'Ryan', 'Andrew'];
  const BOB2_EMAILS: [string, string] = ['testing@bob2.com', 'testinghome@bob3.com'];

  // The folder "Get Token" (GET /Token, body "SecureLogin") fetches the reference server's
  // development JWT; this server's tokens are issued by its own CLI, so it is not replayed.

  it('Endpoint tests', async () => {
    // "Get empty Users" asks for /users in lower case.
    expectScim(await send('GET', '/users'), 200);
    expectScim(await send('GET', '/Groups'), 200);
    const types = await send('GET', '/ResourceTypes');
    expectScim(types, 200);
    expect(types.body.Resources[0].endpoint).toBe('/Users');
    const spc = await send('GET', '/ServiceProviderConfig');
    expectScim(spc, 200);
    expect(spc.body.patch.supported).toBe(true);
    const schemas = await send('GET', '/Schemas');
    expectScim(schemas, 200);
    expect(schemas.text).toContain('User Account');
  });

  it('User tests', async () => {
    const post = await send('POST', '/Users', bobUser('UserName123', 'BobIsAmazing', [USER_URN], RYAN_LEENAY, ['testing@bob.com', 'testinghome@bob.com']));
    expectScim(post, 201);
    const id1 = post.body.id as string;
    // "Primary" is matched case-insensitively and written in its schema spelling.
    expect(post.body.emails).toEqual([
      { primary: true, type: 'work', value: 'testing@bob.com' },
      { primary: false, type: 'home', value: 'testinghome@bob.com' },
    ]);

    const enterprise = await send('POST', '/Users', {
      ...bobUser('UserName222', 'lennay', [ENTERPRISE, USER_URN], ADREW_RYAN, BOB2_EMAILS),
      [ENTERPRISE]: { Department: 'bob', Manager: { Value: 'SuzzyQ' } },
    });
    expectScim(enterprise, 201);
    const id2 = enterprise.body.id as string;
    expect(enterprise.body[ENTERPRISE]).toEqual({ department: 'bob', manager: { value: 'SuzzyQ' } });

    const get1 = await send('GET', `/Users/${id1}`);
    expectScim(get1, 200);
    expect(get1.body.id).toBe(id1);
    const get2 = await send('GET', `/Users/${id2}`);
    expectScim(get2, 200);
    expect(get2.body.id).toBe(id2);

    const attributes = await send('GET', '/Users?attributes=userName,emails');
    expectScim(attributes, 200);
    expect(attributes.text).toContain(id1);

    // "Get User Filters": a trailing slash and a capitalised attribute name.
    const filtered = await send('GET', '/Users/?filter=DisplayName+eq+%22BobIsAmazing%22');
    expectScim(filtered, 200);
    expect(filtered.text).toContain(id1);

    // "patch user1" has no test; its effect is checked by the GET after it.
    expectScim(await send('PATCH', `/Users/${id1}`, patchOp([{ op: 'replace', path: 'userName', value: 'ryan3' }])), 200);
    const patched = await send('GET', `/Users/${id1}`);
    expectScim(patched, 200);
    expect(patched.body).toMatchObject({ id: id1, userName: 'ryan3' });

    const put = await send('PUT', `/Users/${id2}`, {
      ...bobUser('UserNameReplace2', 'BobIsAmazing', [ENTERPRISE, USER_URN], ['NewName', 'Leenay', 'Ryan'], ['testing@bobREPLACE.com', 'testinghome@bob.com']),
      id: id2,
    });
    expectScim(put, 200);
    const replaced = await send('GET', `/Users/${id2}`);
    expectScim(replaced, 200);
    expect(replaced.body.name.formatted).toBe('NewName');

    expectNoContent(await send('DELETE', `/Users/${id1}`));
    expectNoContent(await send('DELETE', `/Users/${id2}`));
  });

  it('Group tests', async () => {
    const group1 = await send('POST', '/Groups', { externalId: randomUUID(), schemas: [GROUP_URN], displayName: 'Group1DisplayName', members: [] });
    expectScim(group1, 201);
    const groupid = group1.body.id as string;

    const memberBody = (userName: string) => bobUser(userName, 'lennay', [ENTERPRISE, USER_URN], ADREW_RYAN, BOB2_EMAILS);
    const user3 = await send('POST', '/Users', memberBody('UserName333'));
    expectScim(user3, 201);
    const id3 = user3.body.id as string;
    const user4 = await send('POST', '/Users', memberBody('UserName444'));
    expectScim(user4, 201);
    const id4 = user4.body.id as string;

    const group2 = await send('POST', '/Groups', {
      schemas: [GROUP_URN],
      externalId: randomUUID(),
      displayName: 'GroupDisplayName2',
      members: [{ value: id3, display: 'VP' }],
    });
    expectScim(group2, 201);
    const groupid2 = group2.body.id as string;
    expect(group2.body.members.map((m: { value: string }) => m.value)).toEqual([id3]);

    expectScim(await send('GET', '/Groups'), 200);

    const group3 = await send('POST', '/Groups', { schemas: [GROUP_URN], externalId: randomUUID(), displayName: 'GroupDisplayName3', members: [] });
    expectScim(group3, 201);
    const groupid3 = group3.body.id as string;
    const put3 = await send('PUT', `/Groups/${groupid3}`, {
      schemas: [GROUP_URN],
      id: groupid3,
      displayName: 'putName',
      members: [
        { value: id3, display: 'VP' },
        { value: id4, display: 'SenorVP' },
      ],
    });
    expectScim(put3, 200);
    // "Validate group 3" sends a Content-Type header on a GET without a body.
    const validate3 = await scim.request('GET', `/Groups/${groupid3}`, undefined, { 'content-type': 'application/json' });
    expectScim(validate3, 200);
    expect(validate3.body.id).toBe(groupid3);
    expect(validate3.text).toContain(id3);

    // The add carries an extra `name` on the operation and `displayName` on the member.
    const addUser4 = patchOp([{ name: 'addMember', op: 'add', path: 'members', value: [{ displayName: 'new User', value: id4 }] }]);
    expectNoContent(await send('PATCH', `/Groups/${groupid}`, addUser4));
    expectNoContent(await send('PATCH', `/Groups/${groupid}`, patchOp([{ op: 'remove', path: `members[value eq "${id4}"]` }])));
    expectNoContent(await send('PATCH', `/Groups/${groupid}`, addUser4));

    const withMember = await send('GET', `/Groups/${groupid}`);
    expectScim(withMember, 200);
    expect(withMember.body.id).toBe(groupid);
    // The collection expects the body to contain "new User", the `displayName` it sent on the
    // member: the reference server echoes it. RFC 7643 §4.2/§8.7.1 give members no
    // `displayName`; this server derives `display` from the User (here "lennay"), so the check
    // is that user 4 is the one member.
    expect(withMember.body.members).toEqual([expect.objectContaining({ value: id4, display: 'lennay' })]);

    expectNoContent(await send('PATCH', `/Groups/${groupid}`, patchOp([{ op: 'remove', path: 'members' }])));
    const emptied = await send('GET', `/Groups/${groupid}`);
    expectScim(emptied, 200);
    expect(emptied.body.id).toBe(groupid);
    expect(emptied.text).not.toContain('new User');
    expect(emptied.body.members).toEqual([]);

    for (const path of [`/Users/${id3}`, `/Users/${id4}`, `/Groups/${groupid}`, `/Groups/${groupid2}`, `/Groups/${groupid3}`]) {
      expectNoContent(await send('DELETE', path));
    }
  });

  it('ComplexAttribute tests', async () => {
    const complexUser = (userName: string, workEmail: string) =>
      bobUser(userName, 'BobIsAmazing', [ENTERPRISE, USER_URN], RYAN_LEENAY, [workEmail, 'testinghome@bob.com']);
    const user1 = await send('POST', '/Users', complexUser('UserName111', 'emailName357'));
    expectScim(user1, 201);
    const user2 = await send('POST', '/Users', complexUser('UserName222', 'jump@bob.com'));
    expectScim(user2, 201);

    // `attributes` with a value filter: RFC 7644 §3.4.2.5 takes attribute names only; the
    // filter is read as naming its attribute (`emails`).
    for (const query of ['attributes=emails%5Btype+eq+%22work%22%5D', 'attributes=emails%5Bvalue+eq+%22emailName357%22%5D']) {
      const res = await send('GET', `/Users?${query}`);
      expectScim(res, 200);
      expect(res.text).toContain('emailName357');
    }

    expectNoContent(await send('DELETE', `/Users/${user1.body.id}`));
    expectNoContent(await send('DELETE', `/Users/${user2.body.id}`));
  });

  // State the last two folders share.
  const created: Record<'omalley' | 'emp1' | 'emp2' | 'emp3' | 'enterprise' | 'group', string> = {
    omalley: '',
    emp1: '',
    emp2: '',
    emp3: '',
    enterprise: '',
    group: '',
  };

  const postedAddresses = [
    {
      country: 'Bermuda',
      formatted: '9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645',
      locality: 'West Mercedes',
      postalCode: '99265',
      region: 'Montana',
      streetAddress: '4939 Hess Fork',
      type: 'work',
      primary: false,
    },
    {
      country: null,
      formatted: '18522 Lisa Unions\nEast Gregory, CT 52311',
      locality: null,
      postalCode: null,
      region: null,
      streetAddress: null,
      type: 'other',
      primary: false,
    },
  ];
  const putAddresses = [
    { ...postedAddresses[0], country: 'Germany', formatted: '1923 Jennifer Way Suite 040\nSouth Nancy, MI 55645', locality: 'East Mercedes' },
    { ...postedAddresses[1], country: 'bahams' },
  ];
  const meta = { created: '2019-09-18T18:15:26.5788954+00:00', lastModified: '2019-09-18T18:15:26.5788976+00:00', resourceType: 'User' };
  const phoneNumbers = [
    { type: 'fax', primary: false, value: '312-320-0500' },
    { type: 'mobile', primary: false, value: '312-320-1707' },
    { type: 'work', primary: true, value: '312-320-0932' },
  ];
  const name = (familyName: string) => ({ formatted: 'Daniel Mcgee', familyName, givenName: 'Darl', honorificPrefix: null, honorificSuffix: null });
  // The emp bodies carry two "work" emails. ENTRA-TUT says "type" values are unique (Entra
  // never sends two), but the collection expects them stored, and the server accepts them.
  const employeeEmails = [
    { type: 'work', primary: true, value: 'anna33@gmail.com' },
    { type: 'work', primary: false, value: 'anna33@example.com' },
  ];
  const omalleyEmails = [
    { type: 'work', primary: true, value: 'anna33@example.com' },
    { type: 'other', primary: false, value: 'anna33@gmail.com' },
  ];
  /** What every body of "User tests with garbage" shares; `addresses` holds the (mis)spelt key. */
  const garbageUser = (familyName: string, emails: unknown[], addresses: Record<string, unknown>) => ({
    ...addresses,
    displayName: 'Kimberly Baker',
    emails,
    meta,
    name: name(familyName),
    phoneNumbers,
    preferredLanguage: 'xh',
    roles: [],
    title: 'Site engineer',
    externalId: '22fbc523-6032-4c5f-939d-5d4850cf3e52',
    schemas: [USER_URN],
  });
  const employee = (userName: string | undefined, active: unknown) => ({
    ...(userName !== undefined ? { userName } : {}),
    active,
    ...garbageUser('Employee', employeeEmails, { addresses: postedAddresses }),
  });
  /** The OMalley PUT bodies; `userNameKey` and `addressesKey` carry the collection's misspellings. */
  const omalleyPut = (id: string, userNameKey: string, addressesKey: string) => ({
    id,
    [userNameKey]: 'OMalley',
    active: false,
    ...garbageUser('OMalley', omalleyEmails, { [addressesKey]: putAddresses }),
  });

  it('User tests with garbage', async () => {
    const omalley = await send('POST', '/Users', {
      userName: 'OMalley',
      active: true,
      ...garbageUser('OMalley', omalleyEmails, { addresses: postedAddresses }),
    });
    expectScim(omalley, 201);
    expect(omalley.body).toMatchObject({ userName: 'OMalley', active: true });
    created.omalley = omalley.body.id;

    const emp1 = await send('POST', '/Users', employee('emp1', 'True'));
    expectScim(emp1, 201);
    expect(emp1.body.active).toBe(true);
    created.emp1 = emp1.body.id;

    const all = await send('GET', '/Users');
    expectScim(all, 200);
    expect(all.body.totalResults).toBe(2);
    expect(all.text).toContain('OMalley');

    const emp2 = await send('POST', '/Users', employee('emp2', true));
    expectScim(emp2, 201);
    created.emp2 = emp2.body.id;
    const emp3 = await send('POST', '/Users', employee('emp3', true));
    expectScim(emp3, 201);
    created.emp3 = emp3.body.id;

    expectScim(await send('POST', '/Users', employee(undefined, true)), 400);
    // "Post junk", verbatim: not JSON.
    const junk =
      '{\r\n    "acve": tre,\r\n    "adadfdresses": [\r\n        {\r\n            "coudftry": "Beruda",\r\n            "formatted": "9132 Jennifer Way Suite 040\\nSouth Nancy, MI 55645",\r\n            "locality": "West Mercedes",\r\n            "postalCode": "99265",\r\n            "region": "Montana",\r\n            "streetAddress": "4939 Hess Fork",\r\n            "type": "work",\r\n            "primary": false\r\n        },\r\n        {\r\n            "country": null,\r\n            "formatted": "18522 Lisa Unions\\nEast Gregory, CT 52311",\r\n            "locality": null,\r\n          les": [],\r\n    "title": "Site engineer",\r\n    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",\r\n    "schemas": [\r\n        "urn:ietf:params:scim:schemas:core:2.0:User"\r\n    ]\r\n}';
    expectScim(await send('POST', '/Users', junk), 400);

    for (let attempt = 0; attempt < 2; attempt++) {
      const duplicate = await send('POST', '/Users', employee('emp3', true));
      expectScim(duplicate, 409);
      expect(duplicate.text).toContain('detail');
    }

    expectScim(await send('PUT', `/Users/${created.omalley}`, omalleyPut(created.omalley, 'userame', 'addresses')), 400);

    const misspelled = await send('PUT', `/Users/${created.omalley}`, omalleyPut(created.omalley, 'userName', 'adreses'));
    expectScim(misspelled, 200);
    expect(misspelled.text).not.toContain('Addresses');
    // The unknown `adreses` is ignored and PUT replaces the resource: the addresses are gone.
    expect(misspelled.body).not.toHaveProperty('addresses');

    const enterprise = await send('POST', '/Users', {
      ...employee('enterprise', true),
      [ENTERPRISE]: { Department: 'some department' },
      schemas: [USER_URN, ENTERPRISE],
    });
    expectScim(enterprise, 201);
    expect(enterprise.body[ENTERPRISE]).toEqual({ department: 'some department' });
    created.enterprise = enterprise.body.id;

    // The collection expects 204 for these two PATCHes; RFC 7644 §3.5.2 allows 200 with the
    // resource or 204, and ENTRA-TUT's user PATCH examples answer 200 with the user, which is
    // what this server does (docs/idp-behaviour.md, "Documented request and response pairs").
    const rename = await send('PATCH', `/Users/${created.omalley}`, patchOp([{ op: 'Replace', path: 'userName', value: 'newusername' }]));
    expectScim(rename, 200);
    const disable = await send('PATCH', `/Users/${created.omalley}`, patchOp([{ op: 'Replace', path: 'active', value: false }]));
    expectScim(disable, 200);
    const afterPatch = await send('GET', `/Users/${created.omalley}`);
    expect(afterPatch.body).toMatchObject({ userName: 'newusername', active: false });

    const putBack = await send('PUT', `/Users/${created.omalley}`, omalleyPut(created.omalley, 'userName', 'addresses'));
    expectScim(putBack, 200);
    expect(putBack.body).toMatchObject({ userName: 'OMalley', active: false });
    expect(putBack.text).toContain('Germany');

    const page = await send('GET', '/Users?startIndex=1&count=2');
    expectScim(page, 200);
    expect(page.body).toMatchObject({ totalResults: 5, itemsPerPage: 2 });
    const projected = await send('GET', '/Users?attributes=userName,emails');
    expectScim(projected, 200);
    expect(projected.body.totalResults).toBe(5);

    const again = await send('POST', '/Users', employee('emp3', true));
    expectScim(again, 409);
    expect(again.text).toContain('detail');

    // Unquoted values, mixed-case attribute names and grouping, sent as the collection writes them.
    const grouped = await send('GET', '/Users?filter=name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)');
    expectScim(grouped, 200);
    expect(grouped.body.totalResults).toBe(4);
    expect(ids(grouped).sort()).toEqual([created.emp1, created.emp2, created.emp3, created.enterprise].sort());
    const startsWith = await send('GET', '/Users?filter=userName sw O');
    expectScim(startsWith, 200);
    expect(startsWith.body.totalResults).toBe(1);
    expect(ids(startsWith)).toEqual([created.omalley]);
    const createdAfter = await send('GET', '/Users?filter=meta.Created gt 2015-10-10T14:38:21.8617979-07:00');
    expectScim(createdAfter, 200);
    expect(createdAfter.body.totalResults).toBe(5);
  });

  it('Group tests with garbage', async () => {
    const group = await send('POST', '/Groups', {
      displayName: 'Group 1',
      externalId: '015489ea-9410-4306-b583-9f002b2446f7',
      schemas: [GROUP_URN],
    });
    expectScim(group, 201);
    created.group = group.body.id;

    // The collection expects 204 for `add members` whose value is the string "string id 1"
    // (the reference server ignores it). RFC 7644 §3.5.2.1 wants member objects, and this
    // server refuses members that are not its Users (400 invalidValue) rather than drop them.
    for (const value of ['string id 1', 'string id 2']) {
      const res = await send('PATCH', `/Groups/${created.group}`, {
        id: created.group,
        Operations: [{ op: 'add', path: 'members', value }],
        schemas: [PATCH_URN],
      });
      expectScim(res, 400);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidValue' });
    }

    const get = await send('GET', `/Groups/${created.group}`);
    expectScim(get, 200);
    expect(get.body.members).toEqual([]);
    const excluded = await send('GET', `/Groups/${created.group}?excludedAttributes=members`);
    expectScim(excluded, 200);
    expect(excluded.body).not.toHaveProperty('members');

    const put = await send('PUT', `/Groups/${created.group}`, {
      id: created.group,
      displayName: 'Tiffany Ortiz',
      externalId: '6c6b54c2-fa81-4234-ad4f-420ec6808049',
      schemas: [GROUP_URN],
    });
    expectScim(put, 200);
    expect(put.body.displayName).toBe('Tiffany Ortiz');
  });

  it('Teardown garbage, then Get all users and Get all groups', async () => {
    for (const id of [created.omalley, created.emp1, created.emp2, created.emp3, created.enterprise]) {
      expectNoContent(await send('DELETE', `/Users/${id}`));
    }
    expectNoContent(await send('DELETE', `/Groups/${created.group}`));

    const users = await send('GET', '/Users?attributes=userName');
    expectScim(users, 200);
    expect(users.body.Resources).toEqual([]);
    const groups = await send('GET', '/Groups');
    expectScim(groups, 200);
    expect(groups.body.Resources).toEqual([]);
  });
});

describe('Microsoft Learn: the SCIM tutorial and the SCIM 2.0 compliance page', () => {
  const scim = serverForBlock();

  // use-scim-to-provision-users-and-groups.md, "User Operations", requests 1-6, 14 and their responses.
  it('replays the tutorial user operations in order and gets the documented responses', async () => {
    const userName = 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee';
    const create = await scim.request('POST', '/Users', {
      schemas: [USER_URN, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    });
    expectScim(create, 201);
    const documented = {
      schemas: [USER_URN],
      id: create.body.id,
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      meta: documentedMeta('User'),
      userName,
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      active: true,
      emails: [{ value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true }],
    };
    expect(create.body).toMatchObject(documented);
    const id = create.body.id as string;

    const found = await scim.request('GET', `/Users/${id}`);
    expectScim(found, 200);
    expect(found.body).toMatchObject(documented);

    // The documented id of a user that does not exist; "the detail isn't required, only status".
    const missing = await scim.request('GET', '/Users/5171a35d82074e068ce2');
    expectScim(missing, 404);
    expect(missing.body).toMatchObject({ schemas: [ERROR_URN], status: '404' });

    const byName = await scim.request('GET', `/Users?filter=userName eq "${userName}"`);
    expectScim(byName, 200);
    expect(byName.body).toMatchObject({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, Resources: [documented] });

    const none = await scim.request('GET', '/Users?filter=userName eq "non-existent user"');
    expectScim(none, 200);
    expect(none.body).toMatchObject({ schemas: [LIST_URN], totalResults: 0, Resources: [], startIndex: 1 });

    const multi = await scim.request(
      'PATCH',
      `/Users/${id}`,
      patchOp([
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ]),
    );
    expectScim(multi, 200);
    // The documented response also shows `name.formatted` recomputed ("givenName
    // updatedFamilyName"); ENTRA-TUT asks that values be stored as sent, so `formatted` keeps
    // the value Entra sent until Entra sends another.
    expect(multi.body).toMatchObject({
      id,
      userName,
      name: { familyName: 'updatedFamilyName', givenName: 'givenName' },
      active: true,
      emails: [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }],
    });

    const single = await scim.request(
      'PATCH',
      `/Users/${id}`,
      patchOp([{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }]),
    );
    expectScim(single, 200);
    expect(single.body).toMatchObject({ id, userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com', active: true });

    const disable = await scim.request('PATCH', `/Users/${id}`, {
      Operations: [{ op: 'Replace', path: 'active', value: false }],
      schemas: [PATCH_URN],
    });
    expectScim(disable, 200);
    expect(disable.body).toMatchObject({ schemas: [USER_URN], id, active: false });

    expectNoContent(await scim.request('DELETE', `/Users/${id}`));
    expectScim(await scim.request('GET', `/Users/${id}`), 404);
  });

  // use-scim-to-provision-users-and-groups.md, "Group Operations", requests 7-13.
  it('replays the tutorial group operations in order and gets the documented responses', async () => {
    const member = (await scim.request('POST', '/Users', { schemas: [USER_URN], userName: 'group.member@testuser.com' })).body.id as string;

    const create = await scim.request('POST', '/Groups', {
      schemas: [GROUP_URN, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expectScim(create, 201);
    const documented = {
      schemas: [GROUP_URN],
      id: create.body.id,
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      meta: documentedMeta('Group'),
      displayName: 'displayName',
    };
    expect(create.body).toMatchObject({ ...documented, members: [] });
    const id = create.body.id as string;

    const get = await scim.request('GET', `/Groups/${id}?excludedAttributes=members`);
    expectScim(get, 200);
    expect(get.body).toMatchObject(documented);
    expect(get.body).not.toHaveProperty('members');

    const byName = await scim.request('GET', '/Groups?excludedAttributes=members&filter=displayName eq "displayName"');
    expectScim(byName, 200);
    expect(byName.body).toMatchObject({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, Resources: [documented] });
    expect(byName.body.Resources[0]).not.toHaveProperty('members');

    expectNoContent(
      await scim.request(
        'PATCH',
        `/Groups/${id}`,
        patchOp([{ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }]),
      ),
    );
    expectNoContent(await scim.request('PATCH', `/Groups/${id}`, patchOp([{ op: 'Add', path: 'members', value: [{ $ref: null, value: member }] }])));
    const withMember = (await scim.request('GET', `/Groups/${id}`)).body;
    expect(withMember).toMatchObject({ displayName: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName', members: [{ value: member }] });
    expectNoContent(await scim.request('PATCH', `/Groups/${id}`, patchOp([{ op: 'Remove', path: 'members', value: [{ $ref: null, value: member }] }])));
    expect((await scim.request('GET', `/Groups/${id}`)).body.members).toEqual([]);

    expectNoContent(await scim.request('DELETE', `/Groups/${id}`));
    expectScim(await scim.request('GET', `/Groups/${id}`), 404);
  });

  // use-scim-to-provision-users-and-groups.md, "Schema discovery", request 15.
  it('serves /Schemas with the three documented schemas and their example attributes', async () => {
    const res = await scim.request('GET', '/Schemas');
    expectScim(res, 200);
    expect(res.body).toMatchObject({ schemas: [LIST_URN], startIndex: 1, totalResults: 3 });
    const byId = new Map((res.body.Resources as { id: string }[]).map((s) => [s.id, s as Record<string, any>])); // eslint-disable-line @typescript-eslint/no-explicit-any
    const attribute = (schema: string, attr: string) => byId.get(schema)!.attributes.find((a: { name: string }) => a.name === attr);
    expect(byId.get(USER_URN)).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], name: 'User', description: 'User Account' });
    expect(byId.get(GROUP_URN)).toMatchObject({ name: 'Group', description: 'Group' });
    expect(byId.get(ENTERPRISE)).toMatchObject({ name: 'EnterpriseUser', description: 'Enterprise User' });
    expect(attribute(GROUP_URN, 'displayName')).toMatchObject({
      type: 'string',
      multiValued: false,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
    });
    expect(attribute(ENTERPRISE, 'employeeNumber')).toMatchObject({
      type: 'string',
      multiValued: false,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
    });
    for (const schema of byId.values()) expect(schema.meta).toMatchObject({ resourceType: 'Schema', location: expect.stringMatching(/\/Schemas\/urn:/) });
  });

  // use-scim-to-provision-users-and-groups.md, "Handling provisioning and deprovisioning of
  // users", examples 1, 2, 3, 5 and 6 (example 4 describes a query without showing it).
  it('replays the provisioning examples: externalId query, legacy create, get, manager Add, delete', async () => {
    const query = await scim.request('GET', '/Users?filter=externalId eq jyoung');
    expectScim(query, 200);
    expect(query.body).toMatchObject({ schemas: [LIST_URN], totalResults: 0, Resources: [] });

    // Example 2, as published: the typo'd enterprise URN, nulls, and `department`/`manager` at
    // the top level.
    const create = await scim.request('POST', '/Users', {
      schemas: [USER_URN, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
      externalId: 'jyoung',
      userName: 'jyoung@testuser.com',
      active: true,
      addresses: null,
      displayName: 'Joy Young',
      emails: [{ type: 'work', value: 'jyoung@Contoso.com', primary: true }],
      meta: { resourceType: 'User' },
      name: { familyName: 'Young', givenName: 'Joy' },
      phoneNumbers: null,
      preferredLanguage: null,
      title: null,
      department: null,
      manager: null,
    });
    expectScim(create, 201);
    expect(create.body).toMatchObject({
      schemas: [USER_URN],
      externalId: 'jyoung',
      userName: 'jyoung@testuser.com',
      displayName: 'Joy Young',
      emails: [{ type: 'work', value: 'jyoung@Contoso.com', primary: true }],
    });
    for (const absent of ['addresses', 'phoneNumbers', 'preferredLanguage', 'title', 'department', 'manager', ENTERPRISE]) {
      expect(create.body).not.toHaveProperty([absent]);
    }
    const id = create.body.id as string;
    expect(ids(await scim.request('GET', '/Users?filter=externalId eq jyoung'))).toEqual([id]);

    const get = await scim.request('GET', `/Users/${id}`);
    expectScim(get, 200);
    expect(get.body.id).toBe(id);

    // Example 5: `manager` without its extension URN, as a one-element array with `$ref`.
    const manager = await scim.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_URN],
      Operations: [
        {
          op: 'Add',
          path: 'manager',
          value: [{ $ref: 'http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee', value: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee' }],
        },
      ],
    });
    expectScim(manager, 200);
    expect(manager.body.schemas).toEqual([USER_URN, ENTERPRISE]);
    expect(manager.body[ENTERPRISE].manager).toEqual({
      value: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      $ref: 'http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
    });

    expectNoContent(await scim.request('DELETE', `/Users/${id}`));
  });

  // application-provisioning-config-problem-scim-compatibility.md, every request body.
  describe('the SCIM 2.0 compliance page, without and with aadOptscim062020', () => {
    let seq = 0;
    async function workUser(): Promise<{ id: string; userName: string }> {
      seq++;
      const res = await scim.request('POST', '/Users', {
        schemas: [USER_URN],
        userName: `compat.${seq}@test.microsoft.com`,
        emails: [{ type: 'work', primary: true, value: `compat.${seq}@test.microsoft.com` }],
      });
      expect(res.status).toBe(201);
      return res.body;
    }

    // The page's headings: "Requests made to disable users", "to add a single-value string
    // attribute", "to replace multiple attributes".
    it.each<[string, unknown[], Record<string, unknown>]>([
      ['disables a user, without the flag', [{ op: 'Replace', path: 'active', value: 'False' }], { active: false }],
      ['disables a user, with the flag', [{ op: 'replace', path: 'active', value: false }], { active: false }],
      ['adds a single-value string attribute, without the flag', [{ op: 'Add', path: 'nickName', value: 'Babs' }], { nickName: 'Babs' }],
      ['adds a single-value string attribute, with the flag', [{ op: 'add', path: 'nickName', value: 'Babs' }], { nickName: 'Babs' }],
      [
        'replaces multiple attributes, one Replace per path, without the flag',
        [
          { op: 'Replace', path: 'displayName', value: 'Pvlo' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
          { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
          { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
          { op: 'Replace', path: 'externalId', value: 'Eqpj' },
          { op: 'Replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', value: 'Eqpj' },
        ],
        {
          schemas: [USER_URN, ENTERPRISE],
          displayName: 'Pvlo',
          emails: [{ type: 'work', primary: true, value: 'TestBcwqnm@test.microsoft.com' }],
          name: { givenName: 'Gtfd', familyName: 'Pkqf' },
          externalId: 'Eqpj',
          [ENTERPRISE]: { employeeNumber: 'Eqpj' },
        },
      ],
      [
        'replaces multiple attributes, a path-less replace keyed by attribute paths, with the flag',
        [
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
          {
            op: 'replace',
            value: {
              displayName: 'Bjfe',
              'name.givenName': 'Kkom',
              'name.familyName': 'Unua',
              'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'Aklq',
            },
          },
        ],
        {
          displayName: 'Bjfe',
          emails: [{ type: 'work', primary: true, value: 'TestMhvaes@test.microsoft.com' }],
          name: { givenName: 'Kkom', familyName: 'Unua' },
          [ENTERPRISE]: { employeeNumber: 'Aklq' },
        },
      ],
    ])('%s', async (_request, operations, expected) => {
      const user = await workUser();
      const res = await scim.request('PATCH', `/Users/${user.id}`, patchOp(operations));
      expectScim(res, 200);
      expect(res.body).toMatchObject(expected);
    });

    it.each([
      ['without the flag', (id: string) => ({ op: 'Remove', path: 'members', value: [{ value: id }] })],
      ['with the flag', (id: string) => ({ op: 'remove', path: `members[value eq "${id}"]` })],
    ])('removes one group member %s and keeps the others', async (_flag, removal) => {
      const [leaving, staying] = [await workUser(), await workUser()];
      const group = await scim.request('POST', '/Groups', {
        schemas: [GROUP_URN],
        displayName: `compat-group-${seq}`,
        members: [{ value: leaving.id }, { value: staying.id }],
      });
      expect(group.status).toBe(201);
      expectNoContent(await scim.request('PATCH', `/Groups/${group.body.id}`, patchOp([removal(leaving.id)])));
      const members = (await scim.request('GET', `/Groups/${group.body.id}`)).body.members.map((m: { value: string }) => m.value);
      expect(members).toEqual([staying.id]);
    });
  });
});
