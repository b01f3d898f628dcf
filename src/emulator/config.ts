/**
 * Behaviour switches of the emulator. Every point docs/pulumi-api.md, "Unconfirmed points", lists has one,
 * with the default set to the most plausible behaviour, so tests can pin the daemon against
 * each alternative the real service might show.
 */
export interface EmulatorConfig {
  /** Page sizes (the emulator's server-side cap; `maxResults` can only lower them). */
  pageSizes: { members: number; tokens: number; stacks: number; environments: number };
  /** §3.1: do ListTeams entries carry `members` and `stacks`? UNCONFIRMED. @defaultValue 'summary' */
  listTeamsDetail: 'summary' | 'full';
  /** §3.1: team-name length limit (only SCIM's 40 is documented). UNCONFIRMED. @defaultValue 40 */
  teamNameMaxLength: number;
  /** §3.1: team-name characters. UNCONFIRMED. @defaultValue ^[A-Za-z0-9._-]+$ */
  teamNamePattern: string;
  /** Does the creator of a team become its admin member? UNCONFIRMED. @defaultValue false */
  creatorJoinsNewTeam: boolean;
  /** §3.1: an empty `newDisplayName`/`newDescription` clears the field or keeps it. UNCONFIRMED. @defaultValue 'keep' */
  updateTeamEmptyField: 'keep' | 'clear';
  /** §3.2: several change kinds in one PATCH. UNCONFIRMED. @defaultValue 'reject' (400) */
  multipleChangesPerPatch: 'reject' | 'apply';
  /** §4/§7.1: `memberAction: add` for a user already on the team (the provider assumes 409). */
  addExistingTeamMemberStatus: 409 | 204;
  /** §4/§7.1: `memberAction: remove` for a user not on the team. UNCONFIRMED. @defaultValue 404 */
  removeAbsentTeamMemberStatus: 404 | 204 | 400;
  /** §4/§7.1: `memberAction: add` for a login that is not an org member. UNCONFIRMED. @defaultValue 400 */
  addNonOrgMemberStatus: 400 | 404;
  /** §5/§7.4: membership edits on `kind: scim|github` teams. UNCONFIRMED. @defaultValue 400 */
  nonPulumiTeamMembershipEdit: 400 | 403 | 409 | 'allow';
  /** §3.3/§7.2: `addStackPermission` (and §3.4 `addEnvironmentPermission`) when the team already has that grant. UNCONFIRMED. @defaultValue 409 */
  addExistingGrant: 409 | 400 | 'overwrite';
  /** §7.2: `editStackPermission` (and `editEnvironmentPermission`) when there is no grant. UNCONFIRMED. @defaultValue 404 */
  editMissingGrant: 404 | 400 | 'create';
  /** §3.3: `removeStack` (and §3.4 `removeEnvironment`) when there is no grant. UNCONFIRMED. @defaultValue 404 */
  removeMissingGrant: 404 | 400 | 204;
  /** §7.2: grants on a stack that does not exist. UNCONFIRMED. @defaultValue 404 */
  grantOnUnknownStack: 404 | 400 | 'allow';
  /** §3.6: token-name collision (unique org-wide, deleted included). Status UNCONFIRMED. @defaultValue 409 */
  tokenNameTakenStatus: 409 | 400;
  /** §7.6: deleting an unknown token id. UNCONFIRMED. @defaultValue 404 */
  deleteUnknownTokenStatus: 404 | 400 | 204;
  /** §3.8: roster when ListOrganizationMembers gets no `type`. UNCONFIRMED. @defaultValue 'frontend' */
  membersDefaultRoster: 'frontend' | 'backend';
  /** §3.8: the backend roster carries a placeholder entry whose login is the org name. @defaultValue true */
  backendRosterIncludesOrgEntry: boolean;
  /** §3.8: members list carries `email` ("typically empty"). @defaultValue false */
  memberListIncludesEmail: boolean;
  /**
   * §3.5: whether the org has custom roles (fine-grained RBAC), and otherwise how its role
   * catalogue answers: with the built-in roles only, or 404 or 400. UNCONFIRMED. @defaultValue 'enabled'
   */
  customRoles: 'enabled' | 'builtin-only' | 404 | 400;
  /** Require `Accept: application/vnd.pulumi+8` or `+9` (the real service's behaviour is unknown). @defaultValue false */
  requireAcceptHeader: boolean;
  /** Call-log entries kept (counters are exact regardless). @defaultValue 10000 */
  callLogLimit: number;
}

export const DEFAULT_EMULATOR_CONFIG: Readonly<EmulatorConfig> = Object.freeze({
  pageSizes: Object.freeze({ members: 50, tokens: 100, stacks: 100, environments: 100 }) as EmulatorConfig['pageSizes'],
  listTeamsDetail: 'summary',
  teamNameMaxLength: 40,
  teamNamePattern: '^[A-Za-z0-9._-]+$',
  creatorJoinsNewTeam: false,
  updateTeamEmptyField: 'keep',
  multipleChangesPerPatch: 'reject',
  addExistingTeamMemberStatus: 409,
  removeAbsentTeamMemberStatus: 404,
  addNonOrgMemberStatus: 400,
  nonPulumiTeamMembershipEdit: 400,
  addExistingGrant: 409,
  editMissingGrant: 404,
  removeMissingGrant: 404,
  grantOnUnknownStack: 404,
  tokenNameTakenStatus: 409,
  deleteUnknownTokenStatus: 404,
  membersDefaultRoster: 'frontend',
  backendRosterIncludesOrgEntry: true,
  memberListIncludesEmail: false,
  customRoles: 'enabled',
  requireAcceptHeader: false,
  callLogLimit: 10_000,
} satisfies EmulatorConfig);

export type EmulatorConfigInput = Partial<Omit<EmulatorConfig, 'pageSizes'>> & {
  pageSizes?: Partial<EmulatorConfig['pageSizes']>;
};

export function resolveConfig(base: EmulatorConfig, input: EmulatorConfigInput = {}): EmulatorConfig {
  return {
    ...base,
    ...input,
    pageSizes: { ...base.pageSizes, ...input.pageSizes },
  };
}
