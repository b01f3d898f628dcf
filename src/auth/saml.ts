import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import passport from 'passport';
import { DOMParser } from '@xmldom/xmldom';
import { type Profile, Strategy, ValidateInResponseTo, type VerifiedCallback } from '@node-saml/passport-saml';
import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import { AssertionReplayCache, RedisRequestIdCache } from './redis-caches';
import type { SamlSettings } from './settings';
import { type LoginSubject, subjectOf } from './subject';

/**
 * SAML 2.0 Web SSO for people, on `@node-saml/passport-saml` (node-saml ≥ 5.1.0 does the XML
 * signature work). What we add around it, per docs/robustness.md, "SAML": DOCTYPE refused before any
 * XML parsing, SHA-1 signatures refused, Recipient / Destination / Issuer checks node-saml
 * leaves to the caller, a replay cache of assertion IDs, a Redis InResponseTo cache, and one
 * reason code per failure. Identity is read only from the profile node-saml builds from the
 * verified bytes.
 */

/** Why a SAML response was refused; logged, shown on the refusal page, asserted by tests. */
export type SamlRejectReason =
  | 'missing_saml_response'
  | 'unsupported_message'
  | 'doctype_forbidden'
  | 'malformed_response'
  | 'weak_signature_algorithm'
  | 'response_signature_invalid'
  | 'assertion_signature_invalid'
  | 'multiple_assertions'
  | 'signature_structure_invalid'
  | 'in_response_to_missing'
  | 'in_response_to_unknown'
  | 'in_response_to_mismatch'
  | 'subject_confirmation_expired'
  | 'assertion_expired'
  | 'assertion_not_yet_valid'
  | 'audience_mismatch'
  | 'issuer_mismatch'
  | 'recipient_mismatch'
  | 'destination_mismatch'
  | 'assertion_replayed'
  | 'missing_assertion'
  | 'idp_reported_error'
  | 'missing_login'
  | 'missing_user_id'
  | 'email_nameid_refused'
  | 'nameid_format_unsupported'
  | 'invalid_response';

export class SamlRejection extends Error {
  constructor(
    readonly reason: SamlRejectReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'SamlRejection';
  }
}

/**
 * node-saml and xml-crypto report failures only as `Error` messages (no codes), so this table is
 * the one place that turns their wording into our reason codes. Unknown wording becomes `invalid_response`, so
 * a library upgrade that rewords a message still rejects, only less precisely.
 */
const NODE_SAML_MESSAGES: Array<[RegExp, SamlRejectReason]> = [
  [/^Invalid document signature/, 'response_signature_invalid'],
  [/^Invalid signature: multiple assertions/, 'multiple_assertions'],
  [/^Invalid signature, too many transforms/, 'signature_structure_invalid'],
  [/^Invalid signature: (ID cannot refer|Referenced node)/, 'signature_structure_invalid'],
  [/^(Too many signatures found|Only 1 signed references|ref URI included quote)/, 'signature_structure_invalid'],
  // xml-crypto's own refusals of malformed Signature elements (several or wrapped SignedInfo...).
  [/(signed ?info|SignedInfo|multiple Signature elements|Reference elements|CanonicalizationMethod|Cannot validate a uri)/i, 'signature_structure_invalid'],
  [/^Invalid signature/, 'assertion_signature_invalid'],
  [/^Cannot obtain assertion from signed data/, 'assertion_signature_invalid'],
  [/^InResponseTo is missing/, 'in_response_to_missing'],
  [/^InResponseTo is not valid/, 'in_response_to_unknown'],
  [/^SubjectInResponseTo is not valid/, 'in_response_to_unknown'],
  [/^InResponseTo does not match/, 'in_response_to_mismatch'],
  [/^No valid subject confirmation/, 'subject_confirmation_expired'],
  [/^SAML assertion expired/, 'assertion_expired'],
  [/^SAML assertion not yet valid/, 'assertion_not_yet_valid'],
  [/^SAML assertion (audience mismatch|has no AudienceRestriction|AudienceRestriction has no Audience)/, 'audience_mismatch'],
  [/^Missing SAML assertion/, 'missing_assertion'],
  [/^SAML provider returned/, 'idp_reported_error'],
  [/^(Not a valid XML document|\[xmldom)/, 'malformed_response'],
];

export function classifyNodeSamlError(err: unknown): SamlRejectReason {
  if (err instanceof SamlRejection) return err.reason;
  const message = err instanceof Error ? err.message : String(err);
  for (const [pattern, reason] of NODE_SAML_MESSAGES) if (pattern.test(message)) return reason;
  return 'invalid_response';
}

/**
 * The failure's text as it may be logged. Some library messages repeat text from the response:
 * the IdP's StatusMessage (free text that can name the person, e.g. "user x@y is not assigned")
 * and xmldom's parse errors (which quote attribute values). Those keep only their fixed part.
 */
export function loggableDetail(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SamlRejection) return message;
  const idpStatus = /^SAML provider returned \S+ error/.exec(message);
  if (idpStatus) return `${idpStatus[0]} (its StatusMessage is not logged)`;
  const xmldom = /^\[xmldom \w+\]/.exec(message);
  if (xmldom) return `${xmldom[0]} ${/@#\[line:\d+,col:\d+\]/.exec(message)?.[0] ?? ''}`.trim();
  const badDate = /^Error parsing (\w+):/.exec(message);
  if (badDate) return `${badDate[0]} not a valid date`;
  return message;
}

