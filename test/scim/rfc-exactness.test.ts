import { startScimServer, type TestScimServer } from './server';

/**
 * Points where the server once answered differently from what RFC 7643/7644 say; each test
 * quotes the clause it holds the server to.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('RFC 7643/7644 exactness', () => {
  let scim: TestScimServer;

  beforeAll(async () => {
    scim = await startScimServer();
  });
  afterAll(async () => {
    await scim.close();
  });

  async function createUser(body: Record<string, unknown>): Promise<string> {
    const res = await scim.request('POST', '/Users', { schemas: [USER_URN], ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function userNames(filter: string): Promise<string[]> {
    const res = await scim.request('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(200);
    return res.body.Resources.map((r: { userName: string }) => r.userName).sort();
  }

  // RFC 7644 §3.4.2.2: "eq: The attribute and operator values must be identical for a match",
  // and dateTime values are "compared chronologically". A timestamp the server returned must
  // then compare equal to itself, at the precision it was returned in.
  it('RFC 7644 §3.4.2.2 "eq ... must be identical": a user is found by its own meta timestamps', async () => {
    const id = await createUser({ userName: 'stamped@example.org' });
    // The database keeps microseconds; the document shows milliseconds.
    await scim.db('users').where({ id }).update({ created_at: '2026-03-04T05:06:07.123456Z', updated_at: '2026-03-04T05:06:08.654321Z' });
    const { meta } = (await scim.request('GET', `/Users/${id}`)).body;
    expect(meta).toMatchObject({ created: '2026-03-04T05:06:07.123Z', lastModified: '2026-03-04T05:06:08.654Z' });

    expect(await userNames(`meta.lastModified eq "${meta.lastModified}"`)).toEqual(['stamped@example.org']);
    expect(await userNames(`meta.created eq "${meta.created}"`)).toEqual(['stamped@example.org']);
    expect(await userNames(`meta.created gt "${meta.created}"`)).not.toContain('stamped@example.org');
    expect(await userNames(`meta.created ge "${meta.created}"`)).toContain('stamped@example.org');
    expect(await userNames(`meta.created le "${meta.created}"`)).toEqual(['stamped@example.org']);
    expect(await userNames(`meta.created lt "${meta.created}"`)).toEqual([]);
    expect(await userNames(`meta.lastModified ne "${meta.lastModified}"`)).not.toContain('stamped@example.org');
  });

  // RFC 7644 §3.4.2.2, "pr": "If the attribute has a non-empty value, or if it contains a
  // non-empty node for complex attributes, there is a match."
  it('RFC 7644 §3.4.2.2 "pr ... contains a non-empty node for complex attributes": addresses pr', async () => {
    await createUser({ userName: 'addressed@example.org', addresses: [{ type: 'work', locality: 'Lyon', country: 'FR' }] });
    await createUser({ userName: 'homeless@example.org' });

    const present = await userNames('addresses pr');
    expect(present).toContain('addressed@example.org');
    expect(present).not.toContain('homeless@example.org');
    expect(await userNames('not (addresses pr)')).toContain('homeless@example.org');
    expect(await userNames('not (addresses pr)')).not.toContain('addressed@example.org');
  });

  // RFC 7643 §2.4: "If not specified, the value of 'primary' SHALL be assumed to be 'false'."
  it('RFC 7643 §2.4 "the value of primary SHALL be assumed to be false": a missing primary reads as false', async () => {
    await createUser({ userName: 'no-primary@example.org', emails: [{ type: 'work', value: 'no-primary@example.org' }] });
    await createUser({ userName: 'primary@example.org', emails: [{ type: 'work', value: 'primary@example.org', primary: true }] });

    expect(await userNames('emails.primary eq false')).toEqual(['no-primary@example.org']);
    expect(await userNames('emails[primary eq false]')).toEqual(['no-primary@example.org']);
    expect(await userNames('emails[primary ne false]')).toEqual(['primary@example.org']);
    expect(await userNames('emails[primary eq true]')).toEqual(['primary@example.org']);

    // The same reading in a PATCH value filter (RFC 7644 §3.5.2 evaluates it per element).
    const id = await createUser({ userName: 'patched-primary@example.org', emails: [{ type: 'work', value: 'old@example.org' }] });
    const res = await scim.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', path: 'emails[primary eq false].value', value: 'new@example.org' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ type: 'work', value: 'new@example.org' }]);
  });

  // RFC 7643 §3.1: id is "case exact"; externalId "is case exact"; and RFC 7643 §2.2:
  // "caseExact ... A Boolean value that specifies whether or not a string attribute is case
  // sensitive." Every attribute this server's schema declares caseExact is held to it.
  it('RFC 7643 §3.1 "id ... case exact": id, externalId and x509Certificates.value match case-exactly', async () => {
    const id = await createUser({
      userName: 'exact@example.org',
      externalId: 'Ext-Exact-1',
      x509Certificates: [{ value: 'TUlJQ2lqQ0NBZk9nQXdJQkFnSUJBREFO' }],
    });
    expect(id).toBe(id.toLowerCase());

    expect(await userNames(`id eq "${id}"`)).toEqual(['exact@example.org']);
    expect(await userNames(`id eq "${id.toUpperCase()}"`)).toEqual([]);
    expect(await userNames(`id ne "${id.toUpperCase()}"`)).toContain('exact@example.org');
    expect(await userNames(`id sw "${id.slice(0, 8).toUpperCase()}"`)).toEqual([]);

    expect(await userNames('externalId eq "Ext-Exact-1"')).toEqual(['exact@example.org']);
    expect(await userNames('externalId eq "ext-exact-1"')).toEqual([]);
    expect(await userNames('externalId co "EXACT"')).toEqual([]);

    expect(await userNames('x509Certificates.value eq "TUlJQ2lqQ0NBZk9nQXdJQkFnSUJBREFO"')).toEqual(['exact@example.org']);
    expect(await userNames('x509Certificates.value eq "tulJQ2lqQ0NBZk9nQXdJQkFnSUJBREFO"')).toEqual([]);

    const group = await scim.request('POST', '/Groups', { displayName: 'Exact group', externalId: 'Grp-Exact' });
    expect(group.status).toBe(201);
    const groups = async (filter: string) =>
      (await scim.request('GET', `/Groups?filter=${encodeURIComponent(filter)}`)).body.Resources.map((g: { displayName: string }) => g.displayName);
    expect(await groups(`id eq "${group.body.id}"`)).toEqual(['Exact group']);
    expect(await groups(`id eq "${group.body.id.toUpperCase()}"`)).toEqual([]);
    expect(await groups('externalId eq "grp-exact"')).toEqual([]);
  });

  // RFC 7644 §3.5.2.1 (add): "If the target location already contains the value specified,
  // no changes SHOULD be made to the resource".
  it('RFC 7644 §3.5.2.1 "already contains the value specified, no changes SHOULD be made": add of a present email keeps primary', async () => {
    const email = { type: 'home', value: 'x@example.org', primary: true };
    const id = await createUser({ userName: 'x@example.org', emails: [email] });
    const before = (await scim.request('GET', `/Users/${id}`)).body;

    const res = await scim.request('PATCH', `/Users/${id}`, { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'emails', value: [email] }] });
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([email]);
    expect((await scim.request('GET', `/Users/${id}`)).body.emails).toEqual(before.emails);
  });

  // RFC 7644 §3.5.2.2: remove with a value filter removes the sub-attribute of each matching
  // element; on a user with no emails at all nothing matches, and the server answers as it does for
  // any remove that matches nothing (docs/scim.md), not with a fault. Found by test/fuzz.
  it('RFC 7644 §3.5.2.2: remove of emails[type eq "work"].value on a user without emails changes nothing and is no fault', async () => {
    const id = await createUser({ userName: 'no-emails@example.org' });
    const before = (await scim.request('GET', `/Users/${id}`)).body;
    const res = await scim.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'remove', path: 'emails[type eq "work"].value' }],
    });
    expect(res.status).toBeLessThan(500);
    expect((await scim.request('GET', `/Users/${id}`)).body.emails).toEqual(before.emails);
  });
});
