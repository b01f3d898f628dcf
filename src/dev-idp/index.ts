/**
 * The development SAML IdP: on only with the built-in Pulumi emulator, outside production and
 * while SAML is not configured (src/runtime decides), so a fresh start can sign in to the console.
 */
export { createDevIdp, authnRequestId, DEV_IDP_PATH, DEV_ADMIN_GROUP } from './idp';
export type { DevIdp, DevIdpOptions, DevIdpPerson } from './idp';
