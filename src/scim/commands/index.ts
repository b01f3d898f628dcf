/**
 * SCIM writes as commands: plain inputs (the document or PatchOp body as sent, ids, the
 * request id, If-Match tags), one transaction with its outbox rows, and the row the route
 * renders back.
 */
export { createUser, deleteUser, patchUser, replaceUser } from './users';
export { createGroup, deleteGroup, patchGroup, patchGroupMembers, replaceGroup } from './groups';
export type { WriteContext } from './write';
