import type { Db } from '../directory/db';
import type { Logger } from '../log';
import type { Policy } from '../policy';
import type { PulumiClient } from '../pulumi';
import type { PersonState } from './fate';
import type { TokenGrant } from './scope';

/**
 * What the tokens part needs from the rest of the daemon, gathered in one dependency object so
 * the admin API, the console, the revoke worker and the reconcile hook all build it the same way.
 */

/**
 * What the tokens controller asks of the rest of the daemon about teams and people: who
 * belongs, what a team is granted (desired state), and what the directory says of a person.
 * src/runtime builds it from the reconciler and the directory.
 */
export interface TeamAccessView {
  /** The team's desired stack and environment grants; null when the daemon does not manage that team. */
  desiredGrants(team: string): Promise<TokenGrant[] | null>;
  /** Whether the SCIM user is, per directory and policy, an active member of the team now. */
  isActiveMember(userId: string, team: string): Promise<boolean>;
  /** The SCIM user ids of the team's active members now: one read for a batch of people. */
  activeMembers(team: string): Promise<ReadonlySet<string>>;
  /** Pulumi logins a SCIM user had (kept after a delete), for matching a token's `createdBy`. */
  loginsOf(userId: string): Promise<string[]>;
  /** What the directory says of the person now (a deleted person is no longer there). */
  personState(userId: string): Promise<PersonState>;
  /** Those of `teams` the daemon owns (created or adopted), whose creator-bound tokens it may revoke. */
  ownedTeams(teams: readonly string[]): Promise<string[]>;
}

/** `member.removed`: the revoke lane took a departed person off a team (docs/audit.md). */
export type TokenAuditAction = 'token.issued' | 'token.revoked' | 'token.narrowed' | 'token.issue_failed' | 'member.removed';

export interface TokenAuditEntry {
  action: TokenAuditAction;
  /**
   * `intent`: appended before the Pulumi write (docs/audit.md), the writer returns its id;
   * an outcome names that id in `intentId`. @defaultValue applied
   */
  outcome?: 'intent' | 'applied' | 'already' | 'failed';
  intentId?: string;
  /** The Pulumi team the change was applied to (parent team, or the token's private team). */
  team: string;
  reason: string;
  /** SCIM request id of the change that caused it, if a SCIM change did. */
  requestId: string | null;
  /** From that SCIM request's commit (outbox created_at) to the Pulumi call, in ms. */
  latencyMs: number | null;
  detail: Record<string, unknown>;
}

/** Appends the entry; resolves with its id (an intent's id is what its outcome names). */
export type TokenAuditWriter = (entry: TokenAuditEntry) => Promise<string | undefined>;

export interface TokenDeps {
  db: Db;
  pulumi: PulumiClient;
  /** The Pulumi organization. */
  org: string;
  /** Read once per call: `tokens.revokeWhenCreatorLeaves` decides creator-bound revocation. */
  policy: { readonly current: Policy };
  access: TeamAccessView;
  audit: TokenAuditWriter;
  logger: Logger;
  /** Clock, replaceable in tests of the expiry sweep. @defaultValue () => new Date() */
  now?: () => Date;
  /** Caps on what one person may hold and be issued. @defaultValue DEFAULT_ISSUE_CAPS */
  issueCaps?: TokenIssueCaps;
}

/**
 * Each issue costs several Pulumi calls from the org's one budget, so nobody may issue without
 * limit (docs/robustness.md, "Abuse limits").
 */
export interface TokenIssueCaps {
  /** Live tokens (issuing, active, revoking) per person. */
  livePerPerson: number;
  /** Tokens issued per person in the last hour, revoked ones included. */
  issuesPerHour: number;
}

export const DEFAULT_ISSUE_CAPS: TokenIssueCaps = { livePerPerson: 20, issuesPerHour: 10 };
