import { globToRegExp, grantKey, type OrgDefaultPermission, type OrgStack, rankOf, resolveGrants, type StackRule } from '../policy';

/**
 * "Why does this person have this permission on this stack?" (docs/access-review.md), as a pure
 * function of desired state, policy and the token ledger: every path that gives a person a
 * permission on a stack, and the effective permission, the highest of them.
 *
 * A path is one of:
 * - `team`: SCIM group → the policy rule that maps it (file:line) → Pulumi team → the team's
 *   grant on the stack, with the rules whose stack lines give that level (`grantedBy`);
 * - `token`: a live token the person owns → the Pulumi team it lives on (a scoped token's private
 *   team, else the team itself) → its grant;
 * - `orgDefault`: the org's default stack permission for members, when the policy states it.
 */

export type PermissionName = 'read' | 'write' | 'admin';

const LEVEL_NAME: Readonly<Record<number, PermissionName>> = { 101: 'read', 102: 'write', 103: 'admin' };
const NAME_RANK: Readonly<Record<PermissionName, number>> = { read: 1, write: 2, admin: 3 };

export interface AccessPerson {
  userId: string;
  userName: string;
  /** The Pulumi login the person is synced as; null when they have none. */
  login: string | null;
}

/** A policy rule as the access view names it: `config/sync.yaml:18`. */
export interface RuleRef {
  index: number;
  line: number | null;
  ref: string;
}

export interface AccessRule {
  index: number;
  line?: number;
  stacks: readonly StackRule[];
}

/** One (rule, team, group) binding, as desired state binds groups to teams. */
export interface AccessBinding {
  team: string;
  ruleIndex: number;
  group: { id: string; displayName: string };
}

/** A live token of the ledger, as the access view needs it. */
export interface AccessTokenFact {
  id: string;
  tokenName: string;
  kind: 'scoped' | 'team';
  ownerUserId: string;
  /** The userName recorded at issuance: the owner may be gone from the directory. */
  ownerUserName: string;
  parentTeam: string;
  /** Where the token lives: its private team when scoped, else the parent team. */
  pulumiTeam: string;
  /** A scoped token's private team grants; null for a team token, which has the team's. */
  grants: ReadonlyArray<{ project: string; stack: string; permission: PermissionName }> | null;
}

export interface AccessFacts {
  policyFile: string;
  orgDefault: OrgDefaultPermission;
  /** The org's stacks the rules' globs resolve against. */
  stacks: readonly OrgStack[];
  rules: readonly AccessRule[];
  bindings: readonly AccessBinding[];
  /** Each team's desired members by SCIM user id (active, with a login, not in conflict). */
  teamMembers: ReadonlyMap<string, ReadonlySet<string>>;
  /** Each group's members by SCIM user id. */
  groupMembers: ReadonlyMap<string, readonly string[]>;
  people: ReadonlyMap<string, AccessPerson>;
  tokens: readonly AccessTokenFact[];
}

export type AccessPath =
  | { kind: 'team'; group: { id: string; displayName: string }; rule: RuleRef; team: string; permission: PermissionName; grantedBy: RuleRef[] }
  | { kind: 'token'; tokenId: string; tokenName: string; tokenKind: 'scoped' | 'team'; team: string; parentTeam: string; permission: PermissionName }
  | { kind: 'orgDefault'; permission: PermissionName };

export interface AccessRow {
  person: AccessPerson;
  project: string;
  stack: string;
  /** The highest permission of `paths`. */
  effective: PermissionName;
  paths: AccessPath[];
}

/** Which rows to compute: one person's, one stack's, or (neither) everyone's on every stack. */
export interface AccessFilter {
  userId?: string;
  stack?: { project: string; stack: string };
}

function ruleRef(file: string, rule: { index: number; line?: number }): RuleRef {
  return { index: rule.index, line: rule.line ?? null, ref: rule.line ? `${file}:${rule.line}` : `${file} (rule ${rule.index + 1})` };
}

function higherPermission(a: PermissionName, b: PermissionName): PermissionName {
  return NAME_RANK[a] >= NAME_RANK[b] ? a : b;
}

/** The org default as a permission someone holds: none when `none` or not known. */
export function orgDefaultGrant(orgDefault: OrgDefaultPermission): PermissionName | undefined {
  return orgDefault === 'read' || orgDefault === 'write' || orgDefault === 'admin' ? orgDefault : undefined;
}

