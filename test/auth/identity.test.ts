import { NAMEID_FORMAT, subjectOf } from '../../src/auth';
import { ADMIN_GROUP, type Harness, type HttpResult, provisionUser, reasonOf, startHarness } from './harness';
import { encodeResponse, PERSISTENT_NAMEID, signedResponse, TRANSIENT_NAMEID } from './test-idp';

/**
 * Which person a SAML sign-in names, and who is an admin, anchored on ids a person cannot edit:
 * the IdP's user id (SCIM externalId) rather than an email or a userName, the IdP's group id
 * rather than a group name, and the SCIM id for the session.
 */

const ADMIN_GROUP_ID = '7c1e7c3a-admins-objectid';

/** NameIDs matched to the SCIM externalId, the IdP's user id (Okta user id, Entra objectId). */
const ALICE_ID = '00u1alice';
const ADA_ID = '00u1ada';
const MALLORY_ID = '00u1mallory';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { SAML_ALLOW_EMAIL_NAMEID: 'false', SAML_ADMIN_GROUP: `externalId:${ADMIN_GROUP_ID}` } });
  await provisionUser(h.tdb, 'alice@example.com', { externalId: ALICE_ID });
  await provisionUser(h.tdb, 'ada@example.com', { externalId: ADA_ID, groups: [{ displayName: ADMIN_GROUP, externalId: ADMIN_GROUP_ID }] });
  // Mallory made a group named like the admin group in the IdP and joined it.
  await provisionUser(h.tdb, 'mallory@example.com', { externalId: MALLORY_ID, groups: [{ displayName: ADMIN_GROUP, externalId: 'mallorys-own-group' }] });
}, 30_000);
afterAll(async () => {
  await h.close();
});

/** Posts a response naming `nameId` in `format` (null: no Format) for a login this browser started. */
async function postAs(on: Harness, nameId: string, format: string | null, attributes?: Record<string, string>): Promise<HttpResult> {
  const o = { ...on.responseOptions(await on.startLogin(), nameId), nameIdFormat: format, ...(attributes ? { attributes } : {}) };
  return on.postAcs(encodeResponse(signedResponse(o, on.keys)));
}

async function signIn(on: Harness, nameId: string, format: string | null = PERSISTENT_NAMEID, attributes?: Record<string, string>): Promise<string> {
  const done = await on.complete(await postAs(on, nameId, format, attributes));
  if (done.status !== 303 || !done.cookie) throw new Error(`sign-in answered ${done.status}: ${reasonOf(done.text)}`);
  return done.cookie;
}

