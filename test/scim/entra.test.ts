import { startScimServer, SCIM_JSON, type TestScimServer } from './server';

/**
 * Microsoft Entra ID's traffic, with the bodies of docs/idp-behaviour.md, "Microsoft Entra ID" (ENTRA-TUT,
 * ENTRA-COMPAT, REF-POSTMAN and "Entra quirks"), against the real server and Postgres.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const MS_GROUP_URN = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

let scim: TestScimServer;
beforeAll(async () => {
  scim = await startScimServer();
});
afterAll(async () => {
  await scim.close();
});

let seq = 0;
async function entraUser(overrides: Record<string, unknown> = {}) {
  seq++;
  const res = await scim.request('POST', '/Users', {
    schemas: [USER_URN, ENTERPRISE],
    externalId: `ext-${seq}`,
    userName: `Test_User_${seq}@contoso.com`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `Test_User_${seq}@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    ...overrides,
  });
  expect(res.status).toBe(201);
  return res.body;
}

const patch = (path: string, operations: unknown[]) => scim.request('PATCH', path, { schemas: [PATCH_URN], Operations: operations });

describe('Entra users', () => {
  it('creates the documented user and answers with id, externalId and meta', async () => {
    const body = {
      schemas: [USER_URN, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    };
    const res = await scim.request('POST', '/Users', body);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe(SCIM_JSON);
    expect(res.body).toMatchObject({ id: expect.any(String), externalId: body.externalId, userName: body.userName, emails: body.emails });
    expect(res.body.meta.created).toEqual(expect.any(String));
    expect(res.body.meta.lastModified).toEqual(expect.any(String));
  });

  it('accepts the older create example: nulls, and a typo in the enterprise URN', async () => {
    const res = await scim.request('POST', '/Users', {
      schemas: [USER_URN, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
      externalId: 'older-example',
      userName: 'older.example@contoso.com',
      active: true,
      addresses: null,
      displayName: 'Older Example',
      emails: [{ primary: true, type: 'work', value: 'older.example@contoso.com' }],
      meta: { resourceType: 'User' },
      name: { familyName: 'Example', givenName: 'Older' },
      phoneNumbers: null,
      title: null,
      [ENTERPRISE]: { department: null, manager: null },
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('addresses');
    expect(res.body).not.toHaveProperty('title');
    expect(res.body.schemas).toEqual([USER_URN]);
  });

  it('posts active "True" and returns boolean true (REF-POSTMAN)', async () => {
    const user = await entraUser({ active: 'True' });
    expect(user.active).toBe(true);
  });

  it('finds users by userName, by externalId with + for spaces, and by an unquoted externalId', async () => {
    const user = await entraUser({ externalId: 'johnwong' });
    const byName = await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`);
    expect(byName.body).toMatchObject({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    const plus = await scim.request('GET', '/Users?filter=externalId+eq+%22johnwong%22');
    expect(plus.status).toBe(200);
    expect(plus.body.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
    const bare = await scim.request('GET', '/Users?filter=externalId%20eq%20johnwong');
    expect(bare.body.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
    const byMail = await scim.request('GET', `/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${user.emails[0].value.toUpperCase()}"`)}`);
    expect(byMail.body.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
  });

  it('answers Test Connection (a random GUID) with 200 and an empty ListResponse', async () => {
    const res = await scim.request('GET', `/Users?filter=userName+eq+%22${crypto.randomUUID()}%22`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('updates a multi-valued and a single-valued attribute with capitalised ops', async () => {
    const user = await entraUser();
    const res = await patch(`/Users/${user.id}`, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(res.body.name.familyName).toBe('updatedFamilyName');
    const renamed = await patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }]);
    expect(renamed.status).toBe(200);
    expect(renamed.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
  });

  it.each([[false], ['False'], ['false']])('disables with Replace active %p', async (value) => {
    const user = await entraUser();
    const res = await patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'active', value }]);
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    const event = (await scim.outbox()).filter((r) => r.payload.userId === user.id).pop()!;
    expect(event.kind).toBe('user.deactivated');
    expect((await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`)).body.totalResults).toBe(1);
  });

  it('applies a path-less replace whose keys are attribute paths and URN paths, storing values as sent', async () => {
    const user = await entraUser();
    const res = await patch(`/Users/${user.id}`, [
      {
        op: 'replace',
        value: {
          displayName: 'Dotted Name',
          'name.givenName': 'Dotted',
          'name.familyName': 'Name',
          [`${ENTERPRISE}:employeeNumber`]: '55555555555',
          [ENTERPRISE]: { department: 'Finance' },
        },
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ displayName: 'Dotted Name', name: { givenName: 'Dotted', familyName: 'Name', formatted: 'givenName familyName' } });
    expect(res.body[ENTERPRISE]).toEqual({ employeeNumber: '55555555555', department: 'Finance' });
    expect(res.body.schemas).toEqual([USER_URN, ENTERPRISE]);
    expect(Object.keys(res.body)).not.toContain('name.givenName');
  });

  it('adds a single-valued attribute with Add (nickName)', async () => {
    const user = await entraUser();
    const res = await patch(`/Users/${user.id}`, [{ op: 'Add', path: 'nickName', value: 'Babs' }]);
    expect(res.body.nickName).toBe('Babs');
  });

  it('creates the element when Add targets a filtered path with no match', async () => {
    const user = await entraUser({ emails: [] });
    const res = await patch(`/Users/${user.id}`, [
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'new.work@contoso.com' },
      { op: 'Add', path: 'addresses[type eq "other"].Formatted', value: '1 Main St' },
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ type: 'work', value: 'new.work@contoso.com' }]);
    expect(res.body.addresses).toEqual([{ type: 'other', formatted: '1 Main St' }]);
    expect(res.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0100' }]);
    const again = await patch(`/Users/${user.id}`, [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'second@contoso.com' }]);
    expect(again.body.emails).toEqual([{ type: 'work', value: 'second@contoso.com' }]);
  });

  it('answers Replace on a filtered path with no match with 400 noTarget', async () => {
    const user = await entraUser({ emails: [] });
    const res = await patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'emails[type eq "home"].value', value: 'x@y.z' }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('noTarget');
  });

  it('takes the manager as a plain string, returns it complex, changes and removes it', async () => {
    const boss = await entraUser();
    const other = await entraUser();
    const user = await entraUser();
    const add = await patch(`/Users/${user.id}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: boss.id }]);
    expect(add.status).toBe(200);
    expect(add.body[ENTERPRISE].manager).toEqual({ value: boss.id });
    expect((await scim.request('GET', `/Users/${user.id}`)).body[ENTERPRISE].manager).toEqual({ value: boss.id });
    const legacy = await patch(
      `/Users/${user.id}`,
      [{ op: 'Add', path: 'manager', value: [{ $ref: `../Users/${other.id}`, value: other.id }] }].map((o) => ({ ...o, path: `${ENTERPRISE}:manager` })),
    );
    expect(legacy.body[ENTERPRISE].manager).toEqual({ value: other.id, $ref: `../Users/${other.id}` });
    // The tutorial's legacy manager check compares the complex manager as a whole (its value).
    const managerCheck = async (managerId: string) =>
      (await scim.request('GET', `/Users?filter=${encodeURIComponent(`id eq "${user.id}" and manager eq "${managerId}"`)}&attributes=id`)).body;
    expect((await managerCheck(other.id)).Resources).toEqual([{ id: user.id, schemas: [USER_URN, ENTERPRISE] }]);
    expect((await managerCheck(boss.id)).totalResults).toBe(0);
    const removed = await patch(`/Users/${user.id}`, [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: '' }]);
    expect(removed.status).toBe(200);
    expect(removed.body[ENTERPRISE]).toBeUndefined();
    expect(removed.body.schemas).toEqual([USER_URN]);
  });

  it('clears an attribute on a Replace with null or an empty value', async () => {
    const user = await entraUser({ title: 'Engineer', nickName: 'Nick' });
    const res = await patch(`/Users/${user.id}`, [
      { op: 'Replace', path: 'title', value: null },
      { op: 'Replace', path: 'nickName', value: '' },
    ]);
    expect(res.body).not.toHaveProperty('title');
    expect(res.body).not.toHaveProperty('nickName');
  });

  it('deletes a user: 204, then 404, and the event carries its groups', async () => {
    const user = await entraUser();
    const group = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: `del-${user.id}` })).body;
    await patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: user.id }] }]);
    expect((await scim.request('DELETE', `/Users/${user.id}`)).status).toBe(204);
    expect((await scim.request('GET', `/Users/${user.id}`)).status).toBe(404);
    const event = (await scim.outbox()).pop()!;
    expect(event.payload).toEqual({ kind: 'user.deleted', userId: user.id, groupIds: [group.id] });
  });

  it('returns only the requested attributes (attributes=userName,emails)', async () => {
    const user = await entraUser();
    const res = await scim.request('GET', `/Users/${user.id}?attributes=userName,emails`);
    expect(Object.keys(res.body).sort()).toEqual(['emails', 'id', 'schemas', 'userName']);
    const list = await scim.request('GET', `/Users?attributes=userName&filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`);
    expect(Object.keys(list.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
  });

  it('rejects a POST or PUT without userName with 400 (REF-POSTMAN)', async () => {
    const post = await scim.request('POST', '/Users', { schemas: [USER_URN], active: true });
    expect(post.status).toBe(400);
    expect(post.body.scimType).toBe('invalidValue');
    const user = await entraUser();
    const put = await scim.request('PUT', `/Users/${user.id}`, { schemas: [USER_URN], active: true });
    expect(put.status).toBe(400);
  });

  it('pages with count=5 over 11 users, echoing startIndex', async () => {
    for (let i = 0; i < 11; i++) await entraUser();
    const total = (await scim.request('GET', '/Users?count=0')).body.totalResults;
    const seen: string[] = [];
    for (let start = 1; start <= total; start += 5) {
      const page = await scim.request('GET', `/Users?startIndex=${start}&count=5`);
      expect(page.body.startIndex).toBe(start);
      expect(page.body.itemsPerPage).toBe(Math.min(5, total - start + 1));
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id));
    }
    expect(new Set(seen).size).toBe(total);
    const two = await scim.request('GET', '/Users?startIndex=1&count=2');
    expect(two.body.itemsPerPage).toBe(2);

    const pastTheEnd = await scim.request('GET', `/Users?startIndex=${total + 1}&count=5`);
    expect(pastTheEnd.body).toMatchObject({ totalResults: total, startIndex: total + 1, itemsPerPage: 0, Resources: [] });
    const absurd = await scim.request('GET', '/Users?startIndex=99999999999999999999&count=5');
    expect(absurd.status).toBe(200);
    expect(absurd.body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });
  });
});

describe('Entra groups', () => {
  it('creates a group with the extra Microsoft schema URN and no members', async () => {
    const res = await scim.request('POST', '/Groups', {
      schemas: [GROUP_URN, MS_GROUP_URN],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ schemas: [GROUP_URN], displayName: 'displayName', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', members: [] });
  });

  it('gets a group without members and never reads group_members for it', async () => {
    const group = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'No Member Read' })).body;
    const trx = await scim.db.transaction();
    try {
      // While another transaction holds an exclusive lock on group_members, any read of it blocks.
      await trx.raw('LOCK TABLE group_members IN ACCESS EXCLUSIVE MODE');
      const res = await scim.request('GET', `/Groups/${group.id}?excludedAttributes=members`);
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('members');
      expect(res.body.displayName).toBe('No Member Read');
      const byName = await scim.request('GET', '/Groups?excludedAttributes=members&filter=displayName+eq+%22NO+MEMBER+READ%22');
      expect(byName.body.totalResults).toBe(1);
      expect(byName.body.Resources[0]).not.toHaveProperty('members');
    } finally {
      await trx.rollback();
    }
  });

  it('renames with Replace displayName (204), adds several members in one PATCH, removes only the listed ones', async () => {
    const [a, b, c] = [await entraUser(), await entraUser(), await entraUser()];
    const group = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN, MS_GROUP_URN], displayName: 'Entra Team' })).body;
    const rename = await patch(`/Groups/${group.id}`, [
      { op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' },
    ]);
    expect(rename.status).toBe(204);
    expect(rename.text).toBe('');

    const add = await patch(`/Groups/${group.id}`, [
      {
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: a.id },
          { $ref: null, value: b.id },
          { $ref: null, value: c.id },
        ],
      },
    ]);
    expect(add.status).toBe(204);

    const remove = await patch(`/Groups/${group.id}`, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: b.id }] }]);
    expect(remove.status).toBe(204);
    const members = (await scim.request('GET', `/Groups/${group.id}`)).body.members.map((m: { value: string }) => m.value);
    expect(members.sort()).toEqual([a.id, c.id].sort());

    const flagged = await patch(`/Groups/${group.id}`, [{ op: 'remove', path: `members[value eq "${a.id}"]` }]);
    expect(flagged.status).toBe(204);
    expect((await scim.request('GET', `/Groups/${group.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([c.id]);

    const events = (await scim.outbox()).filter((r) => r.payload.groupId === group.id).map((r) => r.payload);
    expect(events.slice(1)).toEqual([
      { kind: 'group.updated', groupId: group.id },
      { kind: 'group.members_changed', groupId: group.id, added: [a.id, b.id, c.id], removed: [] },
      { kind: 'group.members_changed', groupId: group.id, added: [], removed: [b.id] },
      { kind: 'group.members_changed', groupId: group.id, added: [], removed: [a.id] },
    ]);

    const all = await patch(`/Groups/${group.id}`, [{ op: 'Remove', path: 'members' }]);
    expect(all.status).toBe(204);
    expect((await scim.request('GET', `/Groups/${group.id}`)).body.members).toEqual([]);
  });

  it('rejects members that are not users of the directory, changing nothing', async () => {
    const group = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Strict' })).body;
    const before = (await scim.outbox()).length;
    const res = await patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: crypto.randomUUID() }] }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect((await scim.outbox()).length).toBe(before);
    const notAnId = await patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: 'not-a-user-id' }] }]);
    expect(notAnId.status).toBe(400);
  });

  it('deletes a group with 204', async () => {
    const group = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Doomed' })).body;
    expect((await scim.request('DELETE', `/Groups/${group.id}`)).status).toBe(204);
    expect((await scim.request('GET', `/Groups/${group.id}`)).status).toBe(404);
  });
});

describe('Entra schema discovery', () => {
  it('serves /Schemas as a ListResponse without nulls, with userName caseExact false and uniqueness server', async () => {
    const res = await scim.request('GET', '/Schemas');
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([LIST_URN]);
    expect(res.text).not.toContain('null');
    expect(res.text).toContain('User Account');
    const ids = res.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual([USER_URN, ENTERPRISE, GROUP_URN]);
    const userName = res.body.Resources[0].attributes.find((a: { name: string }) => a.name === 'userName');
    expect(userName).toMatchObject({ type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite' });
    expect((await scim.request('GET', `/Schemas/${ENTERPRISE}`)).body.id).toBe(ENTERPRISE);
    expect((await scim.request('GET', '/Schemas/urn:nope')).status).toBe(404);
  });

  it('serves ResourceTypes and a truthful ServiceProviderConfig', async () => {
    const types = await scim.request('GET', '/ResourceTypes');
    expect(types.body.Resources.map((r: { endpoint: string }) => r.endpoint)).toEqual(['/Users', '/Groups']);
    const spc = await scim.request('GET', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
    });
    expect(spc.body.authenticationSchemes[0].type).toBe('oauthbearertoken');
    expect((await scim.request('POST', '/ServiceProviderConfig', {})).status).toBe(405);
  });
});
