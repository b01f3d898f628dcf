/**
 * The SCIM 2.0 server (RFC 7643/7644) mounted at /scim/v2. See router.ts for the HTTP surface,
 * commands/ for the writes and queries.ts for the reads, filter.ts + filter-sql.ts for filters,
 * patch.ts for PATCH, bulk.ts for /Bulk, errors.ts for the error model; docs/scim.md for the
 * choices made where the RFCs leave one, and the bounds on one request.
 */
export { createScimRouter, type ScimRouterDeps } from './router';
export { ScimError } from './errors';
export type { RateLimit } from './auth';
/** A Shared Signals `deprovision` deactivates a person as an IdP's SCIM PATCH would (src/runtime). */
export { patchUser } from './commands';