async function page(on: Harness, cookie: string, path = '/console/'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${on.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

const whoAmI = async (on: Harness, cookie: string) => /<strong id="me">([^<]*)<\/strong>/.exec((await page(on, cookie)).text)?.[1];

function refusalsLogged(on: Harness): Array<{ message: unknown; reason: unknown }> {
  return on
    .logs()
    .filter((l) => l.message === 'saml response rejected' || l.message === 'saml login refused')
    .map((l) => ({ message: l.message, reason: l.reason }));
}

async function expectRefused(res: HttpResult, status: number, reason: string, message: string): Promise<void> {
  expect({ status: res.status, reason: reasonOf(res.text), cookie: res.cookie }).toEqual({ status, reason, cookie: undefined });
  expect(refusalsLogged(h).at(-1)).toEqual({ message, reason });
}

describe('the person a NameID names (SAML_NAMEID_MATCH=externalId, the default)', () => {
  it('is the SCIM user whose externalId equals a persistent NameID', async () => {
    expect(await whoAmI(h, await signIn(h, ALICE_ID))).toBe('alice@example.com');
  });

  it('is matched the same way for an unspecified NameID or one without a Format', async () => {
    expect(await whoAmI(h, await signIn(h, ALICE_ID, NAMEID_FORMAT.unspecified))).toBe('alice@example.com');
    expect(await whoAmI(h, await signIn(h, ALICE_ID, null))).toBe('alice@example.com');
  });

  it('is matched exactly: another case, or a userName, names nobody', async () => {
    await expectRefused(await postAs(h, ALICE_ID.toUpperCase(), PERSISTENT_NAMEID), 403, 'user_not_provisioned', 'saml login refused');
    await expectRefused(await postAs(h, 'alice@example.com', PERSISTENT_NAMEID), 403, 'user_not_provisioned', 'saml login refused');
  });

  it('is nobody when two SCIM users carry the same externalId', async () => {
    await provisionUser(h.tdb, 'twin-a@example.com', { externalId: '00u1twin' });
    await provisionUser(h.tdb, 'twin-b@example.com', { externalId: '00u1twin' });
    await expectRefused(await postAs(h, '00u1twin', PERSISTENT_NAMEID), 403, 'user_ambiguous', 'saml login refused');
  });
});

describe('a NameID that does not identify a person stably', () => {
  it('is refused when it is an email address, which its owner may be able to change', async () => {
    const res = await postAs(h, 'alice@example.com', NAMEID_FORMAT.emailAddress);
    await expectRefused(res, 400, 'email_nameid_refused', 'saml response rejected');
    expect(res.text).toContain('named you by email address');
  });

  it('is refused when it is transient', async () => {
    await expectRefused(await postAs(h, ALICE_ID, TRANSIENT_NAMEID), 400, 'nameid_format_unsupported', 'saml response rejected');
  });
});

describe('the session', () => {
  it('keeps its person by SCIM id: a renamed person stays themselves after someone else is given their old userName', async () => {
    const carol = await provisionUser(h.tdb, 'jdoe@example.com', { externalId: '00u1carol' });
    const cookie = await signIn(h, '00u1carol');
    await h.tdb.db('users').where({ id: carol }).update({ user_name: 'carol.roe@example.com' });
    await provisionUser(h.tdb, 'jdoe@example.com', { externalId: '00u1newjdoe' });
    expect(await whoAmI(h, cookie)).toBe('carol.roe@example.com');
  });

  it('ends when the person is deleted', async () => {
    const gone = await provisionUser(h.tdb, 'leaver@example.com', { externalId: '00u1leaver' });
    const cookie = await signIn(h, '00u1leaver');
    await h.tdb.db('users').where({ id: gone }).delete();
    const res = await page(h, cookie);
    expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({ status: 403, reason: 'user_not_provisioned' });
    expect((await page(h, cookie)).status).toBe(303);
  });
});

describe('SAML_ADMIN_GROUP=externalId:<IdP group id>', () => {
  it('makes members of the group with that externalId admins', async () => {
    const ada = await signIn(h, ADA_ID);
    expect((await page(h, ada)).text).toContain('— administrator');
    expect((await page(h, ada, '/console/admin/status')).status).toBe(200);
  });

  it('gives nobody admin rights through a group created with the admin group’s name', async () => {
    const mallory = await signIn(h, MALLORY_ID);
    expect((await page(h, mallory)).text).not.toContain('— administrator');
    const admin = await page(h, mallory, '/console/admin/status');
    expect({ status: admin.status, reason: reasonOf(admin.text) }).toEqual({ status: 403, reason: 'not_admin' });
  });

  it('gives nobody admin rights while two groups carry that externalId', async () => {
    const second = await h.tdb.db('groups').insert({ display_name: 'copy', external_id: ADMIN_GROUP_ID }).returning('id');
    try {
      expect((await page(h, await signIn(h, ADA_ID))).text).not.toContain('— administrator');
    } finally {
      await h.tdb
        .db('groups')
        .whereIn(
          'id',
          second.map((g: { id: string }) => g.id),
        )
        .delete();
    }
  });

  it('ends admin rights at the next request once the person leaves that group', async () => {
    const cookie = await signIn(h, ADA_ID);
    const ada = await h.tdb.db('users').where({ external_id: ADA_ID }).first('id');
    const group = await h.tdb.db('groups').where({ external_id: ADMIN_GROUP_ID }).first('id');
    await h.tdb.db('group_members').where({ group_id: group.id, user_id: ada.id }).delete();
    try {
      expect((await page(h, cookie)).text).not.toContain('— administrator');
    } finally {
      await h.tdb.db('group_members').insert({ group_id: group.id, user_id: ada.id });
    }
  });
});

describe('SAML_USER_ID_ATTRIBUTE', () => {
  const USER_ID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
  let byAttribute: Harness;
  beforeAll(async () => {
    byAttribute = await startHarness({ env: { SAML_ALLOW_EMAIL_NAMEID: 'false', SAML_USER_ID_ATTRIBUTE: USER_ID } });
    await provisionUser(byAttribute.tdb, 'alice@example.com', { externalId: ALICE_ID });
    await provisionUser(byAttribute.tdb, 'bob@example.com', { externalId: '00u1bob' });
  }, 30_000);
  afterAll(async () => {
    await byAttribute.close();
  });

  it('signs in the person whose externalId the attribute carries, whatever the NameID says', async () => {
    const cookie = await signIn(byAttribute, 'bob@example.com', NAMEID_FORMAT.emailAddress, { [USER_ID]: ALICE_ID });
    expect(await whoAmI(byAttribute, cookie)).toBe('alice@example.com');
  });

  it('refuses an assertion without the attribute', async () => {
    const res = await postAs(byAttribute, ALICE_ID, PERSISTENT_NAMEID);
    expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({ status: 400, reason: 'missing_user_id' });
    expect(refusalsLogged(byAttribute).at(-1)).toEqual({ message: 'saml response rejected', reason: 'missing_user_id' });
  });
});

describe('SAML_NAMEID_MATCH=userName', () => {
  let byUserName: Harness;
  beforeAll(async () => {
    byUserName = await startHarness({ env: { SAML_ALLOW_EMAIL_NAMEID: 'false', SAML_NAMEID_MATCH: 'userName' } });
    await provisionUser(byUserName.tdb, 'alice@example.com', { externalId: ALICE_ID });
  }, 30_000);
  afterAll(async () => {
    await byUserName.close();
  });

  it('matches a persistent NameID to the userName, case-insensitively', async () => {
    expect(await whoAmI(byUserName, await signIn(byUserName, 'Alice@Example.com'))).toBe('alice@example.com');
  });

  it('still refuses an email NameID unless SAML_ALLOW_EMAIL_NAMEID is true', async () => {
    const res = await postAs(byUserName, 'alice@example.com', NAMEID_FORMAT.emailAddress);
    expect(reasonOf(res.text)).toBe('email_nameid_refused');
  });
});

describe('subjectOf', () => {
  const defaults = { userIdAttribute: undefined, loginAttribute: undefined, nameIdMatch: 'externalId' as const, allowEmailNameId: false };
  const asserted = (nameIdFormat: string | undefined, attributes: Record<string, unknown> = {}) => ({ nameId: ' 00u1x ', nameIdFormat, attributes });

  it.each([
    ['a persistent NameID', defaults, asserted(NAMEID_FORMAT.persistent), { subject: { externalId: '00u1x' } }],
    ['an email NameID when allowed', { ...defaults, allowEmailNameId: true }, asserted(NAMEID_FORMAT.emailAddress), { subject: { userName: '00u1x' } }],
    ['the login attribute', { ...defaults, loginAttribute: 'login' }, asserted(NAMEID_FORMAT.emailAddress, { login: 'a@b' }), { subject: { userName: 'a@b' } }],
    [
      'a multi-valued user id attribute',
      { ...defaults, userIdAttribute: 'uid' },
      asserted(NAMEID_FORMAT.persistent, { uid: ['1', '2'] }),
      { reason: 'missing_user_id' },
    ],
    ['an X.509 subject NameID', defaults, asserted('urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName'), { reason: 'nameid_format_unsupported' }],
  ])('reads %s', (_what, settings, input, expected) => {
    expect(subjectOf(settings, input)).toMatchObject(expected);
  });
});
