import {
  createIdpKeys,
  type IdpKeys,
  buildAssertionXml,
  encodeResponse,
  MANY_TRANSFORMS,
  newId,
  signAssertion,
  signedResponse,
  signResponse,
  wrapInResponse,
  type ResponseOptions,
} from './test-idp';
import { samlSignIns } from '../../src/metrics';
import { type Harness, provisionUser, reasonOf, startHarness } from './harness';

/**
 * SAML sign-in against real signed responses (docs/robustness.md, "Attack list the tests cover"): each attack is a
 * mutation of what the test IdP signs, and each must be refused with its own logged reason.
 */

const ALICE = 'alice@example.com';

let h: Harness;
let attacker: IdpKeys;

beforeAll(async () => {
  [h, attacker] = await Promise.all([startHarness(), createIdpKeys('attacker')]);
  await provisionUser(h.tdb, ALICE);
});
afterAll(async () => {
  await h.close();
});

/** A fresh login: the request ID the SP issued and response options answering it. */
async function login(nameId = ALICE): Promise<{ requestId: string; o: ResponseOptions }> {
  const requestId = await h.startLogin();
  return { requestId, o: h.responseOptions(requestId, nameId) };
}

function rejectionsLogged(): string[] {
  return h
    .logs()
    .filter((l) => l.message === 'saml response rejected')
    .map((l) => String(l.reason));
}

const refusalsCounted = async (reason: string) =>
  (await samlSignIns.get()).values.find((v) => v.labels.outcome === 'refused' && v.labels.reason === reason)?.value ?? 0;

async function expectRejected(xml: string, reason: string): Promise<void> {
  const before = rejectionsLogged().length;
  const countedBefore = await refusalsCounted(reason);
  const res = await h.postAcs(encodeResponse(xml));
  expect({ status: res.status, reason: reasonOf(res.text), cookie: res.cookie }).toEqual({
    status: expect.any(Number),
    reason,
    cookie: undefined,
  });
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(rejectionsLogged().slice(before)).toEqual([reason]);
  expect(await refusalsCounted(reason)).toBe(countedBefore + 1);
}

async function whoAmI(cookie: string): Promise<string | undefined> {
  const res = await fetch(`${h.url}/console/`, { headers: { cookie }, redirect: 'manual' });
  return /<strong id="me">([^<]*)<\/strong>/.exec(await res.text())?.[1];
}

