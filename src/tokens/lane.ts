import { deprovisionToRevokeSeconds } from '../metrics';
import { cachedTokensCreatedBy, type CachedTeamToken, liveTokensOfOwner, recordCreatorBoundRevoked, markRevoking, type LedgerToken } from './ledger';
import { creatorBoundFate, creatorRevokeReason, ownerLossFate } from './fate';
import { isIssuedName } from './naming';
import { NotFoundError } from '../pulumi';
import { auditedTokenWrite } from './audited';
import type { TokenDeps } from './ports';
import { auditReason, finishRevocation, sinceRequest } from './revoke';

/**
 * The fast revoke lane: what runs when the directory says someone lost access (deactivated,
 * deleted, removed from a group), ahead of the normal team reconciles that follow.
 *
 * It revokes, for that one person:
 *   - ledger tokens they own whose parent team they are no longer an active member of;
 *   - creator-bound team tokens they created on teams they are no longer an active member of
 *     (when `tokens.revokeWhenCreatorLeaves` is on), found two ways side by side: in the team
 *     token cache each team reconcile refreshes, and live, on the owned teams Pulumi still
 *     lists them on (the team reconcile has not removed them yet) — a token made since its
 *     team's last reconcile is not in the cache, and would otherwise wait for that reconcile.
 *
 * All decisions are recorded first, then every token DELETE goes out at once; private teams are
 * deleted after their token. Repeating the job is harmless: ledger rows move through
 * `revoking`, creator-bound revocations are recorded once (`revoked_team_tokens`) after their
 * DELETE, and a DELETE of a gone token is done.
 */

export interface IdentityLoss {
  userId: string;
  /** SCIM request id of the write that removed access. */
  requestId: string | null;
  /** When that write committed: the outbox row's created_at. */
  requestedAt: Date | null;
}

export interface IdentityLossResult {
  ledgerRevoked: number;
  creatorBoundRevoked: number;
}

export async function revokeForIdentityLoss(deps: TokenDeps, loss: IdentityLoss): Promise<IdentityLossResult> {
  // Observe mode writes nothing to Pulumi; the team reconciles record what enforce would do.
  if (deps.policy.current.reconcile.mode === 'observe') return { ledgerRevoked: 0, creatorBoundRevoked: 0 };
  const cause = { requestId: loss.requestId, requestedAt: loss.requestedAt };
  const membership = memoMembership(deps, loss.userId);
  // Read once, alongside the token lookups rather than after them (one round trip less before
  // the first DELETE). A failed read is rethrown where it is awaited; if no token needs it,
  // it must not surface as an unhandled rejection.
  const stateRead = deps.access.personState(loss.userId);
  stateRead.catch(() => undefined);
  const state = () => stateRead;
  const result: IdentityLossResult = { ledgerRevoked: 0, creatorBoundRevoked: 0 };

  // Both kinds run side by side and each token goes to its DELETE as soon as its own decision
  // is made: the latency from the SCIM change to the first DELETE is the point of this lane.
  const ledger = async (): Promise<Array<Promise<void>>> =>
    (await liveTokensOfOwner(deps.db, loss.userId)).map(async (token) => {
      let row: LedgerToken | undefined = token;
      if (token.state !== 'revoking') {
        const ownerIsMember = await membership(token.parentTeam);
        const fate = ownerLossFate(token, { ownerIsMember, ownerState: ownerIsMember ? 'active' : await state() });
        if (fate.action !== 'revoke') return;
        row = await markRevoking(deps.db, token.id, { reason: fate.reason, ...cause });
        if (!row) return;
      }
      await finishRevocation(deps, row);
      result.ledgerRevoked += 1;
    });

  const creatorBound = async (): Promise<Array<Promise<void>>> => {
    if (!deps.policy.current.tokens.revokeWhenCreatorLeaves) return [];
    const logins = await deps.access.loginsOf(loss.userId);
    const [cached, live] = await Promise.all([cachedTokensCreatedBy(deps.db, logins), liveTokensCreatedBy(deps, logins, membership)]);
    const seen = new Set<string>();
    const found = [...cached, ...live].filter((t) => !seen.has(t.tokenId) && seen.add(t.tokenId));
    return found.map(async (cached) => {
      // Tokens this part issued carry the daemon's login as createdBy: the ledger branch owns them.
      if (isIssuedName(cached.team) || isIssuedName(cached.tokenName)) return;
      const isMember = await membership(cached.team);
      const creator = { state: isMember ? ('active' as const) : await state(), isMember };
      const why = creatorBoundFate({ creator, teamMapped: true }, deps.policy.current.tokens);
      if (why && (await revokeCreatorBound(deps, loss, cached, creatorRevokeReason(why, cached.team)))) result.creatorBoundRevoked += 1;
    });
  };

  const revocations = (await Promise.all([ledger(), creatorBound()])).flat();
  const failed = (await Promise.allSettled(revocations)).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  // Every revocation above ran to its end or failed alone; a retry of the job repeats the rest.
  if (failed.length > 0) throw failed[0].reason;
  return result;
}

