/**
 * Deterministic Pulumi names for what the token ledger creates, derived from the ledger row id
 * so a retried or redelivered issuance finds the same names instead of making new objects.
 *
 * Pulumi limits team names (as far as its SCIM teams show) and token names to 40 characters;
 * token names are unique across the org *including deleted tokens*, so a token name carries a
 * generation that is bumped whenever a name turns out to be taken.
 */

/** Every private team of a scoped token starts with this; the reconciler leaves such teams alone. */
export const PRIVATE_TEAM_PREFIX = 'pis-tok-';
const TOKEN_NAME_PREFIX = 'pis-';
export const MAX_PULUMI_NAME = 40;
/** Three digits keep `pis-` + 32 hex + `-` + generation within 40 characters. */
export const MAX_TOKEN_GENERATION = 999;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compactId(ledgerId: string): string {
  if (!UUID.test(ledgerId)) throw new Error(`ledger id is not a UUID: ${ledgerId}`);
  return ledgerId.replace(/-/g, '').toLowerCase();
}

/** `pis-tok-` + the ledger id's 32 hex digits: exactly 40 characters. */
export function privateTeamName(ledgerId: string): string {
  return `${PRIVATE_TEAM_PREFIX}${compactId(ledgerId)}`;
}

export function isPrivateTeamName(team: string): boolean {
  return team.startsWith(PRIVATE_TEAM_PREFIX);
}

/** `pis-` + 32 hex + `-` + generation (1..999): at most 40 characters. */
export function tokenName(ledgerId: string, generation: number): string {
  if (!Number.isInteger(generation) || generation < 1 || generation > MAX_TOKEN_GENERATION) {
    throw new Error(`token name generation out of range 1..${MAX_TOKEN_GENERATION}: ${generation}`);
  }
  return `${TOKEN_NAME_PREFIX}${compactId(ledgerId)}-${generation}`;
}
