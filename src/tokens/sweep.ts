import { expiredActiveTokens, unfinishedTokens } from './ledger';
import type { TokenDeps } from './ports';
import { finishRevocation, revokeLedgerToken } from './revoke';

/**
 * The scheduled token sweep: revokes expired ledger tokens (and deletes their private teams),
 * finishes revocations a crash left `revoking`, and revokes issuances that never completed
 * (their token name was recorded before the create call, so a token that did get created is
 * found and deleted). Each token is handled on its own: one failure does not stop the rest.
 */

/** An issuance still `issuing` after this long has died with its process. */
export const STALE_ISSUANCE_MS = 10 * 60 * 1000;

export interface SweepResult {
  expired: number;
  resumed: number;
  abandoned: number;
  failed: number;
}

export async function sweepTokens(deps: TokenDeps): Promise<SweepResult> {
  const now = deps.now?.() ?? new Date();
  const result: SweepResult = { expired: 0, resumed: 0, abandoned: 0, failed: 0 };
  if (deps.policy.current.reconcile.mode === 'observe') return result;
  const attempt = async (ledgerId: string, work: () => Promise<unknown>, counter: 'expired' | 'resumed' | 'abandoned') => {
    try {
      await work();
      result[counter] += 1;
    } catch (err) {
      result.failed += 1;
      deps.logger.warn('token sweep could not finish a token; the next sweep retries', { ledgerId, err: (err as Error).message });
    }
  };

  for (const token of await expiredActiveTokens(deps.db, now)) {
    await attempt(token.id, () => revokeLedgerToken(deps, token.id, { reason: 'expired', requestId: null, requestedAt: null }), 'expired');
  }
  for (const token of await unfinishedTokens(deps.db, new Date(now.getTime() - STALE_ISSUANCE_MS))) {
    if (token.state === 'revoking') await attempt(token.id, () => finishRevocation(deps, token), 'resumed');
    else {
      await attempt(token.id, () => revokeLedgerToken(deps, token.id, { reason: 'issuance never completed', requestId: null, requestedAt: null }), 'abandoned');
    }
  }
  if (result.expired + result.resumed + result.abandoned + result.failed > 0) deps.logger.info('token sweep', { ...result });
  return result;
}
