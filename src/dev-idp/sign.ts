import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

/**
 * The signing half of the development IdP: a key and self-signed certificate minted at start-up
 * (never stored), and a SAML Response shaped like Okta's, with the assertion and the response each
 * signed RSA-SHA256 (docs/console.md, "Development sign-in").
 */

export interface SigningKeys {
  privateKey: string;
  cert: string;
}

export async function createSigningKeys(commonName: string): Promise<SigningKeys> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600_000),
  });
  return { privateKey: pems.private, cert: pems.cert };
}

export interface ResponseFields {
  issuer: string;
  audience: string;
  acsUrl: string;
  inResponseTo: string;
  /** A persistent NameID: the person's SCIM userName (SAML_NAMEID_MATCH=userName). */
  nameId: string;
}

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const PERSISTENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
/** How long the SP may accept the response: a person clicks within this. */
const VALID_MS = 5 * 60_000;

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const newId = () => `_${randomBytes(16).toString('hex')}`;

function assertionXml(f: ResponseFields, now: Date): string {
  const notBefore = new Date(now.getTime() - 60_000).toISOString();
  const notOnOrAfter = new Date(now.getTime() + VALID_MS).toISOString();
  return (
    `<saml:Assertion xmlns:saml="${SAML_NS}" ID="${newId()}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${xmlEscape(f.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${PERSISTENT_NAMEID}">${xmlEscape(f.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData InResponseTo="${xmlEscape(f.inResponseTo)}" NotOnOrAfter="${notOnOrAfter}" Recipient="${xmlEscape(f.acsUrl)}"/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${xmlEscape(f.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${newId()}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef>` +
    `</saml:AuthnContext></saml:AuthnStatement></saml:Assertion>`
  );
}

function sign(xml: string, keys: SigningKeys, elementXpath: string): string {
  const sig = new SignedXml({ privateKey: keys.privateKey, publicCert: keys.cert, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  sig.addReference({ xpath: elementXpath, digestAlgorithm: SHA256, transforms: [ENVELOPED, EXC_C14N] });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${elementXpath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/** A signed assertion inside a signed response, base64 as the HTTP-POST binding carries it. */
export function signedResponse(f: ResponseFields, keys: SigningKeys, now = new Date()): string {
  const response =
    `<samlp:Response xmlns:samlp="${SAMLP_NS}" ID="${newId()}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${xmlEscape(f.acsUrl)}" InResponseTo="${xmlEscape(f.inResponseTo)}">` +
    `<saml:Issuer xmlns:saml="${SAML_NS}">${xmlEscape(f.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertionXml(f, now) +
    `</samlp:Response>`;
  const assertionSigned = sign(response, keys, "/*[local-name(.)='Response']/*[local-name(.)='Assertion']");
  return Buffer.from(sign(assertionSigned, keys, "/*[local-name(.)='Response']"), 'utf8').toString('base64');
}
