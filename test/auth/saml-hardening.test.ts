import { deflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { REQUEST_ID_TTL_MS } from '../../src/auth/saml';
import { ADMIN_GROUP, type Harness, IDP_ISSUER, provisionUser, reasonOf, startHarness } from './harness';
import {
  buildAssertionXml,
  createIdpKeys,
  encodeResponse,
  type IdpKeys,
  newId,
  type ResponseOptions,
  requestIdFromRedirect,
  signAssertion,
  signedResponse,
  signResponse,
  type SignOptions,
  wrapInResponse,
} from './test-idp';

/**
 * The SAML attacks and rules of docs/robustness.md, "SAML", that saml.test.ts leaves
 * out, each a forged or mutated response signed at test time: signatures placed over another
 * element, SHA-1 and HMAC signatures, the maximum assertion age and clock skew, addressing and
 * InResponseTo corner cases, identity split by CDATA or comments in an attribute, and the
 * session rules around sign-in (fixation, sign-out, CSRF bound to the session).
 */

const ALICE = 'alice@example.com';
/** NameIDs only this file uses, so the log check below can look for them. */
const FORGED = 'forged-admin@example.com';
const SPLIT = 'carol@example.com.evil.test';

const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';
const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';

let h: Harness;
let lenient: Harness;
let attacker: IdpKeys;

beforeAll(async () => {
  [h, lenient, attacker] = await Promise.all([startHarness(), startHarness({ env: { SAML_ALLOW_UNSIGNED_RESPONSE: 'true' } }), createIdpKeys('attacker')]);
  await Promise.all([provisionUser(h.tdb, ALICE), provisionUser(h.tdb, SPLIT), provisionUser(lenient.tdb, ALICE)]);
});
afterAll(async () => {
  await Promise.all([h.close(), lenient.close()]);
});

async function login(on: Harness = h, nameId = ALICE): Promise<ResponseOptions> {
  return on.responseOptions(await on.startLogin(), nameId);
}

const rejectionsOf = (on: Harness) =>
  on
    .logs()
    .filter((l) => l.message === 'saml response rejected')
    .map((l) => String(l.reason));

async function expectRejected(xml: string, reason: string, on: Harness = h): Promise<void> {
  const before = rejectionsOf(on).length;
  const res = await on.postAcs(encodeResponse(xml));
  expect({ refused: res.status >= 400, reason: reasonOf(res.text), cookie: res.cookie, location: res.location }).toEqual({
    refused: true,
    reason,
    cookie: undefined,
    location: null,
  });
  expect(rejectionsOf(on).slice(before)).toEqual([reason]);
}

async function signIn(xml: string, on: Harness = h): Promise<string | undefined> {
  const done = await on.complete(await on.postAcs(encodeResponse(xml)));
  expect(done.location).toBe('/console/');
  return done.cookie;
}

async function whoAmI(cookie: string, on: Harness = h): Promise<string | undefined> {
  const res = await fetch(`${on.url}/console/`, { headers: { cookie }, redirect: 'manual' });
  return /<strong id="me">([^<]*)<\/strong>/.exec(await res.text())?.[1];
}

const unsignedResponse = (o: ResponseOptions) => wrapInResponse(buildAssertionXml(o), o);
const signatureIn = (xml: string) => /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)![0];
const assertionIn = (xml: string) => xml.slice(xml.indexOf('<saml:Assertion '), xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length);

