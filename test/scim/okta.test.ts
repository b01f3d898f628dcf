import { startScimServer, SCIM_JSON, type TestScimServer } from './server';

/**
 * Okta's traffic, with the request bodies of docs/idp-behaviour.md, "Okta" (OKTA-REF, OKTA-SPEC),
 * against the real HTTP server and Postgres.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

let scim: TestScimServer;
beforeAll(async () => {
  scim = await startScimServer();
});
afterAll(async () => {
  await scim.close();
});

function oktaCreateBody(login: string) {
  return {
    schemas: [USER_URN],
    userName: login,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: login, type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: '1mz050nq',
    active: true,
  };
}

describe('Okta user lifecycle', () => {
  it('looks a user up by userName, creates it, and finds it again', async () => {
    const lookup = await scim.request('GET', '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100');
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

    const created = await scim.request('POST', '/Users', oktaCreateBody('test.user@okta.local'));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe(SCIM_JSON);
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.get('location')).toBe(`${scim.base}/Users/${created.body.id}`);
    expect(created.body.meta).toMatchObject({ resourceType: 'User', location: `${scim.base}/Users/${created.body.id}`, version: 'W/"1"' });
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(created.body).toMatchObject({
      schemas: [USER_URN],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      active: true,
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
    });
    expect(created.text).not.toContain('password');
    expect(created.text).not.toContain('1mz050nq');
    const stored = await scim.db('users').where({ id: created.body.id }).first();
    expect(JSON.stringify(stored)).not.toContain('1mz050nq');

    const again = await scim.request('GET', '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100');
    expect(again.body.totalResults).toBe(1);
    expect(again.body.Resources[0].id).toBe(created.body.id);
  });

  it('answers a duplicate create with 409 uniqueness, also when only the case differs', async () => {
    await scim.request('POST', '/Users', oktaCreateBody('dup.user@okta.local'));
    const dup = await scim.request('POST', '/Users', oktaCreateBody('DUP.User@okta.local'));
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ schemas: [ERROR_URN], status: '409', scimType: 'uniqueness' });
    expect(dup.body.detail).toEqual(expect.any(String));
  });

  it('takes a full PUT carrying id, meta and groups, and deactivation by PUT', async () => {
    const created = (await scim.request('POST', '/Users', oktaCreateBody('put.user@okta.local'))).body;
    const fetched = (await scim.request('GET', `/Users/${created.id}`)).body;
    const put = await scim.request('PUT', `/Users/${created.id}`, {
      ...fetched,
      name: { givenName: 'Changed', familyName: 'User' },
    });
    expect(put.status).toBe(200);
    expect(put.body.name.givenName).toBe('Changed');
    expect(put.body.meta.version).toBe('W/"2"');

    const deactivated = await scim.request('PUT', `/Users/${created.id}`, { ...put.body, active: false });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    const kinds = (await scim.outbox()).filter((r) => r.payload.userId === created.id).map((r) => r.kind);
    expect(kinds).toEqual(['user.created', 'user.updated', 'user.deactivated']);
  });

  it('deactivates and reactivates with the path-less PATCH, and the user stays readable and findable', async () => {
    const created = (await scim.request('POST', '/Users', oktaCreateBody('deact.user@okta.local'))).body;
    const off = await scim.request('PATCH', `/Users/${created.id}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    const found = await scim.request('GET', '/Users?filter=userName%20eq%20%22deact.user%40okta.local%22');
    expect(found.body.Resources[0]).toMatchObject({ id: created.id, active: false });
    expect((await scim.request('GET', `/Users/${created.id}`)).body.active).toBe(false);

    const on = await scim.request('PATCH', `/Users/${created.id}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    expect(on.body.active).toBe(true);
    const events = (await scim.outbox()).filter((r) => r.payload.userId === created.id);
    expect(events.map((e) => e.kind)).toEqual(['user.created', 'user.deactivated', 'user.reactivated']);
    expect(events[1]!.payload).toEqual({ kind: 'user.deactivated', userId: created.id, groupIds: [] });
  });

  it('accepts a password-sync PATCH without storing or returning the password', async () => {
    const created = (await scim.request('POST', '/Users', oktaCreateBody('pw.user@okta.local'))).body;
    const res = await scim.request('PATCH', `/Users/${created.id}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', value: { password: 'n3w-s3cret' } }],
    });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('n3w-s3cret');
    const row = await scim.db('users').where({ id: created.id }).first();
    expect(JSON.stringify(row)).not.toContain('n3w-s3cret');
    expect(res.body.meta.version).toBe('W/"1"');
  });

  it('pages an import with integer counts and stable order', async () => {
    const res1 = await scim.request('GET', '/Users?startIndex=1&count=2');
    const res2 = await scim.request('GET', '/Users?startIndex=3&count=2');
    expect(res1.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
    expect(typeof res1.body.totalResults).toBe('number');
    expect(res2.body.startIndex).toBe(3);
    const ids = [...res1.body.Resources, ...res2.body.Resources].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = await scim.request('GET', '/Users?startIndex=1&count=100');
    expect(all.body.Resources.slice(0, 4).map((r: { id: string }) => r.id)).toEqual(ids);
  });
});

describe('Okta group push', () => {
  it('creates, renames with id inside the value, changes members, pushes the full list and deletes', async () => {
    const alice = (await scim.request('POST', '/Users', oktaCreateBody('alice@okta.local'))).body;
    const bob = (await scim.request('POST', '/Users', oktaCreateBody('bob@okta.local'))).body;

    const created = await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Test SCIMv2', members: [] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ schemas: [GROUP_URN], displayName: 'Test SCIMv2', members: [] });
    const gid = created.body.id;
    expect(created.headers.get('location')).toBe(`${scim.base}/Groups/${gid}`);

    const rename = await scim.request('PATCH', `/Groups/${gid}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }],
    });
    expect(rename.status).toBe(204);
    expect(rename.headers.get('etag')).toBe('W/"2"');
    expect((await scim.request('GET', `/Groups/${gid}`)).body.displayName).toBe('Test SCIMv2 renamed');

    const add = await scim.request('PATCH', `/Groups/${gid}`, {
      schemas: [PATCH_URN],
      Operations: [
        { op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } },
        {
          op: 'add',
          path: 'members',
          value: [
            { value: alice.id, display: 'alice@okta.local' },
            { value: bob.id, display: 'bob@okta.local' },
          ],
        },
      ],
    });
    expect(add.status).toBe(204);

    const swap = await scim.request('PATCH', `/Groups/${gid}`, {
      schemas: [PATCH_URN],
      Operations: [
        { op: 'remove', path: `members[value eq "${bob.id}"]` },
        { op: 'add', path: 'members', value: [{ value: alice.id, display: 'alice@okta.local' }] },
      ],
    });
    expect(swap.status).toBe(204);
    const group = (await scim.request('GET', `/Groups/${gid}`)).body;
    expect(group.members).toEqual([{ value: alice.id, display: 'Test User', $ref: `${scim.base}/Users/${alice.id}`, type: 'User' }]);

    const push = await scim.request('PATCH', `/Groups/${gid}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', path: 'members', value: [{ value: bob.id, display: 'bob@okta.local' }] }],
    });
    expect(push.status).toBe(204);
    expect((await scim.request('GET', `/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value)).toEqual([bob.id]);

    const events = (await scim.outbox()).filter((r) => r.payload.groupId === gid).map((r) => r.payload);
    expect(events).toEqual([
      { kind: 'group.created', groupId: gid },
      { kind: 'group.updated', groupId: gid },
      { kind: 'group.members_changed', groupId: gid, added: [alice.id, bob.id], removed: [] },
      { kind: 'group.members_changed', groupId: gid, added: [], removed: [bob.id] },
      { kind: 'group.members_changed', groupId: gid, added: [bob.id], removed: [alice.id] },
    ]);

    const userView = (await scim.request('GET', `/Users/${bob.id}`)).body;
    expect(userView.groups).toEqual([{ value: gid, display: 'Test SCIMv2 renamed', $ref: `${scim.base}/Groups/${gid}`, type: 'direct' }]);

    const del = await scim.request('DELETE', `/Groups/${gid}`);
    expect(del.status).toBe(204);
    expect((await scim.request('GET', `/Groups/${gid}`)).status).toBe(404);
  });

  it('takes group rename and membership by PUT (AIW integrations)', async () => {
    const carol = (await scim.request('POST', '/Users', oktaCreateBody('carol@okta.local'))).body;
    const gid = (await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'AIW group', members: [] })).body.id;
    const put = await scim.request('PUT', `/Groups/${gid}`, {
      schemas: [GROUP_URN],
      id: gid,
      displayName: 'AIW group 2',
      members: [{ value: carol.id, display: 'carol@okta.local' }],
    });
    expect(put.status).toBe(200);
    expect(put.body.displayName).toBe('AIW group 2');
    expect(put.body.members.map((m: { value: string }) => m.value)).toEqual([carol.id]);
  });
});

describe('Okta SCIM 2.0 SPEC test sequence (§1.4)', () => {
  it('passes every step', async () => {
    await scim.request('POST', '/Users', oktaCreateBody('spec.seed@okta.local'));
    // 1
    const first = await scim.request('GET', '/Users?count=1&startIndex=1', undefined, { accept: 'application/scim+json; charset=utf-8' });
    expect(first.status).toBe(200);
    expect(first.body.schemas).toContain(LIST_URN);
    for (const k of ['itemsPerPage', 'startIndex', 'totalResults']) expect(typeof first.body[k]).toBe('number');
    expect(first.body.Resources.length).toBe(1);
    const u = first.body.Resources[0];
    expect(u.id).toBeTruthy();
    expect(u.name.familyName).toBeTruthy();
    expect(u.name.givenName).toBeTruthy();
    expect(u.userName).toBeTruthy();
    expect(u.active).toBeDefined();
    expect(u.emails[0].value).toBeTruthy();
    // 2
    const byId = await scim.request('GET', `/Users/${u.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.id).toBe(u.id);
    // 3 and 5
    for (const name of ['nobody-here@okta.local', `random-${Date.now()}@okta.local`]) {
      const none = await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
      expect(none.status).toBe(200);
      expect(none.body.schemas).toContain(LIST_URN);
      expect(none.body.totalResults).toBe(0);
      expect(none.body.Resources).toEqual([]);
    }
    // 4 and 12
    for (const id of ['010101001010101010', '00919288221112222', '3f7d6f2c-0000-4000-8000-000000000000']) {
      const missing = await scim.request('GET', `/Users/${id}`);
      expect(missing.status).toBe(404);
      expect(missing.body.schemas).toContain(ERROR_URN);
      expect(missing.body.status).toBe('404');
      expect(missing.body.detail).toBeTruthy();
    }
    // 6 (Content-Type application/json)
    const body = {
      schemas: [USER_URN],
      userName: 'Runscope.Spec@atko.com',
      name: { familyName: 'Spec', givenName: 'Runscope' },
      emails: [{ primary: true, value: 'Runscope.Spec@atko.com', type: 'work' }],
      displayName: 'Runscope Spec',
      active: true,
    };
    const created = await scim.request('POST', '/Users', body, { 'content-type': 'application/json' });
    expect(created.status).toBe(201);
    expect(created.body.active).toBe(true);
    expect(created.body.id).toBeTruthy();
    expect(created.body.name).toEqual(body.name);
    expect(created.body.schemas).toContain(USER_URN);
    expect(created.body.userName).toBe(body.userName);
    // 7
    const readBack = await scim.request('GET', `/Users/${created.body.id}`);
    expect(readBack.body).toMatchObject({ userName: body.userName, name: body.name });
    // 8
    expect((await scim.request('POST', '/Users', body, { 'content-type': 'application/json' })).status).toBe(409);
    // 9
    const upper = await scim.request('GET', `/Users?filter=${encodeURIComponent('userName eq "RUNSCOPE.SPEC@ATKO.COM"')}`);
    expect(upper.status).toBe(200);
    expect(upper.body.totalResults).toBe(1);
    // 10
    const groups = await scim.request('GET', '/Groups');
    expect(groups.status).toBe(200);
    expect(Array.isArray(groups.body.Resources)).toBe(true);
    // 11
    const denied = await scim.request('GET', `/Users?filter=${encodeURIComponent('userName eq "x"')}`, undefined, { authorization: 'non-token' });
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ schemas: [ERROR_URN], status: '401' });
    expect(denied.body.detail).toBeTruthy();
  });
});
