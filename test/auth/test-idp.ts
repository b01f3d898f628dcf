import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

/**
 * A test identity provider: a key and self-signed certificate minted at test time, a SAML
 * Response builder shaped like Okta's / Entra's, and xml-crypto signing of the assertion and
 * the response. Attack tests mutate its output.
 */

export interface IdpKeys {
  privateKey: string;
  cert: string;
}

export async function createIdpKeys(commonName = 'test-idp'): Promise<IdpKeys> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
  });
  return { privateKey: pems.private, cert: pems.cert };
}

export interface ResponseOptions {
  acsUrl: string;
  spEntityId: string;
  idpIssuer: string;
  /** AuthnRequest ID answered; null leaves InResponseTo out. */
  inResponseTo: string | null;
  nameId: string;
  /** The NameID's Format; null leaves it out. @defaultValue emailAddress, what Okta and Entra send unless told otherwise */
  nameIdFormat?: string | null;
  attributes?: Record<string, string>;
  audience?: string;
  recipient?: string;
  /** null leaves Destination out. */
  destination?: string | null;
  responseIssuer?: string;
  assertionIssuer?: string;
  issueInstant?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  subjectNotOnOrAfter?: Date;
  assertionId?: string;
}

export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const EMAIL_NAMEID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const PERSISTENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const TRANSIENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function newId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

export function buildAssertionXml(o: ResponseOptions): string {
  const now = o.issueInstant ?? new Date();
  const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
  const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const subjectNotOnOrAfter = o.subjectNotOnOrAfter ?? notOnOrAfter;
  const inResponseTo = o.inResponseTo === null ? '' : ` InResponseTo="${esc(o.inResponseTo)}"`;
  const attributes = Object.entries(o.attributes ?? {})
    .map(([name, value]) => `<saml:Attribute Name="${esc(name)}"><saml:AttributeValue>${esc(value)}</saml:AttributeValue></saml:Attribute>`)
    .join('');
  const format = o.nameIdFormat === null ? '' : ` Format="${esc(o.nameIdFormat ?? EMAIL_NAMEID)}"`;
  return (
    `<saml:Assertion xmlns:saml="${SAML_NS}" ID="${o.assertionId ?? newId()}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${esc(o.assertionIssuer ?? o.idpIssuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID${format}>${esc(o.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData${inResponseTo} NotOnOrAfter="${subjectNotOnOrAfter.toISOString()}" Recipient="${esc(o.recipient ?? o.acsUrl)}"/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}">` +
    `<saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? o.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${newId()}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>` +
    `</saml:AuthnContext></saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    `</saml:Assertion>`
  );
}

/** Wraps an assertion (already signed or not) in a Response. */
export function wrapInResponse(assertionXml: string, o: ResponseOptions): string {
  const now = o.issueInstant ?? new Date();
  const inResponseTo = o.inResponseTo === null ? '' : ` InResponseTo="${esc(o.inResponseTo)}"`;
  const destination = o.destination === null ? '' : ` Destination="${esc(o.destination ?? o.acsUrl)}"`;
  return (
    `<samlp:Response xmlns:samlp="${SAMLP_NS}" ID="${newId()}" Version="2.0" IssueInstant="${now.toISOString()}"${destination}${inResponseTo}>` +
    `<saml:Issuer xmlns:saml="${SAML_NS}">${esc(o.responseIssuer ?? o.idpIssuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertionXml +
    `</samlp:Response>`
  );
}

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export interface SignOptions {
  /** Put the signer's certificate in KeyInfo (IdPs do; an attacker does with their own). */
  keyInfo?: boolean;
  transforms?: string[];
  /** SignatureMethod URI. @defaultValue RSA-SHA256 */
  signatureAlgorithm?: string;
  /** DigestMethod URI. @defaultValue SHA-256 */
  digestAlgorithm?: string;
}

function sign(xml: string, keys: IdpKeys, elementXpath: string, options: SignOptions): string {
  const sig = new SignedXml({
    privateKey: keys.privateKey,
    publicCert: options.keyInfo === false ? undefined : keys.cert,
    signatureAlgorithm: options.signatureAlgorithm ?? RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  sig.addReference({ xpath: elementXpath, digestAlgorithm: options.digestAlgorithm ?? SHA256, transforms: options.transforms ?? [ENVELOPED, EXC_C14N] });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${elementXpath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/** Signs the one top-level Assertion of a Response document. */
export function signAssertion(responseXml: string, keys: IdpKeys, options: SignOptions = {}): string {
  return sign(responseXml, keys, "/*[local-name(.)='Response']/*[local-name(.)='Assertion']", options);
}

export function signResponse(responseXml: string, keys: IdpKeys, options: SignOptions = {}): string {
  return sign(responseXml, keys, "/*[local-name(.)='Response']", options);
}

export const MANY_TRANSFORMS = [ENVELOPED, EXC_C14N, EXC_C14N];

/** What Okta and Entra (when set to sign both) send: a signed assertion inside a signed response. */
export function signedResponse(o: ResponseOptions, keys: IdpKeys, options: SignOptions = {}): string {
  return signResponse(signAssertion(wrapInResponse(buildAssertionXml(o), o), keys, options), keys, options);
}

export function encodeResponse(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** The AuthnRequest ID inside a HTTP-Redirect binding URL. */
export function requestIdFromRedirect(location: string): string {
  const samlRequest = new URL(location).searchParams.get('SAMLRequest');
  if (!samlRequest) throw new Error(`no SAMLRequest in ${location}`);
  const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const id = /\bID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('AuthnRequest without ID');
  return id;
}
