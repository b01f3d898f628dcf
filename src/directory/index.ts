/**
 * The directory store: users, groups, memberships, SCIM clients and the outbox. Other parts
 * import from here; `db.ts` and `outbox.ts` are the foundation's contracts.
 */
export * from './db';
export * from './outbox';
export * from './users';
export * from './groups';
export * from './scim-clients';
