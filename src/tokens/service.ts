import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ENVIRONMENT_PERMISSIONS } from '../policy';
import { peopleByUserName, personById, type PersonRef } from '../directory';
import { BadRequestError, ConflictError, PulumiError } from '../pulumi';
import { TokenError } from './errors';
import {
  bumpGeneration,
  getToken,
  insertIssuing,
  type LedgerToken,
  listTokens as listLedger,
  markActive,
  markFailed,
  ownerTokenCounts,
  recordGrants,
  type TokenFilter,
} from './ledger';
import { MAX_TOKEN_GENERATION, privateTeamName, tokenName } from './naming';
import { DEFAULT_ISSUE_CAPS, type TokenDeps } from './ports';
import { announceTokenWrite } from './audited';
import { revokeLedgerToken, auditReason, resumeRevocation } from './revoke';
import { grantView, intersectScope, type GrantView, type ScopeEntry, type TokenGrant } from './scope';
import { syncPrivateTeamGrants } from './private-team';

/**
 * Issuing, listing and revoking dependent tokens — the service behind `POST/GET/DELETE
 * /api/v1/tokens` and the console's "my tokens" page.
 */

/** Pulumi accepts expiries at most two years ahead (docs/pulumi-api.md, "Team tokens"). */
const MAX_EXPIRY_MS = 2 * 365 * 24 * 3600 * 1000;
/** Name collisions (a deleted token holds the name) tolerated before giving up. */
const MAX_NAME_ATTEMPTS = 5;

const name100 = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

export const issueRequestSchema = z
  .object({
    team: name100,
    owner: z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    description: z.string().max(500, 'must be at most 500 characters').default(''),
    scope: z
      .array(
        z.union([
          z
            .object({
              project: name100,
              stack: name100,
              permission: z.enum(['read', 'write', 'admin']).optional(),
            })
            .strict(),
          z
            .object({
              environment: z
                .object({
                  project: name100,
                  environment: name100,
                  permission: z.enum(ENVIRONMENT_PERMISSIONS).optional(),
                })
                .strict(),
            })
            .strict(),
        ]),
      )
      .min(1, 'must name at least one stack or environment (leave scope out for a token on the whole team)')
      .max(200, 'must have at most 200 entries')
      .optional(),
    expiresAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2027-01-31T00:00:00Z' }).optional(),
  })
  .strict();

export type IssueRequest = z.input<typeof issueRequestSchema>;

export interface IssuedToken {
  id: string;
  /** The secret, shown this once and never stored. */
  tokenValue: string;
  /** The team the token lives on: the private team of a scoped token, else the parent team. */
  pulumiTeam: string;
}

