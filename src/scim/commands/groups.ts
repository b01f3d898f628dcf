import * as directory from '../../directory';
import { appendOutbox } from '../../outbox';
import { notFound, unknownMembers } from '../errors';
import { assertRequired, normalizeResource } from '../normalize';
import { applyPatch, memberIds, type MembershipPatch, type PatchResult } from '../patch';
import { groupDoc, groupFields } from '../resource-columns';
import { GROUP_DEF } from '../schema';
import { applyMemberChanges, membersChangedEvent } from './member-delta';
import { checkIfMatch, sameValues, type WriteContext } from './write';

/**
 * SCIM writes to Groups (RFC 7644 §3.3, §3.5, §3.6). Each runs in one transaction with its
 * outbox rows, so a rolled-back write leaves no event: `group.updated` when attributes
 * changed, `group.members_changed` when members did. As for Users, a body is checked after
 * the lock and If-Match.
 */

/** POST /Groups with `document` as sent, members included. */
export async function createGroup(db: directory.Db, document: unknown, requestId: string): Promise<directory.GroupRow> {
  const doc = normalizeResource(GROUP_DEF, document);
  const ids = memberIds(doc.members);
  return db.transaction(async (trx) => {
    const created = await directory.insertGroup(trx, groupFields(doc));
    await appendOutbox(trx, { kind: 'group.created', groupId: created.id }, requestId);
    if (ids.length) {
      const delta = await applyMemberChanges(trx, created.id, [{ kind: 'add', ids }]);
      await appendOutbox(trx, membersChangedEvent(created.id, delta), requestId);
    }
    return created;
  });
}

/** PUT /Groups/:id: the group becomes `document`, its member list exactly the one sent. */
export function replaceGroup(db: directory.Db, id: string, document: unknown, context: WriteContext): Promise<directory.GroupRow> {
  return writeGroup(db, id, context, () => {
    const doc = normalizeResource(GROUP_DEF, document, id);
    return { doc, memberChanges: [{ kind: 'replace', ids: memberIds(doc.members) }] };
  });
}

/** PATCH /Groups/:id with the PatchOp body `operations`, any mix of attributes and members. */
export function patchGroup(db: directory.Db, id: string, operations: unknown, context: WriteContext): Promise<directory.GroupRow> {
  return writeGroup(db, id, context, (before) => applyPatch(GROUP_DEF, groupDoc(before), operations, before.id));
}

/**
 * PATCH /Groups/:id that only adds or only removes members (see membershipPatch), in one
 * database round trip: `patch_group_members` does what writeGroup does for such a PATCH.
 * Returns the group's version after the write.
 */
export async function patchGroupMembers(db: directory.Db, id: string, membership: MembershipPatch, requestId: string): Promise<string> {
  const result = await directory.patchGroupMembers(db, id, membership.op, membership.ids, requestId);
  if (result.outcome === 'not_found') throw notFound(`Group ${id} not found`);
  if (result.outcome === 'unknown_members') throw unknownMembers(result.unknown);
  return result.version;
}

export async function deleteGroup(db: directory.Db, id: string, context: WriteContext): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await directory.lockGroup(trx, id);
    if (!row) throw notFound(`Group ${id} not found`);
    checkIfMatch(context.ifMatch, String(row.version));
    await directory.deleteGroup(trx, id);
    await appendOutbox(trx, { kind: 'group.deleted', groupId: id }, context.requestId);
  });
}

/** Locks the group row, then writes the attributes if they changed and the member delta. */
async function writeGroup(db: directory.Db, id: string, context: WriteContext, next: (before: directory.GroupRow) => PatchResult): Promise<directory.GroupRow> {
  return db.transaction(async (trx) => {
    const before = await directory.lockGroup(trx, id);
    if (!before) throw notFound(`Group ${id} not found`);
    checkIfMatch(context.ifMatch, String(before.version));
    const { doc, memberChanges } = next(before);
    assertRequired(GROUP_DEF, doc);
    const fields = groupFields(doc);
    const attributesChanged = !sameValues(fields, groupFields(groupDoc(before)));
    let after = attributesChanged ? await directory.updateGroup(trx, id, fields) : before;
    const delta = await applyMemberChanges(trx, id, memberChanges);
    if (!delta.empty && !attributesChanged) after = { ...before, ...(await directory.touchGroup(trx, id)) };
    if (attributesChanged) await appendOutbox(trx, { kind: 'group.updated', groupId: id }, context.requestId);
    if (!delta.empty) await appendOutbox(trx, membersChangedEvent(id, delta), context.requestId);
    return after;
  });
}
