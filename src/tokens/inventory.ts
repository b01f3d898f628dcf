import { type AccessToken, NotFoundError } from '../pulumi';
import type { TokenDeps } from './ports';
import { type TokenView, listTokens } from './service';
import { scopeText } from './scope';

/**
 * Every live token on the given teams, for the access review (docs/access-review.md): what
 * Pulumi lists on each team (its creation time, last use and expiry are only there), joined with
 * the ledger for the owner and scope of the tokens this daemon issued. Team tokens someone made
 * in Pulumi have no ledger row: their owner is their creator's login, their scope the whole team.
 */

export interface InventoryToken {
  /** Pulumi's token id; null while a ledger token is still being issued. */
  pulumiTokenId: string | null;
  tokenName: string;
  /** The Pulumi team the token lives on. */
  team: string;
  /** `scoped` and `team` were issued by this daemon; `unmanaged` was made in Pulumi. */
  kind: 'scoped' | 'team' | 'unmanaged';
  ledgerId: string | null;
  ownerUserId: string | null;
  /** The owner's SCIM userName at issuance, else the creator's Pulumi login. */
  owner: string;
  /** `project/stack[:permission]` entries; null: whatever the team holds. */
  scope: string[] | null;
  createdAt: string | null;
  /** Whether Pulumi listed it: only then is `lastUsedAt` known (null: never used). */
  listed: boolean;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const unixToIso = (seconds: number): string | null => (seconds > 0 ? new Date(seconds * 1000).toISOString() : null);

/** Joins the ledger's live tokens with what Pulumi listed per team (pure). */
export function mergeTokenInventory(ledger: readonly TokenView[], listed: ReadonlyMap<string, readonly AccessToken[]>): InventoryToken[] {
  const byPulumiId = new Map(ledger.filter((t) => t.pulumiTokenId).map((t) => [t.pulumiTokenId!, t]));
  const out: InventoryToken[] = [];
  const seen = new Set<string>();
  for (const [team, tokens] of listed) {
    for (const token of tokens) {
      const row = byPulumiId.get(token.id);
      if (row) seen.add(row.id);
      out.push({
        pulumiTokenId: token.id,
        tokenName: token.name,
        team,
        kind: row?.kind ?? 'unmanaged',
        ledgerId: row?.id ?? null,
        ownerUserId: row?.ownerUserId ?? null,
        owner: row?.owner ?? token.createdBy,
        scope: row ? scopeOf(row) : null,
        createdAt: token.created || (row?.createdAt ?? null),
        listed: true,
        lastUsedAt: unixToIso(token.lastUsed),
        expiresAt: unixToIso(token.expires),
      });
    }
  }
  // Live in the ledger but not listed (being issued, or its team not read): still a token to review.
  for (const row of ledger) {
    if (seen.has(row.id)) continue;
    out.push({
      pulumiTokenId: row.pulumiTokenId,
      tokenName: row.tokenName,
      team: row.pulumiTeam,
      kind: row.kind,
      ledgerId: row.id,
      ownerUserId: row.ownerUserId,
      owner: row.owner,
      scope: scopeOf(row),
      createdAt: row.createdAt,
      listed: false,
      lastUsedAt: null,
      expiresAt: row.expiresAt,
    });
  }
  return out.sort((a, b) => (a.team < b.team ? -1 : a.team > b.team ? 1 : a.tokenName < b.tokenName ? -1 : a.tokenName > b.tokenName ? 1 : 0));
}

function scopeOf(row: TokenView): string[] | null {
  return row.scope?.map(scopeText) ?? null;
}

/**
 * Lists the live tokens of `teams` and of every team a live ledger token lives on: one Pulumi
 * list per team, from the org's one budget. A team Pulumi does not have (not created yet) has none.
 */
export async function listLiveTokens(deps: Pick<TokenDeps, 'db' | 'pulumi' | 'org'>, teams: readonly string[]): Promise<InventoryToken[]> {
  const ledger = await listTokens(deps, { state: 'active' });
  const listed = new Map<string, AccessToken[]>();
  for (const team of [...new Set([...teams, ...ledger.map((t) => t.pulumiTeam)])].sort()) {
    try {
      listed.set(team, await deps.pulumi.listTeamTokens(deps.org, team, 'active'));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return mergeTokenInventory(ledger, listed);
}
