import type { LedgerToken } from './ledger';
import { desiredPrivateGrants, type TokenGrant } from './scope';

/**
 * Every token's fate is decided here, and only here: keep it, narrow it, or revoke it with a
 * reason. The team reconcile (creator-bound tokens in its plan), the revoke lane, the team's
 * token step and the sweep all ask these functions, so a rule is written once
 * (docs/architecture.md, "token fates"). Pure: the callers gather the facts.
 */

/** What the directory says of a person now. */
export type PersonState = 'active' | 'deactivated' | 'deleted';

/** Why a creator-bound team token goes (the short code shows in Pulumi's own audit log). */
export type CreatorRevokeWhy = 'creator-left-team' | 'creator-deactivated' | 'creator-deleted' | 'unknown-creator' | 'team-unmapped';

export type Fate = { action: 'keep' } | { action: 'narrow'; grants: TokenGrant[] } | { action: 'revoke'; reason: string };

const KEEP: Fate = { action: 'keep' };

/** The audit reason when a person lost access to `team`. */
export function lossReason(state: PersonState, team: string, who: 'owner' | 'creator'): string {
  if (state === 'deleted') return `${who} deleted in the IdP`;
  if (state === 'deactivated') return `${who} deactivated in the IdP`;
  return `${who} is no longer a member of team ${team}`;
}

export interface CreatorFacts {
  /** The creator as the directory knows them; undefined when no directory person has that login. */
  creator?: { state: PersonState; isMember: boolean };
  /** Whether any group still maps to the team. */
  teamMapped: boolean;
}

export interface CreatorRules {
  revokeWhenCreatorLeaves: boolean;
  revokeUnknownCreators: boolean;
}

/**
 * A creator-bound team token (one a person made on the team) lives while its creator is an
 * active member of the team; creators the directory never knew lose it only when the policy
 * says so. Tokens this daemon issued are the ledger's (`ledgerTokenFate`), never this rule's.
 */
export function creatorBoundFate(facts: CreatorFacts, rules: CreatorRules): CreatorRevokeWhy | undefined {
  if (!rules.revokeWhenCreatorLeaves) return undefined;
  const { creator } = facts;
  if (!creator) return rules.revokeUnknownCreators ? 'unknown-creator' : undefined;
  if (creator.state === 'deleted') return 'creator-deleted';
  if (creator.state === 'deactivated') return 'creator-deactivated';
  if (!creator.isMember) return facts.teamMapped ? 'creator-left-team' : 'team-unmapped';
  return undefined;
}

/** The audit wording of a creator-bound revocation. */
export function creatorRevokeReason(why: CreatorRevokeWhy, team: string): string {
  switch (why) {
    case 'creator-deleted':
      return lossReason('deleted', team, 'creator');
    case 'creator-deactivated':
      return lossReason('deactivated', team, 'creator');
    case 'unknown-creator':
      return 'creator is unknown to the directory';
    default:
      return lossReason('active', team, 'creator');
  }
}

export interface LedgerFacts {
  /** The parent team's desired stack and environment grants; null when the daemon no longer manages the team. */
  parentGrants: readonly TokenGrant[] | null;
  /** Whether the owner is an active member of the parent team now. */
  ownerIsMember: boolean;
  ownerState: PersonState;
  now: Date;
}

/**
 * A token the ledger issued: revoked when its team is no longer managed, it expired, its owner
 * left, or nothing in its scope is granted any more; a scoped token is otherwise narrowed to
 * `scope ∩ parent grants` (never widened beyond what it was issued with).
 */
export function ledgerTokenFate(token: LedgerToken, facts: LedgerFacts): Fate {
  if (facts.parentGrants === null) return { action: 'revoke', reason: `team ${token.parentTeam} is no longer managed` };
  if (isExpired(token, facts.now)) return { action: 'revoke', reason: 'expired' };
  if (!facts.ownerIsMember) return { action: 'revoke', reason: lossReason(facts.ownerState, token.parentTeam, 'owner') };
  if (token.kind !== 'scoped') return KEEP;
  const grants = desiredPrivateGrants(token.scope ?? [], token.issuedGrants ?? [], [...facts.parentGrants]);
  if (grants.length === 0) return { action: 'revoke', reason: `team ${token.parentTeam} no longer holds any stack or environment in the token's scope` };
  return { action: 'narrow', grants };
}

/** The lane's question: does the owner's loss of access end this token? */
export function ownerLossFate(token: LedgerToken, facts: { ownerIsMember: boolean; ownerState: PersonState }): Fate {
  return facts.ownerIsMember ? KEEP : { action: 'revoke', reason: lossReason(facts.ownerState, token.parentTeam, 'owner') };
}

export function isExpired(token: Pick<LedgerToken, 'expiresAt'>, now: Date): boolean {
  return token.expiresAt !== null && token.expiresAt.getTime() <= now.getTime();
}