/** A team's grants: its rules' stack lines resolved against the org's stacks, highest wins (as desired state has them). */
function teamGrants(
  facts: AccessFacts,
  ruleIndexes: ReadonlySet<number>,
): Map<string, { project: string; stack: string; permission: PermissionName; grantedBy: RuleRef[] }> {
  const rules = facts.rules.filter((r) => ruleIndexes.has(r.index));
  const out = new Map<string, { project: string; stack: string; permission: PermissionName; grantedBy: RuleRef[] }>();
  for (const [key, grant] of resolveGrants(
    rules.flatMap((r) => r.stacks),
    facts.stacks,
  )) {
    const grantedBy = rules
      .filter((r) =>
        r.stacks.some(
          (s) =>
            rankOf(s.permission) === rankOf(grant.permission) && globToRegExp(s.project).test(grant.projectName) && globToRegExp(s.stack).test(grant.stackName),
        ),
      )
      .map((r) => ruleRef(facts.policyFile, r));
    out.set(key, { project: grant.projectName, stack: grant.stackName, permission: LEVEL_NAME[grant.permission]!, grantedBy });
  }
  return out;
}

export function explainAccess(facts: AccessFacts, filter: AccessFilter = {}): AccessRow[] {
  const wantStack = filter.stack ? grantKey(filter.stack.project, filter.stack.stack) : undefined;
  const rows = new Map<string, AccessRow>();
  const personOf = (userId: string, fallbackName: string): AccessPerson => facts.people.get(userId) ?? { userId, userName: fallbackName, login: null };
  const add = (person: AccessPerson, project: string, stack: string, path: AccessPath) => {
    const key = `${person.userId}\0${grantKey(project, stack)}`;
    const row = rows.get(key) ?? { person, project, stack, effective: path.permission, paths: [] };
    row.paths.push(path);
    row.effective = higherPermission(row.effective, path.permission);
    rows.set(key, row);
  };

  const rulesOfTeam = new Map<string, Set<number>>();
  for (const b of facts.bindings) rulesOfTeam.set(b.team, (rulesOfTeam.get(b.team) ?? new Set()).add(b.ruleIndex));
  const grantsOfTeam = new Map([...rulesOfTeam].map(([team, indexes]) => [team, teamGrants(facts, indexes)]));
  const rulesByIndex = new Map(facts.rules.map((r) => [r.index, r]));

  for (const binding of facts.bindings) {
    const members = facts.teamMembers.get(binding.team);
    const rule = rulesByIndex.get(binding.ruleIndex);
    if (!members || !rule) continue;
    for (const userId of facts.groupMembers.get(binding.group.id) ?? []) {
      if (!members.has(userId) || (filter.userId && userId !== filter.userId)) continue;
      for (const [key, grant] of grantsOfTeam.get(binding.team) ?? []) {
        if (wantStack && key !== wantStack) continue;
        add(personOf(userId, userId), grant.project, grant.stack, {
          kind: 'team',
          group: binding.group,
          rule: ruleRef(facts.policyFile, rule),
          team: binding.team,
          permission: grant.permission,
          grantedBy: grant.grantedBy,
        });
      }
    }
  }

  for (const token of facts.tokens) {
    if (filter.userId && token.ownerUserId !== filter.userId) continue;
    const grants = token.grants ?? [...(grantsOfTeam.get(token.parentTeam)?.values() ?? [])];
    for (const grant of grants) {
      if (wantStack && grantKey(grant.project, grant.stack) !== wantStack) continue;
      add(personOf(token.ownerUserId, token.ownerUserName), grant.project, grant.stack, {
        kind: 'token',
        tokenId: token.id,
        tokenName: token.tokenName,
        tokenKind: token.kind,
        team: token.pulumiTeam,
        parentTeam: token.parentTeam,
        permission: grant.permission,
      });
    }
  }

  // Everyone with another path is in the org; the default adds to what they hold.
  const byDefault = orgDefaultGrant(facts.orgDefault);
  if (byDefault) for (const row of rows.values()) add(row.person, row.project, row.stack, { kind: 'orgDefault', permission: byDefault });

  return [...rows.values()]
    .map((row) => ({ ...row, paths: row.paths.sort((a, b) => NAME_RANK[b.permission] - NAME_RANK[a.permission]) }))
    .sort((a, b) => compare(a.person.userName, b.person.userName) || compare(grantKey(a.project, a.stack), grantKey(b.project, b.stack)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