/** Assertions may not be older than this, whatever NotOnOrAfter says. @defaultValue 10 min */
export const MAX_ASSERTION_AGE_MS = 10 * 60_000;
/** How long an AuthnRequest ID stays acceptable as InResponseTo. */
export const REQUEST_ID_TTL_MS = 10 * 60_000;

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** A successful SAML login: the SCIM attribute and value the signed assertion names the person by. */
export interface SamlIdentity {
  subject: LoginSubject;
  sessionIndex?: string;
}

export type SamlRefusal = { ok: false; reason: SamlRejectReason; detail: string };
export type SamlOutcome = { ok: true; identity: SamlIdentity } | SamlRefusal;

export interface SamlServiceDeps {
  settings: SamlSettings;
  redis: Redis;
  logger: Logger;
  /** Redis key prefix for the request-ID and replay caches. @defaultValue "pis:saml:" */
  keyPrefix?: string;
}

export interface SamlService {
  readonly settings: SamlSettings;
  /**
   * A logged refusal when the request carries a SAML message this SP does not take: a
   * SAMLRequest anywhere, or a SAMLResponse in the query string (single logout and the
   * HTTP-Redirect binding are not offered). Call it before `startLogin`; `consume` does.
   */
  unsupportedMessage(req: Request): SamlRefusal | undefined;
  /**
   * Redirects the browser to the IdP with a fresh AuthnRequest (its ID cached in Redis);
   * `relayState` comes back with the response.
   */
  startLogin(req: Request, res: Response, relayState: string): Promise<void>;
  /** Validates a POSTed SAMLResponse (the body already parsed with a size limit). */
  consume(req: Request, res: Response): Promise<SamlOutcome>;
  metadataXml(): string;
}

/**
 * Refuses DOCTYPE and entity declarations by looking at the decoded text, before any XML parser
 * or signature check runs (entity expansion, XXE, and xmldom's doctype advisories). Returns the
 * decoded XML.
 */
export function screenSamlResponse(body: unknown): string {
  const encoded = (body as Record<string, unknown> | undefined)?.SAMLResponse;
  if (typeof encoded !== 'string' || encoded.length === 0) {
    throw new SamlRejection('missing_saml_response', 'the POST carried no SAMLResponse field');
  }
  if (!/^[A-Za-z0-9+/=\s]+$/.test(encoded)) {
    throw new SamlRejection('malformed_response', 'SAMLResponse is not base64');
  }
  const xml = Buffer.from(encoded, 'base64').toString('utf8');
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new SamlRejection('doctype_forbidden', 'DOCTYPE / ENTITY declarations are not accepted');
  }
  return xml;
}

/** What xml-crypto verifies, less SHA-1: RSA with SHA-256 or SHA-512. */
const ACCEPTED_SIGNATURE_METHODS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const ACCEPTED_DIGEST_METHODS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);

/**
 * Refuses signatures using SHA-1 (RSA-SHA1, HMAC-SHA1, SHA-1 digests), which xml-crypto still
 * verifies: every SignatureMethod, and every DigestMethod of a Reference, anywhere in the
 * document, must name an accepted algorithm. Okta, Entra and Google sign with RSA-SHA256 unless
 * an administrator chose SHA-1. A document this parser cannot read is refused as malformed, so
 * no response is judged by a parser that did not see it.
 */