/** The public view of a ledger row (never contains a token value; the ledger has none). */
export interface TokenView {
  id: string;
  owner: string;
  ownerUserId: string;
  team: string;
  kind: 'scoped' | 'team';
  pulumiTeam: string;
  scope: ScopeEntry[] | null;
  grants: GrantView[] | null;
  tokenName: string;
  pulumiTokenId: string | null;
  description: string;
  expiresAt: string | null;
  state: LedgerToken['state'];
  revokeReason: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export function toView(t: LedgerToken): TokenView {
  return {
    id: t.id,
    owner: t.ownerUserName,
    ownerUserId: t.ownerUserId,
    team: t.parentTeam,
    kind: t.kind,
    pulumiTeam: t.kind === 'scoped' && t.privateTeam ? t.privateTeam : t.parentTeam,
    scope: t.scope,
    grants: (t.currentGrants ?? t.issuedGrants)?.map(grantView) ?? null,
    tokenName: t.tokenName,
    pulumiTokenId: t.pulumiTokenId,
    description: t.description,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    state: t.state,
    revokeReason: t.revokeReason,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

function parseIssueRequest(input: unknown, now: Date): z.output<typeof issueRequestSchema> & { expires: Date | null } {
  const parsed = issueRequestSchema.safeParse(input);
  if (!parsed.success) {
    const details = issueLines(parsed.error.issues, []);
    throw new TokenError('invalid_request', `invalid token request: ${details.join('; ')}`, details);
  }
  const expires = parsed.data.expiresAt ? new Date(parsed.data.expiresAt) : null;
  if (expires && expires.getTime() <= now.getTime() + 60_000) {
    throw new TokenError('invalid_request', 'expiresAt must be at least a minute in the future', ['expiresAt: in the past']);
  }
  if (expires && expires.getTime() > now.getTime() + MAX_EXPIRY_MS) {
    throw new TokenError('invalid_request', 'expiresAt must be at most two years ahead (Pulumi limit)', ['expiresAt: too far ahead']);
  }
  const seen = new Set<string>();
  for (const entry of parsed.data.scope ?? []) {
    const key = 'environment' in entry ? `environment ${entry.environment.project}/${entry.environment.environment}` : `${entry.project}/${entry.stack}`;
    if (seen.has(key)) throw new TokenError('invalid_request', `scope names ${key} twice`, [`scope: duplicate ${key}`]);
    seen.add(key);
  }
  return { ...parsed.data, expires };
}

/**
 * Each issue as `path: message`. A scope entry that is neither a stack nor an environment entry
 * is reported by the branch it came closest to (fewest issues), so the answer names the field
 * that is wrong rather than "scope.0: Invalid input".
 */
function issueLines(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): string[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      const closest = i.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      return issueLines(closest, path);
    }
    return [`${path.map(String).join('.') || '(body)'}: ${i.message}`];
  });
}

type OwnerRow = PersonRef;

/**
 * The SCIM user `owner` names: by id when it is one (an id is never reused, unlike a userName
 * after a rename), else by userName case-insensitively.
 */
async function findPerson(deps: Pick<TokenDeps, 'db'>, owner: string): Promise<OwnerRow | undefined> {
  const byId = z.uuid().safeParse(owner).success ? await personById(deps.db, owner) : undefined;
  return byId ?? (await peopleByUserName(deps.db, owner, 1))[0];
}

async function findOwner(deps: TokenDeps, owner: string): Promise<{ id: string; userName: string; active: boolean }> {
  const row = await findPerson(deps, owner);
  if (!row) {
    throw new TokenError(
      'unknown_owner',
      `no SCIM user with id or userName ${JSON.stringify(owner)}: owner is the person's SCIM id or SCIM userName, not their Pulumi login`,
    );
  }
  return { id: row.id, userName: row.user_name, active: row.active };
}

/**
 * The person id to list `owner`'s tokens by: the SCIM user it names by id or userName, or the
 * id itself when no user has it any more (a deleted person's tokens stay in the ledger).
 * undefined: a userName nobody holds.
 */
export async function ownerIdOf(deps: Pick<TokenDeps, 'db'>, owner: string): Promise<string | undefined> {
  const row = await findPerson(deps, owner);
  if (row) return row.id;
  return z.uuid().safeParse(owner).success ? owner : undefined;
}

/**
 * Issues a token for `owner` (a SCIM id or userName), an active member of `team`. With a scope: a private team holding
 * `scope ∩ team grants` and a token on it; without: a token on the team itself, recorded with
 * its owner so it is revoked when the owner leaves. Answers once grants and token exist.
 */
/** Refuses an issue past the person's caps (checked before the ledger row: concurrent issues may pass it by their number). */
async function checkIssueCaps(deps: TokenDeps, owner: { id: string; userName: string }, now: Date): Promise<void> {
  const caps = deps.issueCaps ?? DEFAULT_ISSUE_CAPS;
  const counts = await ownerTokenCounts(deps.db, owner.id, new Date(now.getTime() - 3600_000));
  if (counts.live >= caps.livePerPerson) {
    throw new TokenError('too_many_live_tokens', `${owner.userName} already holds ${counts.live} live tokens, the most one person may hold; revoke one first`);
  }
  if (counts.issuedSince >= caps.issuesPerHour) {
    throw new TokenError('too_many_issues', `${owner.userName} was issued ${counts.issuedSince} tokens in the last hour, the most allowed; try again later`);
  }
}