describe('what must be signed, and by whom', () => {
  it('refuses a response in which nothing is signed', async () => {
    await expectRejected(unsignedResponse(await login()), 'response_signature_invalid');
  });

  it('refuses a response in which nothing is signed when only the assertion must be', async () => {
    await expectRejected(unsignedResponse(await login(lenient)), 'assertion_signature_invalid', lenient);
  });

  it("refuses an assertion signed with the attacker's key, certificate in KeyInfo, when only the assertion must be signed", async () => {
    const o = { ...(await login(lenient)), nameId: FORGED };
    await expectRejected(signAssertion(unsignedResponse(o), attacker), 'assertion_signature_invalid', lenient);
  });

  it('refuses a response signature whose Reference names the assertion instead of the response it sits in', async () => {
    // The IdP's valid signature over the assertion, moved up to be the Response's signature.
    const signed = signAssertion(unsignedResponse(await login()), h.keys);
    const signature = signatureIn(signed);
    const moved = signed.replace(signature, '').replace('</saml:Issuer><samlp:Status>', `</saml:Issuer>${signature}<samlp:Status>`);
    expect(moved).toContain(`${signature}<samlp:Status>`);
    await expectRejected(moved, 'signature_structure_invalid');
  });

  it('refuses an attacker assertion carrying the signature of the real one, which hides in Extensions', async () => {
    const o = await login(lenient);
    const signed = signAssertion(unsignedResponse(o), lenient.keys);
    const real = assertionIn(signed);
    const evil = buildAssertionXml({ ...o, nameId: FORGED }).replace('</saml:Issuer>', `</saml:Issuer>${signatureIn(real)}`);
    const attack = signed.replace(real, evil).replace('</samlp:Status>', `</samlp:Status><samlp:Extensions>${real}</samlp:Extensions>`);
    await expectRejected(attack, 'signature_structure_invalid', lenient);
  });

  it('refuses an attacker assertion that copies the ID and signature of the real one', async () => {
    const o = await login(lenient);
    const signed = signAssertion(unsignedResponse(o), lenient.keys);
    const real = assertionIn(signed);
    const realId = /\bID="([^"]+)"/.exec(real)![1]!;
    const evil = buildAssertionXml({ ...o, nameId: FORGED, assertionId: realId }).replace('</saml:Issuer>', `</saml:Issuer>${signatureIn(real)}`);
    const attack = signed.replace(real, evil).replace('</samlp:Status>', `</samlp:Status><samlp:Extensions>${real}</samlp:Extensions>`);
    await expectRejected(attack, 'signature_structure_invalid', lenient);
  });
});

describe('signature algorithms', () => {
  it('refuses a response the IdP signed with RSA-SHA1 and SHA-1 digests', async () => {
    await expectRejected(signedResponse(await login(), h.keys, { signatureAlgorithm: RSA_SHA1, digestAlgorithm: SHA1 }), 'weak_signature_algorithm');
  });

  it('refuses an RSA-SHA256 signature over a SHA-1 digest', async () => {
    await expectRejected(signedResponse(await login(), h.keys, { digestAlgorithm: SHA1 }), 'weak_signature_algorithm');
  });

  it('refuses a SHA-1 assertion signature inside an unsigned response when only the assertion must be signed', async () => {
    const o = await login(lenient);
    await expectRejected(
      signAssertion(unsignedResponse(o), lenient.keys, { signatureAlgorithm: RSA_SHA1, digestAlgorithm: SHA1 }),
      'weak_signature_algorithm',
      lenient,
    );
  });

  it("refuses an HMAC-SHA1 signature keyed with the IdP's public certificate (GHSA-c27r-x354-4m68)", async () => {
    const o = { ...(await login()), nameId: FORGED };
    const hmacSign = (xml: string, xpath: string) => {
      const sig = new SignedXml({
        privateKey: h.keys.cert,
        signatureAlgorithm: HMAC_SHA1,
        canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      });
      sig.enableHMAC();
      sig.addReference({
        xpath,
        digestAlgorithm: SHA1,
        transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      });
      sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
      return sig.getSignedXml();
    };
    const response = "/*[local-name(.)='Response']";
    const forged = hmacSign(hmacSign(unsignedResponse(o), `${response}/*[local-name(.)='Assertion']`), response);
    expect(forged).toContain(HMAC_SHA1);
    await expectRejected(forged, 'weak_signature_algorithm');
  });

  it('accepts RSA-SHA512 with SHA-512 digests', async () => {
    const options: SignOptions = { signatureAlgorithm: RSA_SHA512, digestAlgorithm: SHA512 };
    const cookie = await signIn(signedResponse(await login(), h.keys, options));
    expect(await whoAmI(cookie!)).toBe(ALICE);
  });
});

