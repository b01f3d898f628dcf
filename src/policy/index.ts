/**
 * Policy: `config/sync.yaml` (README.md, "Policy reference") loaded, validated and compiled, plus the pure rules
 * that map directory rows to Pulumi names. `PolicyStore` holds the current policy so a
 * SIGHUP can swap it without dropping work: readers take `store.current` per job.
 */
export { loadPolicy, parsePolicy, PolicyError, durationMs, isManageableTeamName } from './load';
export type {
  AdoptMode,
  OrgDefaultPermission,
  Policy,
  PolicyProblem,
  SignalAction,
  SignalEvent,
  TeamRule,
  StackRule,
  Permission,
  LoginSource,
  GroupMatcher,
  AdminsMatcher,
  LoadPolicyOptions,
} from './load';
export {
  loginFor,
  attributeAt,
  teamsForGroup,
  globToRegExp,
  resolveGrants,
  resolveEnvironmentGrants,
  grantKey,
  rankOf,
  GROUP_PATTERN_MAX_SUBJECT,
} from './resolve';
export type { DirectoryUser, RuleGroup, TeamMatch, OrgStack } from './resolve';
export { TOKEN_TEAM_PREFIX, PERMISSIONS, SIGNAL_ACTIONS, SIGNAL_EVENTS } from './schema';
export { PolicyStore } from './store';
export { adminTeamsForGroup, isAdminsGroup } from './team-roles';
export { ENVIRONMENT_PERMISSIONS, environmentKey, environmentRank, goDurationMs, longerOpen, sameOpenDuration } from './environments';
export type { EnvironmentGrant, EnvironmentPermission, EnvironmentRule, OrgEnvironment } from './environments';