export async function issueToken(deps: TokenDeps, input: unknown): Promise<IssuedToken> {
  const now = deps.now?.() ?? new Date();
  const req = parseIssueRequest(input, now);
  if (deps.policy.current.reconcile.mode === 'observe') {
    throw new TokenError('observe_mode', 'reconcile.mode is observe: the daemon makes no Pulumi write, and issues no token, until it is set to enforce');
  }
  const owner = await findOwner(deps, req.owner);
  await checkIssueCaps(deps, owner, now);
  const desired = await deps.access.desiredGrants(req.team);
  if (desired === null) throw new TokenError('unknown_team', `team ${JSON.stringify(req.team)} is not managed by this daemon`);
  if (!owner.active || !(await deps.access.isActiveMember(owner.id, req.team))) {
    throw new TokenError('not_a_member', `${owner.userName} is not an active member of team ${req.team}`);
  }

  let grants: TokenGrant[] | null = null;
  if (req.scope) {
    grants = intersectScope(req.scope, desired);
    if (grants.length === 0) {
      throw new TokenError('empty_scope', `team ${req.team} holds none of the stacks or environments in scope, so the token would grant nothing`, [
        `scope: no overlap with the grants of ${req.team}`,
      ]);
    }
  }

  const id = randomUUID();
  const row = await insertIssuing(deps.db, {
    id,
    ownerUserId: owner.id,
    ownerUserName: owner.userName,
    parentTeam: req.team,
    kind: req.scope ? 'scoped' : 'team',
    scope: req.scope ?? null,
    issuedGrants: grants,
    privateTeam: req.scope ? privateTeamName(id) : null,
    tokenName: tokenName(id, 1),
    description: req.description,
    expiresAt: req.expires,
  });
  const tokenTeam = row.privateTeam ?? row.parentTeam;
  const intent = {
    action: 'token.issued' as const,
    team: tokenTeam,
    reason: row.kind === 'scoped' ? 'scoped token issued' : 'team token issued',
    requestId: null,
    detail: { ledgerId: id, parentTeam: req.team, privateTeam: row.privateTeam, grants },
  };
  const intentId = await announceTokenWrite(deps, intent);

  try {
    if (row.privateTeam && grants) {
      if ((await syncPrivateTeamGrants(deps, row, grants, { create: true })) === 'missing') {
        throw new Error(`private team ${row.privateTeam} vanished right after it was created`);
      }
      await recordGrants(deps.db, id, grants);
    }
    const created = await createWithFreshName(deps, row, tokenTeam);
    if (!(await markActive(deps.db, id, created.id))) {
      // A revocation (the owner left meanwhile) claimed the row while we were creating: it
      // could not know the token's id, so finish its work with the id we now have.
      await deps.pulumi.deleteTeamToken(deps.org, tokenTeam, created.id, auditReason('owner lost access during issuance'));
      await deps.audit({
        ...intent,
        latencyMs: null,
        outcome: 'failed',
        intentId,
        detail: { ...intent.detail, tokenId: created.id, deleted: 'owner lost access' },
      });
      await resumeRevocation(deps, id);
      throw new TokenError('owner_lost_access', `${owner.userName} lost access to ${req.team} while the token was being issued`);
    }
    await deps.audit({ ...intent, latencyMs: null, intentId, detail: { ...intent.detail, tokenId: created.id } });
    deps.logger.info('dependent token issued', { ledgerId: id, kind: row.kind });
    return { id, tokenValue: created.tokenValue, pulumiTeam: tokenTeam };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    await abandonIssuance(deps, id, err, intentId);
    throw new TokenError('pulumi_unavailable', `the Pulumi Service refused or did not answer: ${describe(err)}`);
  }
}