describe('identity is the whole signed value', () => {
  it('reads the whole NameID when a CDATA section splits it', async () => {
    // Canonicalization turns CDATA into text, so the IdP's signature still verifies.
    const o = await login(h, SPLIT);
    const split = signedResponse(o, h.keys).replace(`>${SPLIT}</saml:NameID>`, '>carol@example.com<![CDATA[.evil.test]]></saml:NameID>');
    expect(await whoAmI((await signIn(split))!)).toBe(SPLIT);
  });

  describe('with SAML_LOGIN_ATTRIBUTE', () => {
    const LOGIN_ATTRIBUTE = 'pulumiLogin';
    let byAttribute: Harness;
    beforeAll(async () => {
      byAttribute = await startHarness({ env: { SAML_LOGIN_ATTRIBUTE: LOGIN_ATTRIBUTE } });
      await provisionUser(byAttribute.tdb, SPLIT);
    });
    afterAll(async () => {
      await byAttribute.close();
    });

    it('reads the whole attribute value when a comment splits it', async () => {
      const o = { ...(await login(byAttribute, 'someone-else@example.com')), attributes: { [LOGIN_ATTRIBUTE]: SPLIT } };
      const split = signedResponse(o, byAttribute.keys).replace(`>${SPLIT}</saml:AttributeValue>`, '>carol@example.com<!---->.evil.test</saml:AttributeValue>');
      expect(split).toContain('<!---->');
      const cookie = await signIn(split, byAttribute);
      expect(await whoAmI(cookie!, byAttribute)).toBe(SPLIT);
    });

    it('refuses a login attribute with two values', async () => {
      const o = { ...(await login(byAttribute)), attributes: { [LOGIN_ATTRIBUTE]: SPLIT } };
      const twoValues = wrapInResponse(
        buildAssertionXml(o).replace(`${SPLIT}</saml:AttributeValue>`, `${SPLIT}</saml:AttributeValue><saml:AttributeValue>${FORGED}</saml:AttributeValue>`),
        o,
      );
      await expectRejected(signResponse(signAssertion(twoValues, byAttribute.keys), byAttribute.keys), 'missing_login', byAttribute);
    });
  });
});

describe('freshness', () => {
  it('refuses an assertion issued longer ago than the maximum age, whatever NotOnOrAfter says', async () => {
    const o = await login();
    const issued = new Date(Date.now() - 11 * 60_000);
    const later = new Date(Date.now() + 60 * 60_000);
    await expectRejected(signedResponse({ ...o, issueInstant: issued, notBefore: issued, notOnOrAfter: later }, h.keys), 'subject_confirmation_expired');
  });

  it('accepts a NotBefore within the clock skew (30 s) and refuses one beyond it', async () => {
    const soon = await login();
    expect(await whoAmI((await signIn(signedResponse({ ...soon, notBefore: new Date(Date.now() + 10_000) }, h.keys)))!)).toBe(ALICE);
    const tooSoon = await login();
    await expectRejected(signedResponse({ ...tooSoon, notBefore: new Date(Date.now() + 60_000) }, h.keys), 'assertion_not_yet_valid');
  });

  it('refuses a subject confirmation that expired beyond the clock skew while the conditions are still open', async () => {
    const o = await login();
    await expectRejected(signedResponse({ ...o, subjectNotOnOrAfter: new Date(Date.now() - 60_000) }, h.keys), 'subject_confirmation_expired');
  });
});

