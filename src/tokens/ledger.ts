import type { Knex } from 'knex';
import type { AccessToken } from '../pulumi';
import type { ScopeEntry, TokenGrant } from './scope';

/**
 * The token ledger (`token_ledger`) and the team token cache (`team_token_cache`): plain
 * repository functions, each taking the knex handle or transaction to run on.
 *
 * Life of a row: `issuing` (names chosen and recorded, Pulumi not yet called) → `active`
 * (private team holds its grants and the token exists) → `revoking` (decided, reason recorded,
 * DELETE not yet confirmed) → `revoked`. An issuance that fails is cleaned up and ends `failed`.
 * A `revoking` row is the at-least-once marker: whoever finds it repeats the DELETEs (404 counts
 * as done) and only then marks it `revoked`.
 */

export type TokenKind = 'scoped' | 'team';
export type TokenState = 'issuing' | 'active' | 'revoking' | 'revoked' | 'failed';

export interface LedgerToken {
  id: string;
  ownerUserId: string;
  ownerUserName: string;
  parentTeam: string;
  kind: TokenKind;
  scope: ScopeEntry[] | null;
  issuedGrants: TokenGrant[] | null;
  currentGrants: TokenGrant[] | null;
  privateTeam: string | null;
  pulumiTokenId: string | null;
  tokenName: string;
  generation: number;
  description: string;
  expiresAt: Date | null;
  state: TokenState;
  revokeReason: string | null;
  revokeRequestId: string | null;
  revokeRequestedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
}

interface LedgerRow {
  id: string;
  owner_user_id: string;
  owner_user_name: string;
  parent_team: string;
  kind: TokenKind;
  scope: ScopeEntry[] | null;
  issued_grants: TokenGrant[] | null;
  current_grants: TokenGrant[] | null;
  private_team: string | null;
  pulumi_token_id: string | null;
  token_name: string;
  generation: number;
  description: string;
  expires_at: Date | null;
  state: TokenState;
  revoke_reason: string | null;
  revoke_request_id: string | null;
  revoke_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
}

function fromRow(r: LedgerRow): LedgerToken {
  return {
    id: r.id,
    ownerUserId: r.owner_user_id,
    ownerUserName: r.owner_user_name,
    parentTeam: r.parent_team,
    kind: r.kind,
    scope: r.scope,
    issuedGrants: r.issued_grants,
    currentGrants: r.current_grants,
    privateTeam: r.private_team,
    pulumiTokenId: r.pulumi_token_id,
    tokenName: r.token_name,
    generation: r.generation,
    description: r.description,
    expiresAt: r.expires_at,
    state: r.state,
    revokeReason: r.revoke_reason,
    revokeRequestId: r.revoke_request_id,
    revokeRequestedAt: r.revoke_requested_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    revokedAt: r.revoked_at,
  };
}

const LEDGER = 'token_ledger';
/** States in which a token may still work on Pulumi. */
export const LIVE_STATES: readonly TokenState[] = ['issuing', 'active', 'revoking'];

/**
 * What a listing asks for (`GET /api/v1/tokens?state=`): `active`, the tokens that may still work
 * (being issued, working, or being revoked); `revoked`, those that no longer work (revoked, or an
 * issuance that failed); `all`.
 */
export const TOKEN_LISTINGS = ['active', 'revoked', 'all'] as const;
export type TokenListing = (typeof TOKEN_LISTINGS)[number];
const LISTING_STATES: Readonly<Record<TokenListing, readonly TokenState[] | undefined>> = {
  active: LIVE_STATES,
  revoked: ['revoked', 'failed'],
  all: undefined,
};

export interface NewLedgerToken {
  id: string;
  ownerUserId: string;
  ownerUserName: string;
  parentTeam: string;
  kind: TokenKind;
  scope: ScopeEntry[] | null;
  issuedGrants: TokenGrant[] | null;
  privateTeam: string | null;
  tokenName: string;
  description: string;
  expiresAt: Date | null;
}

