import { deprovisionToRevokeSeconds } from '../metrics';
import { NotFoundError } from '../pulumi';
import { getToken, type LedgerToken, markRevoked, markRevoking, type RevokeCause } from './ledger';
import { afterIntent, announceTokenWrite } from './audited';
import type { TokenDeps } from './ports';

/**
 * Revocation of a ledger token, at-least-once and idempotent:
 *
 *   1. mark the row `revoking` with its cause (the decision survives a crash);
 *   2. DELETE the token (404 = already gone) and, for a scoped token, its private team;
 *   3. mark the row `revoked` — only the call that makes this transition audits it as applied.
 *
 * A worker killed after 2 leaves a `revoking` row; whoever runs next (a retried job, the
 * sweep) repeats 2, gets 404s, and finishes 3. Nothing is revoked twice, nothing is missed.
 */

export type RevokeOutcome = 'revoked' | 'not-live';

export async function revokeLedgerToken(deps: TokenDeps, tokenId: string, cause: RevokeCause): Promise<RevokeOutcome> {
  const row = await markRevoking(deps.db, tokenId, cause);
  if (!row) return 'not-live';
  await finishRevocation(deps, row);
  return 'revoked';
}

/**
 * Steps 2 and 3 for a row already marked `revoking` (also used to resume after a crash). The
 * DELETEs are announced in the audit log first; the outcome is `applied` for the call that
 * records the revocation and `already` for a repeat that finds it recorded. `observeLatency`
 * records the time from the cause to the DELETE; by default a SCIM-caused revocation's, in the
 * deprovision histogram.
 */
export async function finishRevocation(deps: TokenDeps, row: LedgerToken, observeLatency?: (seconds: number) => void): Promise<void> {
  const { pulumi, org } = deps;
  const reason = row.revokeReason ?? 'revoked';
  const tokenTeam = row.kind === 'scoped' && row.privateTeam ? row.privateTeam : row.parentTeam;

  const tokenId = row.pulumiTokenId ?? (await findTokenIdByName(deps, tokenTeam, row.tokenName));
  const detail = {
    ledgerId: row.id,
    kind: row.kind,
    parentTeam: row.parentTeam,
    privateTeam: row.privateTeam,
    tokenId,
    tokenName: row.tokenName,
  };
  const intent = { action: 'token.revoked' as const, team: tokenTeam, reason, requestId: row.revokeRequestId, detail };
  const writes = tokenId !== undefined || (row.kind === 'scoped' && row.privateTeam !== null);
  const intentId = writes ? await announceTokenWrite(deps, intent) : undefined;
  const latencyMs = await afterIntent(deps, intent, intentId, async () => {
    let sinceCause: number | null = null;
    if (tokenId) {
      await pulumi.deleteTeamToken(org, tokenTeam, tokenId, auditReason(reason));
      sinceCause = sinceRequest(row.revokeRequestedAt);
    }
    // Deleting the private team also invalidates any token on it whose id a crash kept from us.
    if (row.kind === 'scoped' && row.privateTeam) await pulumi.deleteTeam(org, row.privateTeam);
    return sinceCause;
  });

  if (!(await markRevoked(deps.db, row.id))) {
    if (intentId) await deps.audit({ ...intent, latencyMs: null, outcome: 'already', intentId });
    return;
  }
  if (latencyMs !== null && observeLatency) observeLatency(latencyMs / 1000);
  else if (latencyMs !== null && row.revokeRequestId !== null) deprovisionToRevokeSeconds.observe(latencyMs / 1000);
  await deps.audit({ ...intent, latencyMs, intentId });
  deps.logger.info('dependent token revoked', { ledgerId: row.id, reason, requestId: row.revokeRequestId, latencyMs });
}

/** Resumes a revocation by ledger id when the row is `revoking` (e.g. a retried job). */
export async function resumeRevocation(deps: TokenDeps, id: string): Promise<void> {
  const row = await getToken(deps.db, id);
  if (row?.state === 'revoking') await finishRevocation(deps, row);
}

/**
 * A token whose create call never reported back has no id in the ledger; its name was recorded
 * before the call, so it can still be found (and then deleted).
 */
async function findTokenIdByName(deps: TokenDeps, team: string, name: string): Promise<string | undefined> {
  try {
    const tokens = await deps.pulumi.listTeamTokens(deps.org, team, 'all');
    return tokens.find((t) => t.name === name)?.id;
  } catch (err) {
    // The team is gone, and with it every token on it.
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Milliseconds since the SCIM request committed, null when no SCIM request caused this. */
export function sinceRequest(requestedAt: Date | null): number | null {
  return requestedAt ? Math.max(0, Date.now() - requestedAt.getTime()) : null;
}

/** The `reason` query parameter shows in Pulumi's own audit log; keep it short and id-free. */
export function auditReason(reason: string): string {
  return `pulumi-idp-sync: ${reason}`.slice(0, 200);
}
