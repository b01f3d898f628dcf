/**
 * The SAML settings of the one configured IdP are derived and checked with the rest of the
 * configuration (src/config), so a half-made SAML setup stops the process before it starts
 * anything; the running process finds them in `config.saml`.
 */
import type { SamlSettings } from '../config';

export { ACS_PATH, METADATA_PATH, parsePemCertificates } from '../config';
export type { SamlSettings } from '../config';

/** How SAML_ADMIN_GROUP names the admin group: `{ externalId }` or `{ displayName }`. */
export type AdminGroupRef = NonNullable<SamlSettings['adminGroup']>;