export async function insertIssuing(db: Knex, t: NewLedgerToken): Promise<LedgerToken> {
  const [row] = await db<LedgerRow>(LEDGER)
    .insert({
      id: t.id,
      owner_user_id: t.ownerUserId,
      owner_user_name: t.ownerUserName,
      parent_team: t.parentTeam,
      kind: t.kind,
      scope: t.scope === null ? null : (JSON.stringify(t.scope) as unknown as ScopeEntry[]),
      issued_grants: t.issuedGrants === null ? null : (JSON.stringify(t.issuedGrants) as unknown as TokenGrant[]),
      current_grants: null,
      private_team: t.privateTeam,
      token_name: t.tokenName,
      generation: 1,
      description: t.description,
      expires_at: t.expiresAt,
      state: 'issuing',
    })
    .returning('*');
  return fromRow(row as LedgerRow);
}

export async function getToken(db: Knex, id: string): Promise<LedgerToken | undefined> {
  const row = await db<LedgerRow>(LEDGER).where({ id }).first();
  return row ? fromRow(row as LedgerRow) : undefined;
}

/** Records the next name generation before the create call that will use it. */
export async function bumpGeneration(db: Knex, id: string, generation: number, name: string): Promise<void> {
  await db(LEDGER).where({ id }).update({ generation, token_name: name, updated_at: db.fn.now() });
}

export async function recordGrants(db: Knex, id: string, grants: TokenGrant[]): Promise<void> {
  await db(LEDGER)
    .where({ id })
    .update({ current_grants: JSON.stringify(grants), updated_at: db.fn.now() });
}

/** False when the row is no longer `issuing` (a revocation claimed it meanwhile). */
export async function markActive(db: Knex, id: string, pulumiTokenId: string): Promise<boolean> {
  const n = await db(LEDGER).where({ id, state: 'issuing' }).update({ state: 'active', pulumi_token_id: pulumiTokenId, updated_at: db.fn.now() });
  return n > 0;
}

export async function markFailed(db: Knex, id: string, reason: string): Promise<void> {
  await db(LEDGER).where({ id }).whereIn('state', ['issuing']).update({ state: 'failed', revoke_reason: reason, updated_at: db.fn.now() });
}

export interface RevokeCause {
  reason: string;
  /** SCIM request id of the change that caused it, when one did. */
  requestId: string | null;
  /** When that SCIM request was committed (the outbox row's created_at). */
  requestedAt: Date | null;
}

/**
 * Marks a live token `revoking` with its cause; a token already `revoking` keeps its first
 * cause (the earliest request is the one the latency is measured from). Returns the row as it
 * now is, or undefined when it is no longer live (already revoked or failed).
 */
export async function markRevoking(db: Knex, id: string, cause: RevokeCause): Promise<LedgerToken | undefined> {
  const row = await db.transaction(async (trx) => {
    // This write stands between an identity loss and the token DELETE, so it does not wait for
    // the WAL flush (tens of ms on a slow disk). The row is visible at once and survives any
    // worker crash; only a Postgres crash within the flush delay could lose it, and then the
    // revocation is decided again — the retried job, the sweep or the next team reconcile
    // re-reads membership and revokes (a DELETE of a gone token counts as done).
    await trx.raw('SET LOCAL synchronous_commit TO OFF');
    const [updated] = await trx<LedgerRow>(LEDGER)
      .where({ id })
      .whereIn('state', ['issuing', 'active'])
      .update({
        state: 'revoking',
        revoke_reason: cause.reason,
        revoke_request_id: cause.requestId,
        revoke_requested_at: cause.requestedAt,
        updated_at: trx.fn.now(),
      })
      .returning('*');
    return updated as LedgerRow | undefined;
  });
  if (row) return fromRow(row);
  const current = await getToken(db, id);
  return current?.state === 'revoking' ? current : undefined;
}

/** Final step of a revocation; true when this call made the transition (so it alone audits it). */
export async function markRevoked(db: Knex, id: string): Promise<boolean> {
  const n = await db(LEDGER).where({ id, state: 'revoking' }).update({ state: 'revoked', revoked_at: db.fn.now(), updated_at: db.fn.now() });
  return n > 0;
}

export interface TokenFilter {
  /** The owner's SCIM id; the userName recorded at issuance is not a filter, since it can pass to someone else. */
  ownerUserId?: string;
  parentTeam?: string;
  /** @defaultValue active */
  state?: TokenListing;
}

