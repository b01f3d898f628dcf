/**
 * Pulumi Service REST shapes, field names exactly as on the wire (docs/pulumi-api.md, "Shapes").
 */

export type TeamKind = 'pulumi' | 'github' | 'scim';

/** Stack permission integers: 101 read, 102 write, 103 admin (104 creator is never granted). */
export type StackPermissionLevel = 101 | 102 | 103;

export interface UserInfo {
  name: string;
  /** The user's Pulumi login (called githubLogin for historical reasons). */
  githubLogin: string;
  avatarUrl?: string;
  email?: string;
}

export interface TeamMemberInfo extends UserInfo {
  role: 'none' | 'member' | 'admin';
}

export interface TeamStackPermission {
  projectName: string;
  stackName: string;
  permission: number;
  permissionSetName?: string;
}

/** One ESC environment grant on a team (§2 `environments[]`); levels are names, not integers. */
export interface TeamEnvironmentPermission {
  projectName: string;
  envName: string;
  permission: 'none' | 'read' | 'open' | 'write' | 'admin' | string;
  /** A Go duration such as `1h30m`. */
  maxOpenDuration?: string;
  permissionSetName?: string;
}

/** One entry of ListOrgEnvironments (§3.10); `deletedAt` marks a soft-deleted environment. */
export interface OrgEnvironmentSummary {
  id?: string;
  organization?: string;
  project: string;
  name: string;
  created?: string;
  modified?: string;
  tags?: Record<string, string>;
  deletedAt?: string;
}

export interface Team {
  name: string;
  displayName: string;
  description: string;
  kind: TeamKind;
  members?: TeamMemberInfo[];
  stacks?: TeamStackPermission[];
  environments?: TeamEnvironmentPermission[];
  accounts?: unknown[];
  roleIds?: string[];
  userRole?: 'none' | 'member' | 'admin';
  listMembersError?: string;
}

/** An entry of the org's role catalogue (a permission descriptor record); only what the daemon reads. */
export interface OrgRoleRecord {
  id: string;
  name: string;
  /** Set on the built-in roles (`admin`, `member`, `billing-manager`); empty or absent on custom roles. */
  defaultIdentifier?: string;
  uxPurpose?: string;
}

export interface AccessToken {
  id: string;
  name: string;
  description: string;
  /** ISO-8601. */
  created: string;
  /** Creator's login. */
  createdBy: string;
  /** Unix seconds; 0 = never used. */
  lastUsed: number;
  /** Unix seconds; 0 = never expires. */
  expires: number;
  admin: boolean;
  type: 'personal' | 'refresh' | 'organization' | 'team';
  role?: { id: string; name: string; defaultIdentifier?: string };
}

export interface CreateAccessTokenResponse {
  id: string;
  tokenValue: string;
}

export interface OrganizationMember {
  user: UserInfo;
  role: 'none' | 'member' | 'admin' | 'potential-member' | 'stack-collaborator' | 'billing-manager';
  fgaRole?: { id: string; name: string; modifiedAt?: string };
  knownToPulumi: boolean;
  virtualAdmin: boolean;
  created?: string;
  links?: { self: string };
}

export interface StackSummary {
  orgName: string;
  projectName: string;
  stackName: string;
  id?: string;
  lastUpdate?: number;
  resourceCount?: number;
}

/** The error body of 4xx/5xx answers; some answers are plain text instead. */
export interface PulumiErrorBody {
  code: number;
  message: string;
  documentationUrl?: string;
  errors?: Array<{
    resource: string;
    attribute?: string;
    errorType: 'not_found' | 'required' | 'invalid' | 'already_exists' | 'custom' | string;
    customMessage?: string;
  }>;
}