export function refuseWeakSignatureAlgorithms(xml: string): void {
  let doc: ReturnType<DOMParser['parseFromString']>;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(xml, 'text/xml');
  } catch {
    throw new SamlRejection('malformed_response', 'the response is not well-formed XML');
  }
  const methods = [
    ...Array.from(doc.getElementsByTagNameNS('*', 'SignatureMethod')).map((e) => ({ e, accepted: ACCEPTED_SIGNATURE_METHODS })),
    ...Array.from(doc.getElementsByTagNameNS('*', 'DigestMethod'))
      .filter((e) => e.parentNode?.localName === 'Reference')
      .map((e) => ({ e, accepted: ACCEPTED_DIGEST_METHODS })),
  ];
  const weak = methods.find(({ e, accepted }) => !accepted.has(e.getAttribute('Algorithm') ?? ''));
  if (weak) {
    throw new SamlRejection(
      'weak_signature_algorithm',
      `${weak.e.localName} ${weak.e.getAttribute('Algorithm') ?? '(none)'} is not accepted; sign with RSA-SHA256`,
    );
  }
}

/**
 * passport-saml's authenticate handles a SAMLRequest or SAMLResponse in the query string
 * (HTTP-Redirect binding) before anything else, on any route, and node-saml accepts a
 * redirect-binding logout message that carries no Signature: an unsigned LogoutRequest in a link
 * would end the visitor's session, an unsigned LogoutResponse would leave the request unanswered.
 */
function refuseUnsupportedMessage(req: Request): void {
  const query = req.query as Record<string, unknown>;
  const body = req.body as Record<string, unknown> | undefined;
  if (query.SAMLRequest !== undefined || query.SAMLResponse !== undefined || body?.SAMLRequest !== undefined) {
    throw new SamlRejection('unsupported_message', 'only a SAMLResponse POSTed to the ACS is accepted; single logout is not offered');
  }
}

/**
 * The Destination of the (signed) Response must be our ACS. This reads the raw response, which
 * is safe here because it can only refuse, never supply identity.
 */
function checkDestination(rawResponseXml: string, acsUrl: string): void {
  let destination: string | null = null;
  try {
    const doc = new DOMParser({ onError: () => undefined }).parseFromString(rawResponseXml, 'text/xml');
    const root = doc.documentElement;
    if (root && root.localName === 'Response' && root.namespaceURI === PROTOCOL_NS) {
      destination = root.getAttribute('Destination');
    }
  } catch {
    destination = null;
  }
  if (destination !== acsUrl) {
    throw new SamlRejection('destination_mismatch', `Response Destination is not this service's ACS URL`);
  }
}

type XmlJs = { $?: Record<string, string>; _?: string } & Record<string, unknown>;

