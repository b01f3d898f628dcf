import * as directory from '../../directory';
import type { OutboxEvent } from '../../outbox';
import { unknownMembers } from '../errors';
import { compileMemberFilter } from '../filter-sql';
import type { MemberChange } from '../patch';

/**
 * A group's membership delta: what a write actually changed, as the `group.members_changed`
 * outbox event names it. Two paths produce it. The general write path below applies
 * MemberChanges as SQL deltas; the one-round-trip PATCH path runs the same delta, version
 * bump and outbox row in the database function `patch_group_members` (migration
 * 20261129000000_patch_group_members). test/scim/member-delta-payload.test.ts holds the two to
 * `membersChangedEvent`.
 */

export type MembersChangedEvent = Extract<OutboxEvent, { kind: 'group.members_changed' }>;

/**
 * The one shape of `group.members_changed`: ids in the order the client listed them, each
 * only once, and only those whose membership actually changed.
 */
export function membersChangedEvent(groupId: string, delta: { added: Iterable<string>; removed: Iterable<string> }): MembersChangedEvent {
  return { kind: 'group.members_changed', groupId, added: [...delta.added], removed: [...delta.removed] };
}

/** Net membership delta of several changes applied in order. */
class MemberDelta {
  readonly added = new Set<string>();
  readonly removed = new Set<string>();

  record(added: string[], removed: string[]): void {
    for (const id of removed) {
      if (this.added.has(id)) this.added.delete(id);
      else this.removed.add(id);
    }
    for (const id of added) {
      if (this.removed.has(id)) this.removed.delete(id);
      else this.added.add(id);
    }
  }

  get empty(): boolean {
    return this.added.size === 0 && this.removed.size === 0;
  }
}

/** Applies `changes` to the group's rows in the caller's transaction; an unknown member throws, so nothing commits. */
export async function applyMemberChanges(trx: directory.Trx, groupId: string, changes: MemberChange[]): Promise<MemberDelta> {
  const delta = new MemberDelta();
  const rejectUnknown = (unknown: string[]) => {
    if (unknown.length) throw unknownMembers(unknown);
  };
  for (const change of changes) {
    switch (change.kind) {
      case 'add': {
        const { added, unknown } = await directory.addMembers(trx, groupId, change.ids);
        rejectUnknown(unknown);
        delta.record(added, []);
        break;
      }
      case 'remove':
        delta.record([], await directory.removeMembers(trx, groupId, change.ids));
        break;
      case 'removeAll':
        delta.record([], await directory.removeAllMembers(trx, groupId));
        break;
      case 'removeWhere':
        delta.record([], await directory.removeMembersWhere(trx, groupId, compileMemberFilter(change.filter, 'gm', 'mu')));
        break;
      case 'replace': {
        const { added, removed, unknown } = await directory.replaceMembers(trx, groupId, change.ids);
        rejectUnknown(unknown);
        delta.record(added, removed);
        break;
      }
    }
  }
  return delta;
}