describe('addressing and InResponseTo', () => {
  it('refuses a response without Destination', async () => {
    await expectRejected(signedResponse({ ...(await login()), destination: null }, h.keys), 'destination_mismatch');
  });

  it('refuses an assertion without AudienceRestriction', async () => {
    const o = await login();
    const xml = unsignedResponse(o).replace(/<saml:AudienceRestriction>[\s\S]*?<\/saml:AudienceRestriction>/, '');
    await expectRejected(signResponse(signAssertion(xml, h.keys), h.keys), 'audience_mismatch');
  });

  it("refuses a subject confirmation answering another request than the response's InResponseTo", async () => {
    const o = await login();
    const other = await h.startLogin();
    const requestId = o.inResponseTo!;
    const xml = unsignedResponse(o).replace(
      `<saml:SubjectConfirmationData InResponseTo="${requestId}"`,
      `<saml:SubjectConfirmationData InResponseTo="${other}"`,
    );
    expect(xml).toContain(other);
    await expectRejected(signResponse(signAssertion(xml, h.keys), h.keys), 'in_response_to_mismatch');
  });

  it('keeps an AuthnRequest ID in Redis for ten minutes at most', async () => {
    const requestId = await h.startLogin();
    const ttl = await h.redis.pttl(`${h.keyPrefix}saml:request:${requestId}`);
    expect(ttl).toBeGreaterThan(REQUEST_ID_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(REQUEST_ID_TTL_MS);
  });

  it('refuses a response to a request issued longer ago than the request lifetime', async () => {
    const o = await login();
    const key = `${h.keyPrefix}saml:request:${o.inResponseTo!}`;
    await h.redis.set(key, new Date(Date.now() - REQUEST_ID_TTL_MS - 60_000).toISOString(), 'KEEPTTL');
    await expectRejected(signedResponse(o, h.keys), 'in_response_to_unknown');
  });

  it('spends a request ID on a refused response, so the request cannot be retried with another', async () => {
    const o = await login();
    await expectRejected(signedResponse({ ...o, audience: 'https://other-sp.example/' }, h.keys), 'audience_mismatch');
    await expectRejected(signedResponse(o, h.keys), 'in_response_to_unknown');
  });
});

describe('single logout and the redirect binding are not offered', () => {
  // passport-saml handles a SAMLRequest / SAMLResponse in the query string on any route it
  // authenticates, and node-saml accepts such redirect-binding messages without a Signature.
  const deflated = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));
  const PROTOCOL = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';
  const forgedLogoutRequest = () => {
    const now = new Date();
    return deflated(
      `<samlp:LogoutRequest ${PROTOCOL} ID="${newId()}" Version="2.0" IssueInstant="${now.toISOString()}" NotOnOrAfter="${new Date(now.getTime() + 300_000).toISOString()}">` +
        `<saml:Issuer>${IDP_ISSUER}</saml:Issuer><saml:NameID>${ALICE}</saml:NameID><samlp:SessionIndex>${newId()}</samlp:SessionIndex></samlp:LogoutRequest>`,
    );
  };
  const forgedLogoutResponse = () =>
    deflated(
      `<samlp:LogoutResponse ${PROTOCOL} ID="${newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${IDP_ISSUER}</saml:Issuer>` +
        `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`,
    );

  it("refuses an unsigned LogoutRequest in a sign-in link, and the victim's session survives it", async () => {
    const cookie = await h.signInAs(ALICE);
    const before = rejectionsOf(h).length;
    const res = await fetch(`${h.url}/auth/saml/login?SAMLRequest=${forgedLogoutRequest()}`, { headers: { cookie }, redirect: 'manual' });
    expect({ status: res.status, location: res.headers.get('location'), reason: reasonOf(await res.text()) }).toEqual({
      status: 400,
      location: null,
      reason: 'unsupported_message',
    });
    expect(rejectionsOf(h).slice(before)).toEqual(['unsupported_message']);
    expect(await whoAmI(cookie)).toBe(ALICE);
  });

  it('answers a sign-in link carrying an unsigned LogoutResponse instead of leaving it hanging', async () => {
    const res = await fetch(`${h.url}/auth/saml/login?SAMLResponse=${forgedLogoutResponse()}`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    expect({ status: res.status, reason: reasonOf(await res.text()) }).toEqual({ status: 400, reason: 'unsupported_message' });
  });

  it('refuses a LogoutRequest in the query string of an ACS post, whatever the body carries', async () => {
    const o = await login();
    const before = rejectionsOf(h).length;
    const res = await fetch(`${h.acsUrl}?SAMLRequest=${forgedLogoutRequest()}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: encodeResponse(signedResponse(o, h.keys)) }).toString(),
    });
    expect({ status: res.status, reason: reasonOf(await res.text()) }).toEqual({ status: 400, reason: 'unsupported_message' });
    expect(rejectionsOf(h).slice(before)).toEqual(['unsupported_message']);
  });
});

/** The Redis key of the session a `pis.sid` cookie names (express-session signs it as s:<id>.<mac>). */
function sessionKeyOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return `${h.keyPrefix}sess:${value.slice(2, value.lastIndexOf('.'))}`;
}

async function post(path: string, cookie: string, fields: Record<string, string>): Promise<{ status: number; text: string; cookie: string | null }> {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, text: await res.text(), cookie: res.headers.get('set-cookie') };
}

async function csrfOf(cookie: string, path = '/console/'): Promise<string> {
  const page = await (await fetch(`${h.url}${path}`, { headers: { cookie }, redirect: 'manual' })).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!token) throw new Error(`no CSRF field on ${path}`);
  return token;
}

describe('sessions', () => {
  it('gives a new session ID at sign-in: the cookie from before sign-in (which an attacker could plant) stays signed out', async () => {
    const start = await fetch(`${h.url}/auth/saml/login`, { redirect: 'manual' });
    const before = start.headers.get('set-cookie')!.split(';')[0]!;
    const location = new URL(start.headers.get('location')!);
    const o = h.responseOptions(requestIdFromRedirect(location.href), ALICE);
    const acs = await h.postAcs(encodeResponse(signedResponse(o, h.keys)), { RelayState: location.searchParams.get('RelayState')! });
    const done = await h.complete(acs, before);
    expect(done.location).toBe('/console/');
    const after = done.cookie!;
    expect(after).not.toBe(before);
    expect(await h.redis.exists(sessionKeyOf(before))).toBe(0);
    expect(await h.redis.exists(sessionKeyOf(after))).toBe(1);
    expect(await whoAmI(before)).toBeUndefined();
    expect(await whoAmI(after)).toBe(ALICE);
  });

  it('ends the session in Redis and clears the cookie at sign-out; a GET cannot sign out', async () => {
    const cookie = await h.signInAs(ALICE);
    expect((await fetch(`${h.url}/auth/logout`, { headers: { cookie }, redirect: 'manual' })).status).toBe(404);
    expect(await whoAmI(cookie)).toBe(ALICE);
    const out = await post('/auth/logout', cookie, { _csrf: await csrfOf(cookie) });
    expect(out.status).toBe(303);
    expect(out.cookie).toMatch(/^pis\.sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
    expect(await h.redis.exists(sessionKeyOf(cookie))).toBe(0);
    expect(await whoAmI(cookie)).toBeUndefined();
  });

  it("refuses another session's valid CSRF token, on sign-out and on the admin forms", async () => {
    await provisionUser(h.tdb, 'admin-one@example.com', { groups: [ADMIN_GROUP] });
    const [admin, other] = await Promise.all([h.signInAs('admin-one@example.com'), h.signInAs(ALICE)]);
    const othersToken = await csrfOf(other);
    expect((await post('/auth/logout', admin, { _csrf: othersToken })).status).toBe(403);
    expect((await post('/console/admin/scim-clients', admin, { _csrf: othersToken, name: 'planted-client' })).status).toBe(403);
    expect((await post('/console/admin/scim-clients', admin, { name: 'planted-client' })).status).toBe(403);
    const listing = await (await fetch(`${h.url}/console/admin/scim-clients`, { headers: { cookie: admin } })).text();
    expect(listing).not.toContain('planted-client');
    expect((await post('/console/admin/scim-clients', admin, { _csrf: await csrfOf(admin), name: 'real-client' })).status).toBe(201);
  });
});

describe('logs', () => {
  it('never contain a NameID, an attribute value or a SAMLResponse, whatever was refused', async () => {
    // An IdP error response whose StatusMessage names the person, as some IdPs write it.
    const o = await login();
    const failed = unsignedResponse(o)
      .replace(
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>',
        `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/><samlp:StatusMessage>user ${FORGED} is not assigned to this application</samlp:StatusMessage>`,
      )
      .replace(/<saml:Assertion [\s\S]*<\/saml:Assertion>/, '');
    expect(failed).not.toContain('<saml:Assertion');
    await expectRejected(signResponse(failed, h.keys), 'idp_reported_error');
    // Unparseable XML around a NameID.
    const broken = unsignedResponse(await login(h, FORGED)).replace(`>${FORGED}</saml:NameID>`, ` broken="${FORGED}>${FORGED}</saml:NameID>`);
    await expectRejected(broken, 'malformed_response');
    const text = [h, lenient].map((on) => JSON.stringify(on.logs())).join('\n');
    for (const secret of [ALICE, FORGED, SPLIT, 'carol@example.com', 'PHNhbWxw']) expect(text).not.toContain(secret);
  });
});