function children(node: unknown, name: string): XmlJs[] {
  const value = (node as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(value) ? (value as XmlJs[]) : [];
}

function earliest(...isoTimes: Array<string | undefined>): number | undefined {
  const times = isoTimes
    .filter((t): t is string => typeof t === 'string')
    .map((t) => Date.parse(t))
    .filter(Number.isFinite);
  return times.length > 0 ? Math.min(...times) : undefined;
}

export function createSamlService(deps: SamlServiceDeps): SamlService {
  const { settings, redis, logger } = deps;
  const prefix = deps.keyPrefix ?? 'pis:saml:';
  const replayCache = new AssertionReplayCache(redis, `${prefix}assertion:`);

  /** Checks node-saml leaves to us, all on the verified assertion node-saml returns. */
  async function checkProfile(profile: Profile | null): Promise<SamlIdentity> {
    if (!profile) throw new SamlRejection('missing_assertion', 'no assertion in the response');
    if (profile.issuer !== settings.idpIssuer) {
      throw new SamlRejection('issuer_mismatch', 'assertion Issuer is not the configured IdP');
    }
    const assertion = (profile.getAssertion?.() as { Assertion?: XmlJs } | undefined)?.Assertion;
    if (!assertion) throw new SamlRejection('missing_assertion', 'verified assertion unavailable');

    const confirmations = children(children(assertion, 'Subject')[0], 'SubjectConfirmation')
      .filter((c) => c.$?.Method === BEARER)
      .map((c) => children(c, 'SubjectConfirmationData')[0]?.$ ?? {});
    const forUs = confirmations.filter((data) => data.Recipient === settings.acsUrl);
    if (forUs.length === 0) {
      throw new SamlRejection('recipient_mismatch', 'no bearer SubjectConfirmation names this ACS as Recipient');
    }
    checkDestination(profile.getSamlResponseXml?.() ?? '', settings.acsUrl);

    const assertionId = assertion.$?.ID;
    if (!assertionId) throw new SamlRejection('invalid_response', 'assertion has no ID');
    const conditions = children(assertion, 'Conditions')[0]?.$ ?? {};
    const expiresAt = earliest(conditions.NotOnOrAfter, ...forUs.map((d) => d.NotOnOrAfter)) ?? Date.now() + MAX_ASSERTION_AGE_MS;
    if (!(await replayCache.claim(settings.idpIssuer, assertionId, expiresAt + settings.clockSkewMs))) {
      throw new SamlRejection('assertion_replayed', 'this assertion was already used to sign in');
    }

    const identified = subjectOf(settings, {
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat,
      attributes: (profile.attributes ?? {}) as Record<string, unknown>,
    });
    if ('reason' in identified) throw new SamlRejection(identified.reason, identified.detail);
    return { subject: identified.subject, sessionIndex: profile.sessionIndex };
  }

  const strategy = new Strategy(
    {
      name: 'saml',
      entryPoint: settings.idpSsoUrl,
      issuer: settings.spEntityId,
      callbackUrl: settings.acsUrl,
      audience: settings.spEntityId,
      idpIssuer: settings.idpIssuer,
      idpCert: settings.idpCerts,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: !settings.allowUnsignedResponse,
      // Governs only AuthnRequests we would sign (we sign none); incoming algorithms are
      // checked by refuseWeakSignatureAlgorithms.
      signatureAlgorithm: 'sha256',
      acceptedClockSkewMs: settings.clockSkewMs,
      maxAssertionAgeMs: MAX_ASSERTION_AGE_MS,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_ID_TTL_MS,
      cacheProvider: new RedisRequestIdCache(redis, `${prefix}request:`, REQUEST_ID_TTL_MS),
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      generateUniqueId: () => `_${randomBytes(20).toString('hex')}`,
    },
    (profile: Profile | null, done: VerifiedCallback) => {
      checkProfile(profile).then(
        (identity) => done(null, { ...identity }),
        (err: Error) => done(err),
      );
    },
    // Single logout is not offered (refuseUnsupportedMessage keeps such messages out); the
    // console has its own sign-out.
    (_profile: Profile | null, done: VerifiedCallback) => done(new SamlRejection('unsupported_message', 'single logout is not offered')),
  );
  // A private Passport instance: no global state, no passport sessions (we keep our own).
  const authenticator = new passport.Passport();
  // passport-saml is typed against @types/express 4; the runtime contract is the same.
  authenticator.use('saml', strategy as unknown as passport.Strategy);

  const rejected = (err: unknown): SamlRefusal => {
    const reason = classifyNodeSamlError(err);
    const detail = loggableDetail(err);
    logger.warn('saml response rejected', { reason, detail });
    return { ok: false, reason, detail };
  };

  return {
    settings,

    unsupportedMessage(req) {
      try {
        refuseUnsupportedMessage(req);
        return undefined;
      } catch (err) {
        return rejected(err);
      }
    },

    startLogin(req, res, relayState) {
      // passport-saml reads `additionalParams` (its AuthenticateOptions extend passport's).
      const options: passport.AuthenticateOptions & { additionalParams: Record<string, string> } = {
        session: false,
        additionalParams: { RelayState: relayState },
      };
      return new Promise((resolve, reject) => {
        authenticator.authenticate('saml', options, (err: unknown) => {
          if (err) reject(err);
          else resolve();
        })(req, res, (err: unknown) => (err ? reject(err) : resolve()));
        res.once('finish', () => resolve());
      });
    },

    async consume(req, res) {
      try {
        refuseUnsupportedMessage(req);
        refuseWeakSignatureAlgorithms(screenSamlResponse(req.body));
      } catch (err) {
        return rejected(err);
      }
      return new Promise<SamlOutcome>((resolve) => {
        const settle = (err: unknown, user: unknown) => {
          if (err || !user) {
            resolve(rejected(err ?? new Error('no identity in the response')));
            return;
          }
          resolve({ ok: true, identity: user as SamlIdentity });
        };
        authenticator.authenticate('saml', { session: false }, settle)(req, res, (err: unknown) => settle(err, undefined));
      });
    },

    metadataXml() {
      return strategy.generateServiceProviderMetadata(null, null);
    },
  };
}
