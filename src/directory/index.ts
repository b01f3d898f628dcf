/**
 * The directory store: users, groups, memberships and SCIM clients. Other parts import from
 * here; `db.ts` (pool, migrations, transactions) is the foundation every part builds on.
 */
export * from './db';
export * from './users';
export * from './groups';
export * from './scim-clients';
export { startEmbeddedPostgres } from './embedded-postgres';
export { EmbeddedPostgresMissingError } from './embedded-postgres';
export type { EmbeddedPostgresHandle, EmbeddedPostgresOptions } from './embedded-postgres';
export * from './reads';
