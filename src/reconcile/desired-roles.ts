import { listDirectoryGroups, type Db, type Trx } from '../directory';
import { isAdminsGroup, type Policy } from '../policy';

/**
 * The team-role part of desired state: which directory groups are a team's `admins` groups,
 * and which custom role its rules name. An admins group is matched as written, like a rule's
 * own group (display name or the IdP's id); a name that fits several groups, or rules that give
 * one team different roles, block the team rather than guess (docs/live-org.md).
 */
export interface TeamRoles {
  adminGroupIds: string[];
  role?: string;
  blocked: string[];
}

export async function readTeamRoles(
  conn: Db | Trx,
  policy: Policy,
  rulesByTeam: ReadonlyMap<string, { rules: ReadonlySet<number> }>,
): Promise<Map<string, TeamRoles>> {
  const out = new Map<string, TeamRoles>();
  const needsGroups = policy.rules.some((r) => r.admins);
  const groups = needsGroups ? await listDirectoryGroups(conn) : [];
  for (const [team, { rules: indices }] of rulesByTeam) {
    const rules = policy.rules.filter((r) => indices.has(r.index));
    const entry: TeamRoles = { adminGroupIds: [], blocked: [] };
    const roles = [...new Set(rules.flatMap((r) => (r.role === undefined ? [] : [r.role])))];
    if (roles.length > 1) entry.blocked.push(`the rules give the team ${roles.length} custom roles (${roles.join(', ')}); a team holds one`);
    else if (roles.length === 1) entry.role = roles[0];
    for (const rule of rules) {
      if (!rule.admins) continue;
      const admins = rule.admins;
      const matched = groups.filter((g) => isAdminsGroup(admins, { displayName: g.display_name, externalId: g.external_id }));
      if (matched.length > 1) {
        const names = matched.map((g) => `"${g.display_name}" (${g.id})`).join(', ');
        entry.blocked.push(
          `rule ${rule.index + 1}${rule.line ? ` (line ${rule.line})` : ''} admins matches ${matched.length} groups: ${names}; name it by groupExternalId`,
        );
      } else if (matched.length === 1 && !entry.adminGroupIds.includes(matched[0].id)) entry.adminGroupIds.push(matched[0].id);
    }
    out.set(team, entry);
  }
  return out;
}
