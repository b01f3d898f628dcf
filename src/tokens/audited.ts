import { classifyFailure } from '../pulumi';
import type { TokenAuditEntry, TokenDeps } from './ports';

/**
 * A token write as two audit entries (docs/audit.md): the intent before the Pulumi calls, and
 * the outcome after them. A failed write's outcome is recorded here with its failure class;
 * a successful one's by the caller, which knows what it achieved (`intentId` links them).
 */

export type TokenIntent = Omit<TokenAuditEntry, 'outcome' | 'intentId' | 'latencyMs'>;

/** Appends the intent; resolves with its id. */
export async function announceTokenWrite(deps: TokenDeps, intent: TokenIntent): Promise<string | undefined> {
  return (await deps.audit({ ...intent, latencyMs: null, outcome: 'intent' })) || undefined;
}

/** The failed outcome of `intentId`, with the failure's class; best effort (the caller rethrows the failure itself). */
export async function recordTokenWriteFailure(deps: TokenDeps, intent: TokenIntent, intentId: string | undefined, err: unknown): Promise<void> {
  await deps
    .audit({
      ...intent,
      latencyMs: null,
      outcome: 'failed',
      intentId,
      detail: { ...intent.detail, error: (err as Error).name, class: classifyFailure(err).kind },
    })
    .catch(() => undefined);
}

/** Runs `writes` after `intentId`'s intent; on failure records the failed outcome, then rethrows. */
export async function afterIntent<T>(deps: TokenDeps, intent: TokenIntent, intentId: string | undefined, writes: () => Promise<T>): Promise<T> {
  try {
    return await writes();
  } catch (err) {
    await recordTokenWriteFailure(deps, intent, intentId, err);
    throw err;
  }
}

/** The intent, then `writes`. */
export async function auditedTokenWrite<T>(deps: TokenDeps, intent: TokenIntent, writes: () => Promise<T>): Promise<{ value: T; intentId?: string }> {
  const intentId = await announceTokenWrite(deps, intent);
  return { value: await afterIntent(deps, intent, intentId, writes), intentId };
}