/** Why every token of one person goes at once: a Shared Signals event (docs/shared-signals.md). */
export interface EveryTokenCause {
  userId: string;
  /** The audit and Pulumi-side reason, e.g. "credential change signalled by the IdP". */
  reason: string;
  /** Names the cause in the ledger and the audit log (the SET's jti). */
  requestId: string;
  /** When the cause arrived: the start of the latency `observeLatency` records. */
  requestedAt: Date;
  observeLatency: (seconds: number) => void;
}

/**
 * Revokes every live token the daemon issued to the person, scoped and unscoped, whatever
 * their membership: a compromised credential may have been used to mint them. Tokens the
 * person made themselves on a team are not the daemon's to know of here. Same path as the lane:
 * each row `revoking` with its cause, then its audit intent, DELETE, `revoked` and its outcome. Returns how many.
 */
export async function revokeEveryTokenOf(deps: TokenDeps, cause: EveryTokenCause): Promise<number> {
  if (deps.policy.current.reconcile.mode === 'observe') return 0;
  const tokens = await liveTokensOfOwner(deps.db, cause.userId);
  const outcomes = await Promise.allSettled(
    tokens.map(async (token) => {
      const row = await markRevoking(deps.db, token.id, { reason: cause.reason, requestId: cause.requestId, requestedAt: cause.requestedAt });
      if (!row) return 0;
      await finishRevocation(deps, row, cause.observeLatency);
      return 1;
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.reduce((n, o) => n + (o.status === 'fulfilled' ? o.value : 0), 0);
}

/** Intent, DELETE, then record; true when this call was the first to record (and audit as applied) the revocation. */
async function revokeCreatorBound(deps: TokenDeps, loss: IdentityLoss, cached: CachedTeamToken, reason: string): Promise<boolean> {
  const intent = {
    action: 'token.revoked' as const,
    team: cached.team,
    reason,
    requestId: loss.requestId,
    detail: { tokenId: cached.tokenId, tokenName: cached.tokenName, creatorUserId: loss.userId, lane: 'fast' },
  };
  const { intentId } = await auditedTokenWrite(deps, intent, () => deps.pulumi.deleteTeamToken(deps.org, cached.team, cached.tokenId, auditReason(reason)));
  const latencyMs = sinceRequest(loss.requestedAt);
  if (latencyMs !== null) deprovisionToRevokeSeconds.observe(latencyMs / 1000);
  // A repeat after a crash finds the revocation recorded: its outcome says `already`.
  const first = await recordCreatorBoundRevoked(deps.db, {
    team: cached.team,
    tokenId: cached.tokenId,
    creatorUserId: loss.userId,
    reason,
    requestId: loss.requestId,
  });
  await deps.audit({ ...intent, latencyMs: first ? latencyMs : null, outcome: first ? 'applied' : 'already', intentId });
  if (!first) return false;
  deps.logger.info('creator-bound token revoked', { team: cached.team, tokenId: cached.tokenId, requestId: loss.requestId, latencyMs });
  return true;
}

/**
 * Creator-bound tokens of `logins` on the owned teams Pulumi still lists them on and they no
 * longer belong to: one GET for the person's teams, then one token list per such team, in
 * parallel. A login Pulumi does not know (404) has no teams.
 */
async function liveTokensCreatedBy(deps: TokenDeps, logins: readonly string[], membership: (team: string) => Promise<boolean>): Promise<CachedTeamToken[]> {
  const wanted = new Set(logins.map((l) => l.toLowerCase()));
  const teamsOf = async (login: string): Promise<string[]> =>
    deps.pulumi.listMemberTeams(deps.org, login).catch((err) => {
      if (err instanceof NotFoundError) return [];
      throw err;
    });
  const candidates = [...new Set((await Promise.all(logins.map(teamsOf))).flat())].filter((team) => !isIssuedName(team));
  if (candidates.length === 0) return [];
  const owned = await deps.access.ownedTeams(candidates);
  const departed = (await Promise.all(owned.map(async (team) => ((await membership(team)) ? null : team)))).filter((t): t is string => t !== null);
  const lists = await Promise.all(
    departed.map(async (team) =>
      (await deps.pulumi.listTeamTokens(deps.org, team))
        .filter((t) => wanted.has(t.createdBy.toLowerCase()))
        .map((t) => ({ team, tokenId: t.id, tokenName: t.name, createdBy: t.createdBy, expires: t.expires })),
    ),
  );
  return lists.flat();
}

/** One membership answer per team per job: a person with many tokens on one team is asked once. */
function memoMembership(deps: TokenDeps, userId: string): (team: string) => Promise<boolean> {
  const answers = new Map<string, Promise<boolean>>();
  return (team) => {
    let answer = answers.get(team);
    if (!answer) {
      answer = deps.access.isActiveMember(userId, team);
      answers.set(team, answer);
    }
    return answer;
  };
}
