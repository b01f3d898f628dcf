import type { Policy } from '../policy';
import type { OrganizationMember } from '../pulumi';
import type { Op } from './types';

/**
 * Who leaves the Pulumi org (docs/live-org.md, "org lifecycle"): people deactivated or deleted
 * in the IdP, as far as `identity.removeFromOrg` reaches — those the daemon added (`added`),
 * every org member the directory knows (`all`), or nobody (`never`). Org admins are never
 * removed, and neither is the org's own entry. Pure.
 */

export interface RosterEntry {
  admin: boolean;
}

/** The org roster by lower-cased login, with what the removal rule needs to know. */
export function rosterOf(members: readonly OrganizationMember[]): Map<string, RosterEntry> {
  return new Map(
    members.map((m) => [m.user.githubLogin.toLowerCase(), { admin: m.role === 'admin' || m.virtualAdmin || m.fgaRole?.name.toLowerCase() === 'admin' }]),
  );
}

export interface DepartedPerson {
  userId: string;
  login: string;
  state: 'inactive' | 'deleted';
}

export interface OrgRemovalInput {
  org: string;
  departed: readonly DepartedPerson[];
  /** The roster as last read; undefined when only `added` people are considered. */
  roster?: ReadonlyMap<string, RosterEntry>;
  /** Lower-cased logins the daemon added to the org. */
  added: ReadonlySet<string>;
  rule: Policy['removeFromOrg'];
}

export function planOrgRemovals(input: OrgRemovalInput): Op[] {
  const { departed, roster, added, rule } = input;
  if (rule === 'never') return [];
  const ops: Op[] = [];
  const seen = new Set<string>();
  for (const person of departed) {
    const lower = person.login.toLowerCase();
    if (seen.has(lower) || lower === input.org.toLowerCase()) continue;
    seen.add(lower);
    const entry = roster?.get(lower);
    if (entry?.admin) continue;
    const inScope = rule === 'added' ? added.has(lower) : added.has(lower) || entry !== undefined;
    if (!inScope) continue;
    ops.push({ kind: 'removeOrgMember', login: person.login, userId: person.userId, why: person.state === 'deleted' ? 'deleted' : 'deactivated' });
  }
  return ops.sort((a, b) => ((a as { login: string }).login < (b as { login: string }).login ? -1 : 1));
}
