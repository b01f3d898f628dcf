import { environmentRank, goDurationMs, longerOpen, sameOpenDuration, type EnvironmentPermission } from '../policy';
import type { StackPermissionLevel, TeamEnvironmentPermission, TeamStackPermission } from '../pulumi';

/**
 * Scope arithmetic for dependent tokens, all pure.
 *
 * A scoped token lives on a private team whose grants are `scope ∩ parent team grants`: a stack
 * is granted only when the scope names it and the parent team holds it, at the lower of the
 * parent's level and the scope entry's cap. Levels are Pulumi's opaque integers; their order
 * (read < write < admin) is written down here once instead of comparing the integers. ESC
 * environments follow the same rules with their own named levels (read < open < write < admin,
 * docs/pulumi-api.md, "Environment permissions"); the two kinds never match each other.
 */

export type PermissionName = 'read' | 'write' | 'admin';

/** One stack entry of a token's requested scope. `stack` may be `*` (every stack of the project). */
export interface StackScopeEntry {
  project: string;
  stack: string;
  /** Upper bound for this entry; absent = whatever the parent team holds. */
  permission?: PermissionName;
}

/** One environment entry of a token's requested scope. `environment` may be `*` (every environment of the project). */
export interface EnvironmentScopeEntry {
  environment: {
    project: string;
    environment: string;
    /** Upper bound for this entry; absent = whatever the parent team holds. */
    permission?: EnvironmentPermission;
  };
}

/** One entry of a token's requested scope: a stack or an ESC environment. */
export type ScopeEntry = StackScopeEntry | EnvironmentScopeEntry;

/** A concrete grant of one stack to one team. */
export interface StackGrant {
  project: string;
  stack: string;
  permission: StackPermissionLevel;
}

/** A concrete grant of one ESC environment to one team. */
export interface EnvironmentGrant {
  project: string;
  environment: string;
  permission: EnvironmentPermission;
  /** How long one open may last (a Go duration); absent: no limit. */
  maxOpenDuration?: string;
}

/** What a private team holds: stack and environment grants, stored together in the ledger. */
export type TokenGrant = StackGrant | EnvironmentGrant;

export function isEnvironmentGrant(g: TokenGrant): g is EnvironmentGrant {
  return 'environment' in g;
}

