import fs from 'node:fs';

/**
 * The SAML settings of the one configured IdP, derived from the environment with the rest of
 * the configuration. SAML is enabled when SAML_IDP_SSO_URL is set; then the issuer, at least
 * one certificate and a public URL are required, and every missing piece is reported by
 * variable name.
 */
export interface SamlSettings {
  /** IdP single sign-on URL (HTTP-Redirect binding). */
  idpSsoUrl: string;
  /** IdP entity ID; the signed assertion's Issuer must equal it. */
  idpIssuer: string;
  /** PEM certificates the IdP signs with (two while it rotates keys). */
  idpCerts: string[];
  /** Our entity ID, the Audience every assertion must name. */
  spEntityId: string;
  /** Assertion consumer service URL: Recipient and Destination must equal it. */
  acsUrl: string;
  /** Attribute carrying the SCIM userName; undefined = NameID. */
  loginAttribute: string | undefined;
  /** Attribute carrying the IdP's user id, matched to the SCIM externalId; undefined = NameID. */
  userIdAttribute: string | undefined;
  /** What a persistent or unspecified NameID is matched to. */
  nameIdMatch: NameIdMatch;
  /** true: an emailAddress-format NameID signs in the person with that userName; false: refused. */
  allowEmailNameId: boolean;
  /** SCIM group whose members are admins; undefined = nobody is an admin. */
  adminGroup: AdminGroupRef | undefined;
  /** true: the outer Response may be unsigned when the assertion is signed. */
  allowUnsignedResponse: boolean;
  clockSkewMs: number;
}

/** The SCIM user attribute a persistent or unspecified NameID names. */
export type NameIdMatch = 'externalId' | 'userName';

/**
 * The admin group as SAML_ADMIN_GROUP names it: `externalId:<id>` is the IdP's own group id
 * (exact), which nobody can take by naming a group; a plain value is a displayName
 * (case-insensitive), which anyone allowed to create groups in the IdP can copy.
 */
export type AdminGroupRef = { externalId: string } | { displayName: string };

const EXTERNAL_ID_PREFIX = 'externalId:';

function parseAdminGroup(value: string): AdminGroupRef | { problem: string } {
  if (!value.startsWith(EXTERNAL_ID_PREFIX)) return { displayName: value };
  const externalId = value.slice(EXTERNAL_ID_PREFIX.length).trim();
  if (externalId === '') return { problem: "SAML_ADMIN_GROUP: 'externalId:' must be followed by the IdP's group id" };
  return { externalId };
}

export const ACS_PATH = '/auth/saml/acs';
export const METADATA_PATH = '/auth/saml/metadata';

/** The variables the SAML settings are derived from, as the env schema parses them. */
export interface SamlVariables {
  PUBLIC_URL: string | undefined;
  SAML_IDP_SSO_URL: string | undefined;
  SAML_IDP_ISSUER: string | undefined;
  SAML_IDP_CERT: string | undefined;
  SAML_IDP_CERT_FILE: string | undefined;
  SAML_SP_ENTITY_ID: string | undefined;
  SAML_LOGIN_ATTRIBUTE: string | undefined;
  SAML_USER_ID_ATTRIBUTE: string | undefined;
  SAML_NAMEID_MATCH: NameIdMatch;
  SAML_ALLOW_EMAIL_NAMEID: boolean;
  SAML_ADMIN_GROUP: string | undefined;
  SAML_ALLOW_UNSIGNED_RESPONSE: boolean;
  SAML_CLOCK_SKEW_MS: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits one or more PEM certificates; `\n` written literally in an env value counts as a newline. */
export function parsePemCertificates(text: string): string[] {
  return (text.replace(/\\n/g, '\n').match(PEM_CERT) ?? []).map((pem) => pem.trim());
}

/**
 * The settings (undefined while SAML_IDP_SSO_URL is unset), or the problems of a half-made
 * SAML configuration, each starting with the variable to fix.
 */
export function samlSettingsOf(vars: SamlVariables): { settings: SamlSettings | undefined } | { problems: string[] } {
  if (!vars.SAML_IDP_SSO_URL) return { settings: undefined };
  const problems: string[] = [];
  if (!vars.SAML_IDP_ISSUER) problems.push('SAML_IDP_ISSUER: required when SAML_IDP_SSO_URL is set');
  if (!vars.PUBLIC_URL) problems.push('PUBLIC_URL: required when SAML_IDP_SSO_URL is set (it makes the ACS URL)');

  let certText = vars.SAML_IDP_CERT ?? '';
  if (vars.SAML_IDP_CERT_FILE) {
    try {
      certText += `\n${fs.readFileSync(vars.SAML_IDP_CERT_FILE, 'utf8')}`;
    } catch (err) {
      problems.push(`SAML_IDP_CERT_FILE: cannot read ${vars.SAML_IDP_CERT_FILE}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const idpCerts = parsePemCertificates(certText);
  if (idpCerts.length === 0) {
    problems.push('SAML_IDP_CERT / SAML_IDP_CERT_FILE: at least one PEM certificate (-----BEGIN CERTIFICATE-----) is required');
  } else if (idpCerts.length > 2) {
    problems.push(`SAML_IDP_CERT / SAML_IDP_CERT_FILE: ${idpCerts.length} certificates given; at most two (current and next) are accepted`);
  }
  if (vars.SAML_USER_ID_ATTRIBUTE && vars.SAML_LOGIN_ATTRIBUTE) {
    problems.push('SAML_USER_ID_ATTRIBUTE / SAML_LOGIN_ATTRIBUTE: set one of them, not both (each names the attribute that identifies the person)');
  }
  let adminGroup: AdminGroupRef | undefined;
  if (vars.SAML_ADMIN_GROUP !== undefined) {
    const parsed = parseAdminGroup(vars.SAML_ADMIN_GROUP);
    if ('problem' in parsed) problems.push(parsed.problem);
    else adminGroup = parsed;
  }
  if (problems.length > 0) return { problems };

  const base = vars.PUBLIC_URL!.replace(/\/+$/, '');
  return {
    settings: {
      idpSsoUrl: vars.SAML_IDP_SSO_URL,
      idpIssuer: vars.SAML_IDP_ISSUER!,
      idpCerts,
      spEntityId: vars.SAML_SP_ENTITY_ID ?? `${base}${METADATA_PATH}`,
      acsUrl: `${base}${ACS_PATH}`,
      loginAttribute: vars.SAML_LOGIN_ATTRIBUTE,
      userIdAttribute: vars.SAML_USER_ID_ATTRIBUTE,
      nameIdMatch: vars.SAML_NAMEID_MATCH,
      allowEmailNameId: vars.SAML_ALLOW_EMAIL_NAMEID,
      adminGroup,
      allowUnsignedResponse: vars.SAML_ALLOW_UNSIGNED_RESPONSE,
      clockSkewMs: vars.SAML_CLOCK_SKEW_MS,
    },
  };
}
