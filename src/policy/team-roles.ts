import type { AdminsMatcher, Policy } from './load';
import type { RuleGroup, TeamMatch } from './resolve';

/**
 * Which group a rule's `admins:` names: the same matching as the rule's own group (display name
 * case-insensitively, or the IdP's id exactly). Pure.
 */
export function isAdminsGroup(admins: AdminsMatcher, group: RuleGroup): boolean {
  return admins.kind === 'group' ? admins.nameLower === group.displayName.toLowerCase() : Boolean(group.externalId) && admins.externalId === group.externalId;
}

/** The teams whose admins a group is, by the rules as written (only rules with one team carry `admins`). */
export function adminTeamsForGroup(policy: Policy, group: RuleGroup): TeamMatch[] {
  return policy.rules.flatMap((rule) =>
    rule.admins && rule.team && isAdminsGroup(rule.admins, group) ? [{ team: rule.team, ruleIndex: rule.index, ruleKey: rule.key }] : [],
  );
}