export async function listTokens(db: Knex, filter: TokenFilter = {}): Promise<LedgerToken[]> {
  const q = db<LedgerRow>(LEDGER)
    .select('*')
    .orderBy([{ column: 'created_at', order: 'desc' }, 'id']);
  if (filter.ownerUserId) q.where('owner_user_id', filter.ownerUserId);
  if (filter.parentTeam) q.where('parent_team', filter.parentTeam);
  const states = LISTING_STATES[filter.state ?? 'active'];
  if (states) q.whereIn('state', states as TokenState[]);
  return ((await q) as LedgerRow[]).map(fromRow);
}

/** Live tokens on `parentTeam` (scoped ones with their private team, and plain ones). */
export async function liveTokensOfParent(db: Knex, parentTeam: string): Promise<LedgerToken[]> {
  return listTokens(db, { parentTeam });
}

export async function liveTokensOfOwner(db: Knex, ownerUserId: string): Promise<LedgerToken[]> {
  return listTokens(db, { ownerUserId });
}

export async function expiredActiveTokens(db: Knex, now: Date): Promise<LedgerToken[]> {
  const rows = (await db<LedgerRow>(LEDGER)
    .where('state', 'active')
    .whereNotNull('expires_at')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')) as LedgerRow[];
  return rows.map(fromRow);
}

/** Rows a crash left half-done: `revoking` (repeat the DELETEs) and stale `issuing` (clean up). */
export async function unfinishedTokens(db: Knex, issuingOlderThan: Date): Promise<LedgerToken[]> {
  const rows = (await db<LedgerRow>(LEDGER)
    .where('state', 'revoking')
    .orWhere((q) => q.where('state', 'issuing').where('created_at', '<', issuingOlderThan))
    .orderBy('created_at')) as LedgerRow[];
  return rows.map(fromRow);
}

// ---- team token cache -------------------------------------------------------------------

export interface CachedTeamToken {
  team: string;
  tokenId: string;
  tokenName: string;
  createdBy: string;
  expires: number;
}

/** Replaces one team's cached token list with what a reconcile just read from Pulumi. */
export async function replaceTeamTokenCache(db: Knex, team: string, tokens: readonly AccessToken[]): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('team_token_cache').where({ team }).delete();
    if (tokens.length === 0) return;
    await trx('team_token_cache').insert(
      tokens.map((t) => ({
        team,
        token_id: t.id,
        token_name: t.name,
        created_by: t.createdBy ?? '',
        expires: t.expires ?? 0,
      })),
    );
  });
}

export async function cachedTokensCreatedBy(db: Knex, logins: readonly string[]): Promise<CachedTeamToken[]> {
  if (logins.length === 0) return [];
  const rows = (await db('team_token_cache')
    .whereRaw(
      `lower(created_by) IN (${logins.map(() => '?').join(', ')})`,
      logins.map((l) => l.toLowerCase()),
    )
    .orderBy(['team', 'token_id'])) as Array<{
    team: string;
    token_id: string;
    token_name: string;
    created_by: string;
    expires: string | number;
  }>;
  return rows.map((r) => ({
    team: r.team,
    tokenId: r.token_id,
    tokenName: r.token_name,
    createdBy: r.created_by,
    expires: Number(r.expires),
  }));
}

/**
 * Records a creator-bound revocation; true for the first caller only (it writes the audit
 * entry). The cache row goes too: the token is gone.
 */
export async function recordCreatorBoundRevoked(
  db: Knex,
  r: { team: string; tokenId: string; creatorUserId: string; reason: string; requestId: string | null },
): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx('team_token_cache').where({ team: r.team, token_id: r.tokenId }).delete();
    const inserted = await trx('revoked_team_tokens')
      .insert({ team: r.team, token_id: r.tokenId, creator_user_id: r.creatorUserId, reason: r.reason, request_id: r.requestId })
      .onConflict(['team', 'token_id'])
      .ignore()
      .returning('token_id');
    return inserted.length > 0;
  });
}

/** How many tokens a person holds now (live states), and how many were issued to them since `since`. */
export async function ownerTokenCounts(db: Knex, ownerUserId: string, since: Date): Promise<{ live: number; issuedSince: number }> {
  const row = await db(LEDGER)
    .where({ owner_user_id: ownerUserId })
    .select(
      db.raw('count(*) filter (where state = any(?)) as live', [LIVE_STATES as TokenState[]]),
      db.raw('count(*) filter (where created_at >= ?) as issued_since', [since]),
    )
    .first();
  return { live: Number(row?.live ?? 0), issuedSince: Number(row?.issued_since ?? 0) };
}
