import type { StackPermissionLevel, TeamStackPermission } from '../pulumi';

/**
 * Scope arithmetic for dependent tokens, all pure.
 *
 * A scoped token lives on a private team whose grants are `scope ∩ parent team grants`: a stack
 * is granted only when the scope names it and the parent team holds it, at the lower of the
 * parent's level and the scope entry's cap. Levels are Pulumi's opaque integers; their order
 * (read < write < admin) is written down here once instead of comparing the integers.
 */

export type PermissionName = 'read' | 'write' | 'admin';

/** One entry of a token's requested scope. `stack` may be `*` (every stack of the project). */
export interface ScopeEntry {
  project: string;
  stack: string;
  /** Upper bound for this entry; absent = whatever the parent team holds. */
  permission?: PermissionName;
}

/** A concrete grant of one stack to one team. */
export interface StackGrant {
  project: string;
  stack: string;
  permission: StackPermissionLevel;
}

export const PERMISSION_LEVEL: Readonly<Record<PermissionName, StackPermissionLevel>> = Object.freeze({
  read: 101,
  write: 102,
  admin: 103,
});

const RANK: Readonly<Record<StackPermissionLevel, number>> = Object.freeze({ 101: 1, 102: 2, 103: 3 });

/**
 * Pulumi reports 104 ("creator", same access as admin) on some grants; anything else unknown is
 * treated as read so an unexpected value can never widen a private team.
 */
export function normaliseLevel(permission: number): StackPermissionLevel {
  if (permission === 101 || permission === 102 || permission === 103) return permission;
  if (permission === 104) return 103;
  return 101;
}

export function lowerLevel(a: StackPermissionLevel, b: StackPermissionLevel): StackPermissionLevel {
  return RANK[a] <= RANK[b] ? a : b;
}

export function higherLevel(a: StackPermissionLevel, b: StackPermissionLevel): StackPermissionLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

export function levelName(level: StackPermissionLevel): PermissionName {
  return level === 101 ? 'read' : level === 102 ? 'write' : 'admin';
}

export function fromTeamStacks(stacks: readonly TeamStackPermission[] | undefined): StackGrant[] {
  return (stacks ?? []).map((s) => ({
    project: s.projectName,
    stack: s.stackName,
    permission: normaliseLevel(s.permission),
  }));
}

export function grantKey(g: { project: string; stack: string }): string {
  return `${g.project}/${g.stack}`;
}

function matches(entry: ScopeEntry, grant: StackGrant): boolean {
  return entry.project === grant.project && (entry.stack === '*' || entry.stack === grant.stack);
}

/**
 * `scope ∩ parent`: every parent grant some scope entry names, capped by that entry. When
 * several entries name one stack (an exact entry and a `*`), the most generous cap among
 * them applies — the scope is a union of what the owner asked for. Sorted by project/stack so
 * equal inputs give byte-equal outputs.
 */
export function intersectScope(scope: readonly ScopeEntry[], parent: readonly StackGrant[]): StackGrant[] {
  const out: StackGrant[] = [];
  for (const grant of parent) {
    let cap: StackPermissionLevel | undefined;
    for (const entry of scope) {
      if (!matches(entry, grant)) continue;
      const entryCap = entry.permission ? PERMISSION_LEVEL[entry.permission] : grant.permission;
      cap = cap === undefined ? entryCap : higherLevel(cap, entryCap);
    }
    if (cap !== undefined) out.push({ ...grant, permission: lowerLevel(grant.permission, cap) });
  }
  return sortGrants(dedupeHighest(out));
}

/**
 * The grants a private team should hold now: the current intersection, never above what the
 * token was issued with. A token only ever narrows; a parent team that later gains or upgrades
 * a grant does not silently widen tokens issued before.
 */
export function desiredPrivateGrants(scope: readonly ScopeEntry[], issued: readonly StackGrant[], parent: readonly StackGrant[]): StackGrant[] {
  const issuedByKey = new Map(issued.map((g) => [grantKey(g), g.permission]));
  return intersectScope(scope, parent).flatMap((g) => {
    const issuedLevel = issuedByKey.get(grantKey(g));
    return issuedLevel === undefined ? [] : [{ ...g, permission: lowerLevel(g.permission, issuedLevel) }];
  });
}

/** Operations that move a private team from `actual` to `desired`: removals, downgrades, additions. */
export type PrivateTeamOp =
  | { kind: 'removeStack'; project: string; stack: string }
  | { kind: 'editStack'; project: string; stack: string; permission: StackPermissionLevel }
  | { kind: 'addStack'; project: string; stack: string; permission: StackPermissionLevel };

/**
 * Pure plan for a private team's grants, ordered so access only shrinks before it grows:
 * removals first, then level changes, then additions (additions happen only when a re-issue
 * or a repair restores something the token was issued with).
 */
export function planPrivateTeam(desired: readonly StackGrant[], actual: readonly StackGrant[]): PrivateTeamOp[] {
  const want = new Map(desired.map((g) => [grantKey(g), g]));
  const have = new Map(actual.map((g) => [grantKey(g), g]));
  const removals: PrivateTeamOp[] = [];
  const edits: PrivateTeamOp[] = [];
  const additions: PrivateTeamOp[] = [];
  for (const [key, g] of [...have].sort(byKey)) {
    const target = want.get(key);
    if (!target) removals.push({ kind: 'removeStack', project: g.project, stack: g.stack });
    else if (target.permission !== g.permission) {
      edits.push({ kind: 'editStack', project: g.project, stack: g.stack, permission: target.permission });
    }
  }
  for (const [key, g] of [...want].sort(byKey)) {
    if (!have.has(key)) additions.push({ kind: 'addStack', project: g.project, stack: g.stack, permission: g.permission });
  }
  return [...removals, ...edits, ...additions];
}

function dedupeHighest(grants: StackGrant[]): StackGrant[] {
  const byKey = new Map<string, StackGrant>();
  for (const g of grants) {
    const seen = byKey.get(grantKey(g));
    byKey.set(grantKey(g), seen ? { ...g, permission: higherLevel(seen.permission, g.permission) } : g);
  }
  return [...byKey.values()];
}

function sortGrants(grants: StackGrant[]): StackGrant[] {
  return grants.sort((a, b) => (grantKey(a) < grantKey(b) ? -1 : grantKey(a) > grantKey(b) ? 1 : 0));
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
