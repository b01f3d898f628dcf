import fs from 'node:fs';
import { Config, ConfigError } from '../config';

/**
 * The SAML settings of the one configured IdP, derived from the process config. SAML is
 * enabled when SAML_IDP_SSO_URL is set; then the issuer, at least one certificate and a public
 * URL are required, and every missing piece is reported by variable name.
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
  /** SCIM group whose members are admins; undefined = nobody is an admin. */
  adminGroup: string | undefined;
  /** true: the outer Response may be unsigned when the assertion is signed. */
  allowUnsignedResponse: boolean;
  clockSkewMs: number;
}

export const ACS_PATH = '/auth/saml/acs';
export const METADATA_PATH = '/auth/saml/metadata';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits one or more PEM certificates; `\n` written literally in an env value counts as a newline. */
export function parsePemCertificates(text: string): string[] {
  return (text.replace(/\\n/g, '\n').match(PEM_CERT) ?? []).map((pem) => pem.trim());
}

/** Returns undefined when SAML is not configured; throws ConfigError when it is half-configured. */
export function samlSettingsFromConfig(config: Config): SamlSettings | undefined {
  if (!config.SAML_IDP_SSO_URL) return undefined;
  const problems: string[] = [];
  if (!config.SAML_IDP_ISSUER) problems.push('SAML_IDP_ISSUER: required when SAML_IDP_SSO_URL is set');
  if (!config.PUBLIC_URL) problems.push('PUBLIC_URL: required when SAML_IDP_SSO_URL is set (it makes the ACS URL)');

  let certText = config.SAML_IDP_CERT ?? '';
  if (config.SAML_IDP_CERT_FILE) {
    try {
      certText += '\n' + fs.readFileSync(config.SAML_IDP_CERT_FILE, 'utf8');
    } catch (err) {
      problems.push(`SAML_IDP_CERT_FILE: cannot read ${config.SAML_IDP_CERT_FILE}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const idpCerts = parsePemCertificates(certText);
  if (idpCerts.length === 0) {
    problems.push('SAML_IDP_CERT / SAML_IDP_CERT_FILE: at least one PEM certificate (-----BEGIN CERTIFICATE-----) is required');
  } else if (idpCerts.length > 2) {
    problems.push(`SAML_IDP_CERT / SAML_IDP_CERT_FILE: ${idpCerts.length} certificates given; at most two (current and next) are accepted`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const base = config.PUBLIC_URL!.replace(/\/+$/, '');
  return {
    idpSsoUrl: config.SAML_IDP_SSO_URL,
    idpIssuer: config.SAML_IDP_ISSUER!,
    idpCerts,
    spEntityId: config.SAML_SP_ENTITY_ID ?? `${base}${METADATA_PATH}`,
    acsUrl: `${base}${ACS_PATH}`,
    loginAttribute: config.SAML_LOGIN_ATTRIBUTE,
    adminGroup: config.SAML_ADMIN_GROUP,
    allowUnsignedResponse: config.SAML_ALLOW_UNSIGNED_RESPONSE,
    clockSkewMs: config.SAML_CLOCK_SKEW_MS,
  };
}
