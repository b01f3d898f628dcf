import type { AccessToken } from '../pulumi';
import { recordGrants, liveTokensOfParent, replaceTeamTokenCache, type LedgerToken } from './ledger';
import { isIssuedName } from './naming';
import type { TokenDeps } from './ports';
import { syncPrivateTeamGrants } from './private-team';
import { announceTokenWrite, recordTokenWriteFailure } from './audited';
import { finishRevocation, revokeLedgerToken, sinceRequest } from './revoke';
import { ledgerTokenFate } from './fate';
import { grantView, type TokenGrant } from './scope';

/**
 * The tokens controller's team step, run right after the reconciler has brought a parent
 * team to its desired state (the same keyed job, composed in src/runtime): refresh the team's cached token list (the fast lane reads it),
 * then bring every ledger token of that team in line — revoke where the owner lost access, the
 * token expired or nothing in its scope is still granted; otherwise narrow its private team to
 * the current `scope ∩ grants`. Level-triggered: it reads current state and never trusts the
 * event, so running it twice changes nothing the second time.
 */

export interface TeamReconciled {
  team: string;
  /** The team's token list as the reconcile read it (after its own revocations); refreshes the cache. */
  tokens?: readonly AccessToken[];
  /**
   * The team's desired grants as the reconcile just applied them; null = the team is no longer
   * managed. Omitted: asked from the access view.
   */
  grants?: readonly TokenGrant[] | null;
  /** The SCIM request that caused this reconcile, and when it committed (outbox created_at). */
  requestId?: string | null;
  requestedAt?: Date | null;
  /**
   * People whose removal from the team waits in a hold (docs/live-org.md, "Guards against mass
   * change"): until an admin decides, their tokens on it stay as the membership does.
   */
  heldOwners?: readonly string[];
}

export interface DependentTokensResult {
  revoked: number;
  narrowed: number;
}

export async function reconcileDependentTokens(deps: TokenDeps, event: TeamReconciled): Promise<DependentTokensResult> {
  const { team } = event;
  const result: DependentTokensResult = { revoked: 0, narrowed: 0 };
  if (isIssuedName(team)) return result;
  if (event.tokens) await replaceTeamTokenCache(deps.db, team, event.tokens);

  const cause = { requestId: event.requestId ?? null, requestedAt: event.requestedAt ?? null };
  const given = event.grants !== undefined ? event.grants : await deps.access.desiredGrants(team);
  const parentGrants = given === null ? null : [...given];
  const now = deps.now?.() ?? new Date();
  const held = new Set(event.heldOwners ?? []);

  for (const token of await liveTokensOfParent(deps.db, team)) {
    // An issuance in flight owns its row; the sweep cleans up one that never finished.
    if (token.state === 'issuing') continue;
    if (token.state === 'revoking') {
      await finishRevocation(deps, token);
      result.revoked += 1;
      continue;
    }
    const ownerIsMember = parentGrants !== null && (held.has(token.ownerUserId) || (await deps.access.isActiveMember(token.ownerUserId, team)));
    // The state only words the reason of a revocation: not read for a member.
    const ownerState = ownerIsMember || parentGrants === null ? 'active' : await deps.access.personState(token.ownerUserId);
    const fate = ledgerTokenFate(token, { parentGrants, ownerIsMember, ownerState, now });
    const reason = fate.action === 'revoke' ? fate.reason : await vanished(deps, token, event.tokens);
    if (reason) {
      if ((await revokeLedgerToken(deps, token.id, { reason, ...cause })) === 'revoked') result.revoked += 1;
      continue;
    }
    if (fate.action !== 'narrow') continue;
    const outcome = await narrow(deps, token, fate.grants, cause);
    if (outcome === 'narrowed') result.narrowed += 1;
    if (outcome === 'missing') {
      const revoked = await revokeLedgerToken(deps, token.id, { reason: 'private team was deleted outside pulumi-idp-sync', ...cause });
      if (revoked === 'revoked') result.revoked += 1;
    }
  }
  return result;
}

/**
 * A token on the parent team that the reconcile's token list no longer shows was deleted
 * outside the ledger (by hand, or by a policy that revokes tokens of unknown creators — the
 * daemon's own login is one). The ledger follows, so it never shows a dead token as live.
 * The list was read when the reconcile began, so an absence is confirmed with a fresh read
 * (a token issued meanwhile is not in the old list).
 */
async function vanished(deps: TokenDeps, token: LedgerToken, tokens: readonly AccessToken[] | undefined): Promise<string | undefined> {
  if (token.kind !== 'team' || !token.pulumiTokenId || !tokens) return undefined;
  if (tokens.some((t) => t.id === token.pulumiTokenId)) return undefined;
  const fresh = await deps.pulumi.listTeamTokens(deps.org, token.parentTeam);
  return fresh.some((t) => t.id === token.pulumiTokenId) ? undefined : 'token was deleted outside pulumi-idp-sync';
}

/** Applies the narrowed grants (`scope ∩ parent grants`) to the private team, announcing its writes first. */
async function narrow(
  deps: TokenDeps,
  token: LedgerToken,
  desired: TokenGrant[],
  cause: { requestId: string | null; requestedAt: Date | null },
): Promise<'narrowed' | 'unchanged' | 'missing'> {
  const grants = desired.map(grantView);
  const intent = {
    action: 'token.narrowed' as const,
    team: token.privateTeam ?? token.parentTeam,
    reason: `grants of team ${token.parentTeam} changed`,
    requestId: cause.requestId,
    detail: { ledgerId: token.id, parentTeam: token.parentTeam, grants },
  };
  // Most reconciles find nothing to narrow: the intent is appended only when a write follows.
  let announced = false;
  let intentId: string | undefined;
  const beforeWrites = async () => {
    intentId = await announceTokenWrite(deps, intent);
    announced = true;
  };
  let ops: Awaited<ReturnType<typeof syncPrivateTeamGrants>>;
  try {
    ops = await syncPrivateTeamGrants(deps, token, desired, { create: false, beforeWrites });
  } catch (err) {
    if (announced) await recordTokenWriteFailure(deps, intent, intentId, err);
    throw err;
  }
  if (ops === 'missing') return 'missing';
  const latencyMs = sinceRequest(cause.requestedAt);
  const previous = token.currentGrants ?? token.issuedGrants ?? [];
  const recordedChanged = JSON.stringify(previous) !== JSON.stringify(desired);
  if (recordedChanged) await recordGrants(deps.db, token.id, desired);
  if (announced) await deps.audit({ ...intent, latencyMs, intentId, detail: { ...intent.detail, ops } });
  if (ops.length === 0) return 'unchanged';
  deps.logger.info('scoped token narrowed', { ledgerId: token.id, ops: ops.length, requestId: cause.requestId });
  return 'narrowed';
}