describe('a valid sign-in', () => {
  it('accepts a signed response with a signed assertion and signs in the person its NameID names', async () => {
    const successes = async () => (await samlSignIns.get()).values.find((v) => v.labels.outcome === 'success')?.value ?? 0;
    const before = await successes();
    const { o } = await login();
    const acs = await h.postAcs(encodeResponse(signedResponse(o, h.keys)));
    expect(acs.status).toBe(303);
    expect(acs.location).toMatch(/^\/auth\/saml\/complete\?ticket=/);
    expect(acs.cookie).toBeUndefined();
    const done = await h.complete(acs);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/console/');
    expect(done.cookie).toMatch(/^pis\.sid=/);
    expect(await whoAmI(done.cookie!)).toBe(ALICE);
    expect(await successes()).toBe(before + 1);
  });

  it('matches the NameID to the SCIM userName case-insensitively', async () => {
    const { o } = await login('ALICE@Example.COM');
    const done = await h.complete(await h.postAcs(encodeResponse(signedResponse(o, h.keys))));
    expect(await whoAmI(done.cookie!)).toBe(ALICE);
  });

  it('publishes SP metadata naming our entity ID and ACS URL', async () => {
    const res = await fetch(`${h.url}/auth/saml/metadata`);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain(`entityID="${h.spEntityId}"`);
    expect(xml).toContain(`Location="${h.acsUrl}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
  });
});

describe('signature wrapping (XSW)', () => {
  const evilAssertion = (o: ResponseOptions) => buildAssertionXml({ ...o, nameId: 'admin@example.com', assertionId: newId() });

  it('refuses an extra unsigned assertion before the signed one', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    await expectRejected(signed.replace('<saml:Assertion ', `${evilAssertion(o)}<saml:Assertion `), 'response_signature_invalid');
  });

  it('refuses an extra unsigned assertion after the signed one', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    await expectRejected(signed.replace('</samlp:Response>', `${evilAssertion(o)}</samlp:Response>`), 'response_signature_invalid');
  });

  it('refuses the signed Response wrapped inside an attacker Response', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    const evil = wrapInResponse(evilAssertion(o), o).replace('</samlp:Status>', `</samlp:Status><samlp:Extensions>${signed}</samlp:Extensions>`);
    await expectRejected(evil, 'response_signature_invalid');
  });
});

describe('signature wrapping when only the assertion must be signed (SAML_ALLOW_UNSIGNED_RESPONSE)', () => {
  let lenient: Harness;
  beforeAll(async () => {
    lenient = await startHarness({ env: { SAML_ALLOW_UNSIGNED_RESPONSE: 'true' } });
    await provisionUser(lenient.tdb, ALICE);
  });
  afterAll(async () => {
    await lenient.close();
  });

  async function lenientLogin(): Promise<ResponseOptions> {
    return lenient.responseOptions(await lenient.startLogin(), ALICE);
  }
  async function lenientRejects(xml: string, reason: string): Promise<void> {
    const res = await lenient.postAcs(encodeResponse(xml));
    expect({ status: res.status >= 400, reason: reasonOf(res.text), cookie: res.cookie }).toEqual({ status: true, reason, cookie: undefined });
    expect(
      lenient
        .logs()
        .filter((l) => l.message === 'saml response rejected')
        .map((l) => l.reason)
        .at(-1),
    ).toBe(reason);
  }
  const evil = (o: ResponseOptions) => buildAssertionXml({ ...o, nameId: 'admin@example.com', assertionId: newId() });

  it('accepts an unsigned response carrying a signed assertion', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    const done = await lenient.complete(await lenient.postAcs(encodeResponse(xml)));
    expect(done.location).toBe('/console/');
  });

  it('still refuses an unsigned assertion inside a signed response', async () => {
    const o = await lenientLogin();
    const xml = signResponse(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    await lenientRejects(xml, 'assertion_signature_invalid');
  });

  it('refuses an altered assertion whose DigestValue carries the forged digest in a leading comment (SAMLStorm)', async () => {
    const o = await lenientLogin();
    const unsigned = wrapInResponse(buildAssertionXml(o), o);
    const altered = (xml: string) => xml.replace(`>${ALICE}</saml:NameID>`, '>admin@example.com</saml:NameID>');
    const digestOf = (xml: string) => /<ds:DigestValue>([^<]+)<\/ds:DigestValue>/.exec(xml)![1]!;
    const idpSigned = signAssertion(unsigned, lenient.keys);
    // The digest a verifier computes over the altered assertion (signature removed by the
    // enveloped transform), obtained by signing the altered text with any key.
    const forgedDigest = digestOf(signAssertion(altered(unsigned), attacker));
    const original = digestOf(idpSigned);
    expect(forgedDigest).not.toBe(original);
    const attack = altered(idpSigned).replace(`<ds:DigestValue>${original}`, `<ds:DigestValue><!--${forgedDigest}-->${original}`);
    await lenientRejects(attack, 'assertion_signature_invalid');
  });

  it('refuses an extra unsigned assertion before the signed one', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    await lenientRejects(xml.replace('<saml:Assertion ', `${evil(o)}<saml:Assertion `), 'multiple_assertions');
  });

  it('refuses an extra unsigned assertion after the signed one', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    await lenientRejects(xml.replace('</samlp:Response>', `${evil(o)}</samlp:Response>`), 'multiple_assertions');
  });

  it('refuses the signed assertion nested inside an unsigned attacker assertion', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    const signedAssertion = xml.slice(xml.indexOf('<saml:Assertion '), xml.indexOf('</samlp:Response>'));
    const outer = evil(o).replace('</saml:Subject>', `</saml:Subject>${signedAssertion}`);
    await lenientRejects(xml.replace(signedAssertion, outer), 'assertion_signature_invalid');
  });

  it('refuses the signed assertion moved into the Advice of an attacker assertion', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    const signedAssertion = xml.slice(xml.indexOf('<saml:Assertion '), xml.indexOf('</samlp:Response>'));
    const outer = evil(o).replace('</saml:Conditions>', `</saml:Conditions><saml:Advice>${signedAssertion}</saml:Advice>`);
    await lenientRejects(xml.replace(signedAssertion, outer), 'assertion_signature_invalid');
  });

  it('refuses the signed assertion moved into the response Extensions beside an attacker assertion', async () => {
    const o = await lenientLogin();
    const xml = signAssertion(wrapInResponse(buildAssertionXml(o), o), lenient.keys);
    const signedAssertion = xml.slice(xml.indexOf('<saml:Assertion '), xml.indexOf('</samlp:Response>'));
    const moved = xml.replace(signedAssertion, evil(o)).replace('</samlp:Status>', `</samlp:Status><samlp:Extensions>${signedAssertion}</samlp:Extensions>`);
    await lenientRejects(moved, 'assertion_signature_invalid');
  });
});

describe('comments and signature structure', () => {
  it('reads the whole NameID when a comment splits it, never the part before the comment', async () => {
    // Duo's 2018 class: the IdP signs "alice@example.com.evil.test"; a comment inserted after
    // signing leaves the digest valid (exclusive c14n drops comments).
    await provisionUser(h.tdb, 'alice@example.com.evil.test');
    const { o } = await login('alice@example.com.evil.test');
    const signed = signedResponse(o, h.keys).replace('alice@example.com.evil.test</saml:NameID>', 'alice@example.com<!---->.evil.test</saml:NameID>');
    const done = await h.complete(await h.postAcs(encodeResponse(signed)));
    expect(await whoAmI(done.cookie!)).toBe('alice@example.com.evil.test');
  });

  it('refuses two SignedInfo elements in one signature', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    const signedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(signed)![0];
    await expectRejected(signed.replace(signedInfo, signedInfo + signedInfo), 'signature_structure_invalid');
  });

  it('refuses a SignedInfo wrapped in another element', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    const signedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(signed)![0];
    await expectRejected(signed.replace(signedInfo, `<ds:Object>${signedInfo}</ds:Object>`), 'signature_structure_invalid');
  });

  it('refuses a document with multiple root elements', async () => {
    const { o } = await login();
    const signed = signedResponse(o, h.keys);
    const res = await h.postAcs(encodeResponse(signed + wrapInResponse(buildAssertionXml({ ...o, nameId: 'admin@example.com' }), o)));
    expect(res.status).toBe(400);
    expect(res.cookie).toBeUndefined();
    expect(reasonOf(res.text)).toBe('malformed_response');
  });

  it('refuses a signature with more than two transforms', async () => {
    const { o } = await login();
    const xml = signResponse(signAssertion(wrapInResponse(buildAssertionXml(o), o), h.keys, { transforms: MANY_TRANSFORMS }), h.keys, {
      transforms: MANY_TRANSFORMS,
    });
    await expectRejected(xml, 'signature_structure_invalid');
  });
});

describe('keys and signing requirements', () => {
  it("refuses a response re-signed with the attacker's key, the attacker's certificate in KeyInfo", async () => {
    const { o } = await login('admin@example.com');
    await expectRejected(signedResponse(o, attacker), 'response_signature_invalid');
  });

  it('refuses an unsigned response carrying a signed assertion while response signing is required', async () => {
    const { o } = await login();
    await expectRejected(signAssertion(wrapInResponse(buildAssertionXml(o), o), h.keys), 'response_signature_invalid');
  });

  it('refuses a signed response whose assertion is unsigned', async () => {
    const { o } = await login();
    await expectRejected(signResponse(wrapInResponse(buildAssertionXml(o), o), h.keys), 'assertion_signature_invalid');
  });

  it('accepts either certificate while the IdP rotates keys', async () => {
    const next = await createIdpKeys('next');
    const rotating = await startHarness({ env: { SAML_IDP_CERT: `${h.keys.cert}\n${next.cert}`.replace(/\n/g, '\\n') } });
    try {
      await provisionUser(rotating.tdb, ALICE);
      for (const keys of [h.keys, next]) {
        const o = rotating.responseOptions(await rotating.startLogin(), ALICE);
        const done = await rotating.complete(await rotating.postAcs(encodeResponse(signedResponse(o, keys))));
        expect(done.location).toBe('/console/');
      }
    } finally {
      await rotating.close();
    }
  });
});

describe('conditions, addressing and freshness', () => {
  it('refuses a wrong Audience', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, audience: 'https://other-sp.example/' }, h.keys), 'audience_mismatch');
  });

  it('refuses a wrong Recipient', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, recipient: 'https://other-sp.example/acs' }, h.keys), 'recipient_mismatch');
  });

  it('refuses a wrong Destination', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, destination: 'https://other-sp.example/acs' }, h.keys), 'destination_mismatch');
  });

  it('refuses a wrong Issuer', async () => {
    const { o } = await login();
    const other = { ...o, responseIssuer: 'https://other-idp.example/', assertionIssuer: 'https://other-idp.example/' };
    await expectRejected(signedResponse(other, h.keys), 'issuer_mismatch');
  });

  it('refuses an expired assertion', async () => {
    const { o } = await login();
    const past = new Date(Date.now() - 60 * 60_000);
    await expectRejected(
      signedResponse({ ...o, issueInstant: past, notBefore: past, notOnOrAfter: new Date(past.getTime() + 5 * 60_000) }, h.keys),
      'subject_confirmation_expired',
    );
  });

  it('refuses an assertion whose Conditions expired even when the subject confirmation is still open', async () => {
    const { o } = await login();
    const past = new Date(Date.now() - 60 * 60_000);
    await expectRejected(
      signedResponse(
        { ...o, notBefore: past, notOnOrAfter: new Date(past.getTime() + 5 * 60_000), subjectNotOnOrAfter: new Date(Date.now() + 5 * 60_000) },
        h.keys,
      ),
      'assertion_expired',
    );
  });

  it('refuses an assertion that is not yet valid (beyond the clock skew)', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, notBefore: new Date(Date.now() + 10 * 60_000) }, h.keys), 'assertion_not_yet_valid');
  });

  it('refuses a replayed response: its request ID was consumed by the first sign-in', async () => {
    const { o } = await login();
    const xml = signedResponse(o, h.keys);
    expect((await h.postAcs(encodeResponse(xml))).status).toBe(303);
    await expectRejected(xml, 'in_response_to_unknown');
  });

  it('refuses a replayed assertion even when its request ID is still cached (two posts racing)', async () => {
    const { requestId, o } = await login();
    const xml = signedResponse(o, h.keys);
    expect((await h.postAcs(encodeResponse(xml))).status).toBe(303);
    // The racing post passed the InResponseTo lookup before the first removed the ID.
    await h.redis.set(`${h.keyPrefix}saml:request:${requestId}`, new Date().toISOString(), 'PX', 60_000);
    await expectRejected(xml, 'assertion_replayed');
  });

  it('refuses an unknown InResponseTo', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, inResponseTo: newId() }, h.keys), 'in_response_to_unknown');
  });

  it('refuses an unsolicited (IdP-initiated) response without InResponseTo', async () => {
    const { o } = await login();
    await expectRejected(signedResponse({ ...o, inResponseTo: null }, h.keys), 'in_response_to_missing');
  });
});

describe('refused before any signature work', () => {
  it('refuses a DOCTYPE with entity expansion and leaves the request ID untouched', async () => {
    const { requestId, o } = await login();
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' +
      signedResponse(o, h.keys).replace(`>${ALICE}<`, '>&b;<');
    await expectRejected(bomb, 'doctype_forbidden');
    // node-saml removes the request ID on any failure it sees; it never saw this one.
    expect(await h.redis.get(`${h.keyPrefix}saml:request:${requestId}`)).not.toBeNull();
  });

  it('refuses an oversized body with 413 and leaves the request ID untouched', async () => {
    const { requestId, o } = await login();
    const padded = signedResponse(o, h.keys).replace('</samlp:Response>', `<!--${'x'.repeat(400 * 1024)}--></samlp:Response>`);
    const before = rejectionsLogged().length;
    const res = await h.postAcs(encodeResponse(padded));
    expect(res.status).toBe(413);
    expect(reasonOf(res.text)).toBe('body_too_large');
    expect(rejectionsLogged().slice(before)).toEqual(['body_too_large']);
    expect(await h.redis.get(`${h.keyPrefix}saml:request:${requestId}`)).not.toBeNull();
  });

  it('refuses a POST without SAMLResponse', async () => {
    const before = rejectionsLogged().length;
    const res = await h.postAcs('', {});
    expect(reasonOf(res.text)).toBe('missing_saml_response');
    expect(rejectionsLogged().slice(before)).toEqual(['missing_saml_response']);
  });
});

describe('the sign-in belongs to the browser that started it (login CSRF)', () => {
  it("refuses an attacker's own valid response posted through a victim's browser", async () => {
    await provisionUser(h.tdb, 'mallory@example.com');
    // The attacker starts a sign-in in their browser and gets a response for their account.
    const attackerRequest = await h.startLogin();
    const attackerResponse = encodeResponse(signedResponse(h.responseOptions(attackerRequest, 'mallory@example.com'), h.keys));
    // The victim has a session of their own (started a sign-in earlier, say).
    await h.startLogin();
    const acs = await h.postAcs(attackerResponse, { RelayState: 'guessed-relay-state' });
    expect(acs.status).toBe(303);
    const before = h.logs().length;
    const done = await h.complete(acs);
    expect({ status: done.status, reason: reasonOf(done.text), cookie: done.cookie }).toEqual({
      status: 403,
      reason: 'relay_state_mismatch',
      cookie: undefined,
    });
    expect(
      h
        .logs()
        .slice(before)
        .map((l) => l.reason),
    ).toEqual(['relay_state_mismatch']);
  });

  it('refuses a completion from a browser with no sign-in in progress', async () => {
    const { o } = await login();
    const acs = await h.postAcs(encodeResponse(signedResponse(o, h.keys)));
    const done = await h.complete(acs, '');
    expect(reasonOf(done.text)).toBe('relay_state_mismatch');
  });

  it('uses each completion ticket once', async () => {
    const { o } = await login();
    const acs = await h.postAcs(encodeResponse(signedResponse(o, h.keys)));
    expect((await h.complete(acs)).status).toBe(303);
    const again = await h.complete(acs);
    expect({ status: again.status, reason: reasonOf(again.text) }).toEqual({ status: 403, reason: 'login_ticket_invalid' });
  });
});

describe('people', () => {
  it('refuses a person the IdP signs in but SCIM never provisioned, with a clear page', async () => {
    const { o } = await login('stranger@example.com');
    const res = await h.postAcs(encodeResponse(signedResponse(o, h.keys)));
    expect(res.status).toBe(403);
    expect(reasonOf(res.text)).toBe('user_not_provisioned');
    expect(res.text).toContain('has not been provisioned');
    expect(res.cookie).toBeUndefined();
  });

  it('refuses a deactivated person', async () => {
    await provisionUser(h.tdb, 'gone@example.com', { active: false });
    const { o } = await login('gone@example.com');
    const res = await h.postAcs(encodeResponse(signedResponse(o, h.keys)));
    expect(res.status).toBe(403);
    expect(reasonOf(res.text)).toBe('user_inactive');
  });

  it('ends a session at the next request once the person is deactivated', async () => {
    const id = await provisionUser(h.tdb, 'leaver@example.com');
    const cookie = await h.signInAs('leaver@example.com');
    expect(await whoAmI(cookie)).toBe('leaver@example.com');
    await h.tdb.db('users').where({ id }).update({ active: false });
    const after = await fetch(`${h.url}/console/`, { headers: { cookie }, redirect: 'manual' });
    expect(after.status).toBe(403);
    expect(reasonOf(await after.text())).toBe('user_inactive');
  });

  it('never writes the NameID or the SAMLResponse to the log', async () => {
    const text = JSON.stringify(h.logs());
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain('stranger@example.com');
    expect(text).not.toContain('PHNhbWxw'); // base64 of "<samlp"
  });
});
