import type { SamlSettings } from './settings';

/**
 * Who a verified assertion names, as the SCIM attribute to look the person up by. Only the
 * IdP's own user id (SCIM externalId) or, where an operator chose it, the userName is used; an
 * email-format NameID is refused unless SAML_ALLOW_EMAIL_NAMEID says otherwise, because many
 * people can change their own email in the IdP.
 */
export type LoginSubject = { externalId: string } | { userName: string };

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
} as const;

export type SubjectRefusalReason = 'missing_login' | 'missing_user_id' | 'email_nameid_refused' | 'nameid_format_unsupported';

export type SubjectOutcome = { subject: LoginSubject } | { reason: SubjectRefusalReason; detail: string };

/** What node-saml read from the verified assertion. */
export interface AssertedIdentity {
  nameId: string | undefined;
  /** The NameID's Format; absent means unspecified (SAML core §8.3.1). */
  nameIdFormat: string | undefined;
  attributes: Record<string, unknown>;
}

function singleValue(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function subjectOf(
  settings: Pick<SamlSettings, 'userIdAttribute' | 'loginAttribute' | 'nameIdMatch' | 'allowEmailNameId'>,
  asserted: AssertedIdentity,
): SubjectOutcome {
  if (settings.userIdAttribute) {
    const externalId = singleValue(asserted.attributes[settings.userIdAttribute]);
    if (!externalId) return { reason: 'missing_user_id', detail: `the assertion has no single-valued ${settings.userIdAttribute} attribute` };
    return { subject: { externalId } };
  }
  if (settings.loginAttribute) {
    const userName = singleValue(asserted.attributes[settings.loginAttribute]);
    if (!userName) return { reason: 'missing_login', detail: `the assertion has no single-valued ${settings.loginAttribute} attribute` };
    return { subject: { userName } };
  }
  const nameId = singleValue(asserted.nameId);
  if (!nameId) return { reason: 'missing_login', detail: 'the assertion has no NameID' };
  const format = asserted.nameIdFormat ?? NAMEID_FORMAT.unspecified;
  if (format === NAMEID_FORMAT.emailAddress) {
    if (!settings.allowEmailNameId) {
      return { reason: 'email_nameid_refused', detail: 'an emailAddress NameID is not accepted unless SAML_ALLOW_EMAIL_NAMEID=true' };
    }
    return { subject: { userName: nameId } };
  }
  if (format === NAMEID_FORMAT.persistent || format === NAMEID_FORMAT.unspecified) {
    return { subject: settings.nameIdMatch === 'userName' ? { userName: nameId } : { externalId: nameId } };
  }
  return { reason: 'nameid_format_unsupported', detail: `NameID format ${format} does not identify a person stably; send a persistent NameID` };
}
