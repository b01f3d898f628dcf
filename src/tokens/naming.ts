import { TOKEN_TEAM_PREFIX } from '../policy';
import { UUID_PATTERN } from '../util';

/**
 * Deterministic Pulumi names for what the token ledger creates, derived from the ledger row id
 * so a retried or redelivered issuance finds the same names instead of making new objects.
 *
 * Pulumi limits team names (as far as its SCIM teams show) and token names to 40 characters;
 * token names are unique across the org *including deleted tokens*, so a token name carries a
 * generation that is bumped whenever a name turns out to be taken.
 *
 * Private teams and tokens share the prefix `pis-tok-` (TOKEN_TEAM_PREFIX, which the policy
 * reserves): the
 * reconciler leaves teams and team tokens so named to this part, which revokes them by the
 * owner its ledger records (their Pulumi `createdBy` is the daemon's own login).
 */

export const MAX_PULUMI_NAME = 40;
/** Three digits keep `pis-tok-` + 25 base-36 digits + `-` + generation within 40 characters. */
export const MAX_TOKEN_GENERATION = 999;

function compactId(ledgerId: string): string {
  if (!UUID_PATTERN.test(ledgerId)) throw new Error(`ledger id is not a UUID: ${ledgerId}`);
  return ledgerId.replace(/-/g, '').toLowerCase();
}

/** `pis-tok-` + the ledger id's 32 hex digits: exactly 40 characters. */
export function privateTeamName(ledgerId: string): string {
  return `${TOKEN_TEAM_PREFIX}${compactId(ledgerId)}`;
}

/** True for the names this part gives private teams and the tokens it issues. */
export function isIssuedName(name: string): boolean {
  return name.startsWith(TOKEN_TEAM_PREFIX);
}

/** `pis-tok-` + the ledger id in 25 base-36 digits + `-` + generation (1..999): at most 38 characters. */
export function tokenName(ledgerId: string, generation: number): string {
  if (!Number.isInteger(generation) || generation < 1 || generation > MAX_TOKEN_GENERATION) {
    throw new Error(`token name generation out of range 1..${MAX_TOKEN_GENERATION}: ${generation}`);
  }
  const base36 = BigInt(`0x${compactId(ledgerId)}`)
    .toString(36)
    .padStart(25, '0');
  return `${TOKEN_TEAM_PREFIX}${base36}-${generation}`;
}