/** Creates the token under the recorded name, moving to the next generation while a name is taken. */
async function createWithFreshName(deps: TokenDeps, row: LedgerToken, team: string): Promise<{ id: string; tokenValue: string }> {
  let generation = row.generation;
  let name = row.tokenName;
  const expires = row.expiresAt ? Math.floor(row.expiresAt.getTime() / 1000) : 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deps.pulumi.createTeamToken(deps.org, team, { name, description: row.description, expires }, auditReason('token issued'));
    } catch (err) {
      if (!isNameTaken(err) || attempt >= MAX_NAME_ATTEMPTS || generation >= MAX_TOKEN_GENERATION) throw err;
      generation += 1;
      name = tokenName(row.id, generation);
      // Recorded before the call that uses it, so a crash never leaves an unknown token name.
      await bumpGeneration(deps.db, row.id, generation, name);
    }
  }
}

/**
 * "Name taken" is 409 per the spec; a 400 whose error names `already_exists` is read the same
 * way, since the status for this case is not settled (docs/pulumi-api.md, "Team tokens").
 */
function isNameTaken(err: unknown): boolean {
  if (err instanceof ConflictError) return true;
  if (!(err instanceof BadRequestError) || typeof err.body !== 'object' || !err.body) return false;
  return (err.body.errors ?? []).some((e) => e.errorType === 'already_exists');
}

/**
 * Undoes a failed issuance: the private team goes (and any token on it), the row ends `failed`.
 * A token on the parent team may exist after a failure other than a refusal (a create whose
 * answer was lost is not retried: its name is single-use, docs/pulumi-api.md, "Rate limits and Retry-After"); its secret reached
 * no one, but the reconciler leaves `pis-tok-` tokens to this part. So that row stays `issuing`,
 * and the sweep finds the token by its recorded name once the issuance is stale, and deletes it.
 */
async function abandonIssuance(deps: TokenDeps, id: string, cause: unknown, intentId: string | undefined): Promise<void> {
  try {
    const row = await getToken(deps.db, id);
    if (row?.privateTeam) await deps.pulumi.deleteTeam(deps.org, row.privateTeam);
    const leftForSweep = !row?.privateTeam && !refusedByPulumi(cause);
    if (!leftForSweep) await markFailed(deps.db, id, describe(cause));
    await deps.audit({
      action: 'token.issue_failed',
      outcome: 'failed',
      intentId,
      team: row?.privateTeam ?? row?.parentTeam ?? '',
      reason: describe(cause),
      requestId: null,
      latencyMs: null,
      detail: { ledgerId: id, ...(leftForSweep ? { leftForSweep } : {}) },
    });
  } catch (cleanupErr) {
    // The row stays `issuing`; the sweep retries the clean-up of stale issuances.
    deps.logger.warn('clean-up of a failed token issuance failed', { ledgerId: id, err: describe(cleanupErr) });
  }
}

/** A 4xx (429 included) means Pulumi made nothing; any other failure may come after the create. */
function refusedByPulumi(err: unknown): boolean {
  return err instanceof PulumiError && err.status >= 400 && err.status < 500;
}

function describe(err: unknown): string {
  if (err instanceof PulumiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export async function listTokens(deps: Pick<TokenDeps, 'db'>, filter: TokenFilter = {}): Promise<TokenView[]> {
  return (await listLedger(deps.db, filter)).map(toView);
}

export async function getTokenView(deps: Pick<TokenDeps, 'db'>, id: string): Promise<TokenView> {
  const row = z.uuid().safeParse(id).success ? await getToken(deps.db, id) : undefined;
  if (!row) throw new TokenError('unknown_token', `no token with id ${JSON.stringify(id)}`);
  return toView(row);
}

/** Revokes one token on request (admin API, console); already revoked is not an error. */
export async function revokeToken(deps: TokenDeps, id: string, reason = 'revoked on request'): Promise<TokenView> {
  const row = z.uuid().safeParse(id).success ? await getToken(deps.db, id) : undefined;
  if (!row) throw new TokenError('unknown_token', `no token with id ${JSON.stringify(id)}`);
  try {
    await revokeLedgerToken(deps, id, { reason, requestId: null, requestedAt: null });
  } catch (err) {
    throw new TokenError('pulumi_unavailable', `revocation is recorded and will be retried; Pulumi said: ${describe(err)}`);
  }
  return getTokenView(deps, id);
}
