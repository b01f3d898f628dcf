import * as directory from '../../directory';
import { appendOutbox, type OutboxEvent } from '../../outbox';
import { notFound } from '../errors';
import { assertRequired, normalizeResource, type Doc } from '../normalize';
import { applyPatch } from '../patch';
import { userDoc, userFields } from '../resource-columns';
import { USER_DEF } from '../schema';
import { checkIfMatch, sameValues, type WriteContext } from './write';

/**
 * SCIM writes to Users (RFC 7644 §3.3, §3.5, §3.6). Each runs in one transaction with its
 * outbox row (a create and a PUT in one statement), so a rolled-back write leaves no event. A
 * missing user is a 404 and a stale version a 412 whatever the body says.
 */

/** POST /Users with `document` as sent. The `user.created` row is written by the same statement. */
export async function createUser(db: directory.Db, document: unknown, requestId: string): Promise<directory.UserRow> {
  return directory.createUser(db, userFields(normalizeResource(USER_DEF, document)), requestId);
}

/**
 * PUT /Users/:id: the user becomes `document`, in one statement (Okta sends every profile change
 * as a whole-user PUT). The new document does not depend on the stored one, so it is checked
 * first; an invalid body still answers 404 for a missing user and 412 for a stale version.
 * Every change has its event, whichever attribute changed: the policy's `identity.login` may be
 * any attribute path (src/policy/schema.ts), so only the team job can tell what matters to Pulumi.
 */
export async function replaceUser(db: directory.Db, id: string, document: unknown, context: WriteContext): Promise<directory.ReplacedUser> {
  let fields: directory.UserFields;
  try {
    fields = userFields(normalizeResource(USER_DEF, document, id));
  } catch (err) {
    const row = await directory.findUser(db, id);
    if (!row) throw notFound(`User ${id} not found`);
    checkIfMatch(context.ifMatch, String(row.version));
    throw err;
  }
  const replaced = await directory.replaceUser(db, id, fields, context.ifMatch, context.requestId);
  if (!replaced) throw notFound(`User ${id} not found`);
  // Nothing written: either nothing changed or If-Match named another version.
  if (!replaced.written) checkIfMatch(context.ifMatch, String(replaced.row.version));
  return replaced;
}

/** PATCH /Users/:id with the PatchOp body `operations`. */
export function patchUser(db: directory.Db, id: string, operations: unknown, context: WriteContext): Promise<directory.UserRow> {
  return writeUser(db, id, context, (before) => applyPatch(USER_DEF, userDoc(before), operations, before.id).doc);
}

export async function deleteUser(db: directory.Db, id: string, context: WriteContext): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await directory.lockUser(trx, id);
    if (!row) throw notFound(`User ${id} not found`);
    checkIfMatch(context.ifMatch, String(row.version));
    const groupIds = await directory.groupIdsOfUser(trx, id);
    await directory.deleteUser(trx, id);
    await appendOutbox(trx, { kind: 'user.deleted', userId: id, groupIds }, context.requestId);
  });
}

/** Locks the user, computes its new document, and writes it only if it changed. */
async function writeUser(db: directory.Db, id: string, context: WriteContext, next: (before: directory.UserRow) => Doc): Promise<directory.UserRow> {
  return db.transaction(async (trx) => {
    const before = await directory.lockUser(trx, id);
    if (!before) throw notFound(`User ${id} not found`);
    checkIfMatch(context.ifMatch, String(before.version));
    const doc = next(before);
    assertRequired(USER_DEF, doc);
    const fields = userFields(doc);
    if (sameValues(fields, userFields(userDoc(before)))) return before;
    const after = await directory.updateUser(trx, id, fields);
    await appendOutbox(trx, userEvent(before, after, await directory.groupIdsOfUser(trx, id)), context.requestId);
    return after;
  });
}

function userEvent(before: directory.UserRow, after: directory.UserRow, groupIds: string[]): OutboxEvent {
  if (before.active && !after.active) return { kind: 'user.deactivated', userId: after.id, groupIds };
  if (!before.active && after.active) return { kind: 'user.reactivated', userId: after.id, groupIds };
  return { kind: 'user.updated', userId: after.id, groupIds };
}