export function isEnvironmentEntry(entry: ScopeEntry): entry is EnvironmentScopeEntry {
  return 'environment' in entry;
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

/** A grant in words, as the API, the console and the audit log show it. */
export type GrantView = { project: string; stack: string; permission: PermissionName } | EnvironmentGrant;

export function grantView(g: TokenGrant): GrantView {
  return isEnvironmentGrant(g) ? g : { project: g.project, stack: g.stack, permission: levelName(g.permission) };
}

/** An entry in words: `infra/prod:read`, or `env:infra/prod:open` for an environment (the console's scope syntax). */
export function scopeText(entry: ScopeEntry): string {
  const { project, permission } = isEnvironmentEntry(entry) ? entry.environment : entry;
  const name = isEnvironmentEntry(entry) ? `env:${project}/${entry.environment.environment}` : `${project}/${entry.stack}`;
  return `${name}${permission ? `:${permission}` : ''}`;
}

export function fromTeamStacks(stacks: readonly TeamStackPermission[] | undefined): StackGrant[] {
  return (stacks ?? []).map((s) => ({
    project: s.projectName,
    stack: s.stackName,
    permission: normaliseLevel(s.permission),
  }));
}

/**
 * A team's environment grants as Pulumi reports them. A level we do not know is kept as
 * reported: it then differs from any desired level, so the plan edits it.
 */
export function fromTeamEnvironments(environments: readonly TeamEnvironmentPermission[] | undefined): EnvironmentGrant[] {
  return (environments ?? []).map((e) => ({
    project: e.projectName,
    environment: e.envName,
    permission: e.permission as EnvironmentPermission,
    ...(e.maxOpenDuration && (goDurationMs(e.maxOpenDuration) ?? 0) > 0 ? { maxOpenDuration: e.maxOpenDuration } : {}),
  }));
}

/** Stacks and environments live in one key space; `env:` keeps an environment from ever matching a stack. */
export function grantKey(g: { project: string; stack: string } | { project: string; environment: string }): string {
  return 'environment' in g ? `env:${g.project}/${g.environment}` : `${g.project}/${g.stack}`;
}

/** The level of `grant` capped by `cap` (same kind); the shorter open limit of the two wins. */
function capped<G extends TokenGrant>(grant: G, cap: G): G {
  if (!isEnvironmentGrant(grant)) {
    return { ...grant, permission: lowerLevel(grant.permission, (cap as StackGrant).permission) };
  }
  const bound = cap as EnvironmentGrant;
  const permission = environmentRank(grant.permission) <= environmentRank(bound.permission) ? grant.permission : bound.permission;
  const maxOpenDuration = longerOpen(grant.maxOpenDuration, bound.maxOpenDuration) ? bound.maxOpenDuration : grant.maxOpenDuration;
  const { maxOpenDuration: _dropped, ...rest } = grant;
  return { ...rest, permission, ...(maxOpenDuration ? { maxOpenDuration } : {}) } as G;
}

/** The higher of two levels of one grant's kind. */
function higherOf(grant: TokenGrant, a: TokenGrant['permission'], b: TokenGrant['permission']): TokenGrant['permission'] {
  if (!isEnvironmentGrant(grant)) return higherLevel(a as StackPermissionLevel, b as StackPermissionLevel);
  return environmentRank(a as string) >= environmentRank(b as string) ? a : b;
}

/** The cap an entry puts on `grant` (its own level when the entry names none); undefined when it does not name it. */
function entryCap(entry: ScopeEntry, grant: TokenGrant): TokenGrant['permission'] | undefined {
  if (isEnvironmentEntry(entry)) {
    const e = entry.environment;
    if (!isEnvironmentGrant(grant) || e.project !== grant.project || (e.environment !== '*' && e.environment !== grant.environment)) return undefined;
    return e.permission ?? grant.permission;
  }
  if (isEnvironmentGrant(grant) || entry.project !== grant.project || (entry.stack !== '*' && entry.stack !== grant.stack)) return undefined;
  return entry.permission ? PERMISSION_LEVEL[entry.permission] : grant.permission;
}

/**
 * `scope ∩ parent`: every parent grant some scope entry names, capped by that entry. When
 * several entries name one stack or environment (an exact entry and a `*`), the most generous
 * cap among them applies — the scope is a union of what the owner asked for. Sorted by key so
 * equal inputs give byte-equal outputs.
 */
export function intersectScope<G extends TokenGrant>(scope: readonly ScopeEntry[], parent: readonly G[]): G[] {
  const out: G[] = [];
  for (const grant of parent) {
    let cap: TokenGrant['permission'] | undefined;
    for (const entry of scope) {
      const named = entryCap(entry, grant);
      if (named === undefined) continue;
      cap = cap === undefined ? named : higherOf(grant, cap, named);
    }
    if (cap !== undefined) out.push(capped(grant, { ...grant, permission: cap, maxOpenDuration: undefined }));
  }
  return sortGrants(dedupeHighest(out));
}

/**
 * The grants a private team should hold now: the current intersection, never above what the
 * token was issued with. A token only ever narrows; a parent team that later gains or upgrades
 * a grant does not silently widen tokens issued before.
 */
export function desiredPrivateGrants<G extends TokenGrant>(scope: readonly ScopeEntry[], issued: readonly TokenGrant[], parent: readonly G[]): G[] {
  const issuedByKey = new Map(issued.map((g) => [grantKey(g), g]));
  return intersectScope(scope, parent).flatMap((g) => {
    const issuedGrant = issuedByKey.get(grantKey(g));
    return issuedGrant === undefined ? [] : [capped(g, issuedGrant as G)];
  });
}

/** Operations that move a private team from `actual` to `desired`: removals, downgrades, additions. */
export type PrivateTeamOp =
  | { kind: 'removeStack'; project: string; stack: string }
  | { kind: 'editStack'; project: string; stack: string; permission: StackPermissionLevel }
  | { kind: 'addStack'; project: string; stack: string; permission: StackPermissionLevel }
  | { kind: 'removeEnvironment'; project: string; environment: string }
  | { kind: 'editEnvironment'; project: string; environment: string; permission: EnvironmentPermission; maxOpenDuration?: string }
  | { kind: 'addEnvironment'; project: string; environment: string; permission: EnvironmentPermission; maxOpenDuration?: string };

function sameGrant(a: TokenGrant, b: TokenGrant): boolean {
  if (a.permission !== b.permission) return false;
  return !isEnvironmentGrant(a) || !isEnvironmentGrant(b) || sameOpenDuration(a.maxOpenDuration, b.maxOpenDuration);
}

function setOp(kind: 'edit' | 'add', g: TokenGrant): PrivateTeamOp {
  if (isEnvironmentGrant(g)) {
    const { project, environment, permission, maxOpenDuration } = g;
    return { kind: kind === 'edit' ? 'editEnvironment' : 'addEnvironment', project, environment, permission, ...(maxOpenDuration ? { maxOpenDuration } : {}) };
  }
  return { kind: kind === 'edit' ? 'editStack' : 'addStack', project: g.project, stack: g.stack, permission: g.permission };
}

/**
 * Pure plan for a private team's grants, ordered so access only shrinks before it grows:
 * removals first, then level changes, then additions (additions happen only when a re-issue
 * or a repair restores something the token was issued with).
 */
export function planPrivateTeam(desired: readonly TokenGrant[], actual: readonly TokenGrant[]): PrivateTeamOp[] {
  const want = new Map(desired.map((g) => [grantKey(g), g]));
  const have = new Map(actual.map((g) => [grantKey(g), g]));
  const removals: PrivateTeamOp[] = [];
  const edits: PrivateTeamOp[] = [];
  const additions: PrivateTeamOp[] = [];
  for (const [key, g] of [...have].sort(byKey)) {
    const target = want.get(key);
    if (!target) {
      removals.push(
        isEnvironmentGrant(g)
          ? { kind: 'removeEnvironment', project: g.project, environment: g.environment }
          : { kind: 'removeStack', project: g.project, stack: g.stack },
      );
    } else if (!sameGrant(target, g)) edits.push(setOp('edit', target));
  }
  for (const [key, g] of [...want].sort(byKey)) {
    if (!have.has(key)) additions.push(setOp('add', g));
  }
  return [...removals, ...edits, ...additions];
}

function dedupeHighest<G extends TokenGrant>(grants: G[]): G[] {
  const byKey = new Map<string, G>();
  for (const g of grants) {
    const seen = byKey.get(grantKey(g));
    byKey.set(grantKey(g), seen ? ({ ...g, permission: higherOf(g, seen.permission, g.permission) } as G) : g);
  }
  return [...byKey.values()];
}

function sortGrants<G extends TokenGrant>(grants: G[]): G[] {
  return grants.sort((a, b) => (grantKey(a) < grantKey(b) ? -1 : grantKey(a) > grantKey(b) ? 1 : 0));
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
