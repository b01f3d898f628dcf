import { deprovisionToRevokeSeconds } from '../metrics';
import { NotFoundError } from '../pulumi';
import { creatorBoundFate, creatorRevokeReason, ownerLossFate, type PersonState } from './fate';
import {
  type CachedTeamToken,
  cachedTokensCreatedBy,
  type LedgerToken,
  liveTokensOfOwner,
  markRevoking,
  recordCreatorBoundRevoked,
  replaceTeamTokenCache,
} from './ledger';
import { isIssuedName } from './naming';
import { auditedTokenWrite } from './audited';
import type { TokenDeps } from './ports';
import { auditReason, finishRevocation, sinceRequest } from './revoke';

/**
 * The fast revoke lane: what runs when the directory says someone lost access (deactivated,
 * deleted, removed from a group), ahead of the team reconciles that follow. It takes a batch of
 * people at once — 1,000 departures in a minute are one stream of work — and for each of them:
 *
 *   - revokes the ledger tokens they own whose parent team they are no longer an active member of;
 *   - removes them from the owned teams they no longer belong to (their own login and personal
 *     tokens act through the team), without waiting for the team reconcile;
 *   - revokes the creator-bound team tokens they created there (`tokens.revokeWhenCreatorLeaves`).
 *
 * What it costs (docs/robustness.md, "Cheap offboarding"): the teams come from what the daemon
 * knows — the teams the directory change took the person off (`IdentityLoss.teams`), the team
 * token cache, the ledger — and Pulumi is asked which teams a person is on only while that costs
 * no more calls than the batch has teams, alongside the rest, never before it. Tokens in the cache
 * are deleted at once. On each team the batch leaves, one token list is read alongside the
 * removals, so a token made since the cache was refreshed is found too; the list refreshes the
 * cache. So a departure costs about one DELETE per token plus the member removals.
 *
 * Repeating the job is harmless: ledger rows move through `revoking`, creator-bound revocations
 * are recorded once (`revoked_team_tokens`) after their DELETE, a DELETE of a gone token and the
 * removal of a non-member are done.
 */

export interface IdentityLoss {
  userId: string;
  /** SCIM request id of the write that removed access. */
  requestId: string | null;
  /** When that write committed: the outbox row's created_at. */
  requestedAt: Date | null;
  /** Teams the directory change took the person off (their groups' teams), as the dispatch saw them. */
  teams?: readonly string[];
}

export interface IdentityLossResult {
  ledgerRevoked: number;
  creatorBoundRevoked: number;
}

export async function revokeForIdentityLoss(deps: TokenDeps, loss: IdentityLoss): Promise<IdentityLossResult> {
  const [outcome] = await revokeForIdentityLosses(deps, [loss]);
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

/**
 * Whether to ask Pulumi which teams each person is on (one call per login): only while that
 * costs no more than the teams the batch already knows of (at least one call). A large batch
 * relies on what the daemon knows; the team reconciles still catch a membership made by hand.
 */
export function shouldAskMemberTeams(logins: number, knownTeams: number): boolean {
  return logins <= Math.max(1, knownTeams);
}

/** One outcome per loss, in order: a person's failure (retried by their job) leaves the others be. */
export async function revokeForIdentityLosses(deps: TokenDeps, losses: readonly IdentityLoss[]): Promise<Array<PromiseSettledResult<IdentityLossResult>>> {
  // Observe mode writes nothing to Pulumi; the team reconciles record what enforce would do.
  if (deps.policy.current.reconcile.mode === 'observe') {
    return losses.map(() => ({ status: 'fulfilled', value: { ledgerRevoked: 0, creatorBoundRevoked: 0 } }));
  }
  const members = memoByTeam((team) => deps.access.activeMembers(team));
  const people = losses.map((loss) => personFacts(deps, loss, members));
  const teams = creatorBoundBatch(deps, people);
  return Promise.allSettled(
    people.map(async (person) => {
      const [ledgerRevoked, creatorBoundRevoked] = await Promise.all([revokeLedger(deps, person), teams.then((batch) => batch.creatorBoundRevoked(person))]);
      return { ledgerRevoked, creatorBoundRevoked };
    }),
  );
}

/** One person's facts, each read once and only when asked. */
interface PersonFacts {
  loss: IdentityLoss;
  cause: { requestId: string | null; requestedAt: Date | null };
  isMember(team: string): Promise<boolean>;
  state(): Promise<PersonState>;
}

/** One read per team for the whole batch, made after every change of the batch committed. */
function memoByTeam<T>(read: (team: string) => Promise<T>): (team: string) => Promise<T> {
  const answers = new Map<string, Promise<T>>();
  return (team) => {
    let answer = answers.get(team);
    if (!answer) {
      answer = read(team);
      answers.set(team, answer);
    }
    return answer;
  };
}

function personFacts(deps: TokenDeps, loss: IdentityLoss, members: (team: string) => Promise<ReadonlySet<string>>): PersonFacts {
  let state: Promise<PersonState> | undefined;
  return {
    loss,
    cause: { requestId: loss.requestId, requestedAt: loss.requestedAt },
    async isMember(team) {
      return (await members(team)).has(loss.userId);
    },
    state() {
      state ??= deps.access.personState(loss.userId);
      return state;
    },
  };
}

async function revokeLedger(deps: TokenDeps, person: PersonFacts): Promise<number> {
  let revoked = 0;
  await settleAll(
    (await liveTokensOfOwner(deps.db, person.loss.userId)).map(async (token) => {
      let row: LedgerToken | undefined = token;
      if (token.state !== 'revoking') {
        const ownerIsMember = await person.isMember(token.parentTeam);
        const fate = ownerLossFate(token, { ownerIsMember, ownerState: ownerIsMember ? 'active' : await person.state() });
        if (fate.action !== 'revoke') return;
        row = await markRevoking(deps.db, token.id, { reason: fate.reason, ...person.cause });
        if (!row) return;
      }
      await finishRevocation(deps, row);
      revoked += 1;
    }),
  );
  return revoked;
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

/**
 * The batch's work on owned teams: member removals, one token list per team left, creator-bound
 * DELETEs. Each person's count settles with their own calls, removals included.
 */
async function creatorBoundBatch(deps: TokenDeps, people: readonly PersonFacts[]): Promise<{ creatorBoundRevoked(person: PersonFacts): Promise<number> }> {
  const revokeCreators = deps.policy.current.tokens.revokeWhenCreatorLeaves;
  const loginsOf = new Map(await Promise.all(people.map(async (p) => [p, await deps.access.loginsOf(p.loss.userId)] as const)));
  const allLogins = [...new Set([...loginsOf.values()].flat())];
  const cached = revokeCreators ? await cachedTokensCreatedBy(deps.db, allLogins) : [];
  const known = new Set([...people.flatMap((p) => p.loss.teams ?? []), ...cached.map((t) => t.team)]);
  // Asked alongside the work on the teams already known, never before it.
  const listedOn = shouldAskMemberTeams(allLogins.length, known.size) ? memberTeams(deps, allLogins) : Promise.resolve(new Map<string, string[]>());
  listedOn.catch(() => undefined);

  const revoked = new Set<string>();
  const lists = memoByTeam((team) => (revokeCreators ? listAndRefresh(deps, team) : Promise.resolve([])));
  /** Removes the person from those of `teams` the daemon owns and they left, then revokes what they made there. */
  const leave = async (person: PersonFacts, teams: readonly string[]): Promise<number> => {
    const logins = loginsOf.get(person) ?? [];
    const lower = new Set(logins.map((l) => l.toLowerCase()));
    const owned = await deps.access.ownedTeams(teams.filter((team) => !isIssuedName(team)));
    const left = (await Promise.all(owned.map(async (team) => ((await person.isMember(team)) ? null : team)))).filter((t): t is string => t !== null);
    const removals = left.flatMap((team) => logins.map((login) => removeMember(deps, person, team, login)));
    // Read alongside the removals: it shows every token made before it, those made since the
    // cache was refreshed included; one made in the moment between is the team reconcile's.
    const fromLists = left.map(async (team) => (await lists(team)).filter((t) => lower.has(t.createdBy.toLowerCase())).map((t) => revokeOnce(person, t)));
    const [revokedHere] = await Promise.all([settleAll((await Promise.all(fromLists)).flat()), settleAll(removals)]);
    return revokedHere.filter(Boolean).length;
  };
  const revokeOnce = async (person: PersonFacts, token: CachedTeamToken): Promise<boolean> => {
    if (revoked.has(token.tokenId)) return false;
    revoked.add(token.tokenId);
    return revokeIfCreatorLeft(deps, person, token);
  };

  const creatorBoundRevoked = async (person: PersonFacts): Promise<number> => {
    const logins = new Set((loginsOf.get(person) ?? []).map((l) => l.toLowerCase()));
    const fromCache = cached.filter((t) => logins.has(t.createdBy.toLowerCase())).map((t) => revokeOnce(person, t));
    const knownTeams = [...new Set([...(person.loss.teams ?? []), ...cached.filter((t) => logins.has(t.createdBy.toLowerCase())).map((t) => t.team)])];
    const askedTeams = listedOn.then((listed) => [...new Set([...logins].flatMap((l) => listed.get(l) ?? []))].filter((t) => !knownTeams.includes(t)));
    const counts = await Promise.all([settleAll(fromCache), leave(person, knownTeams), askedTeams.then((teams) => leave(person, teams))]);
    return counts[0].filter(Boolean).length + counts[1] + counts[2];
  };
  return { creatorBoundRevoked };
}

/** Intent, the removal, then its outcome: a lane write is audited as a reconcile's is (docs/audit.md). */
async function removeMember(deps: TokenDeps, person: PersonFacts, team: string, login: string): Promise<void> {
  // A repeat of a removal this process just made (a re-delivered job) sends nothing: no intent either.
  if (deps.pulumi.memberRemovedRecently(deps.org, team, login)) return;
  const intent = {
    action: 'member.removed' as const,
    team,
    reason: 'no longer in a group that maps to the team',
    requestId: person.loss.requestId,
    detail: { login, userId: person.loss.userId, lane: 'fast' },
  };
  const { intentId } = await auditedTokenWrite(deps, intent, () => deps.pulumi.removeTeamMember(deps.org, team, login));
  const latencyMs = sinceRequest(person.loss.requestedAt);
  await deps.audit({ ...intent, latencyMs, outcome: 'applied', intentId });
  deps.logger.info('member removed by the revoke lane', { team, login, requestId: person.loss.requestId, latencyMs });
}

/** Settles every promise, then throws the first failure: each revocation ran to its end or failed alone. */
async function settleAll<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The team's tokens now; the list refreshes the cache the lane reads. */
async function listAndRefresh(deps: TokenDeps, team: string): Promise<CachedTeamToken[]> {
  const tokens = await deps.pulumi.listTeamTokens(deps.org, team);
  await replaceTeamTokenCache(deps.db, team, tokens);
  return tokens.map((t) => ({ team, tokenId: t.id, tokenName: t.name, createdBy: t.createdBy ?? '', expires: t.expires }));
}

/** Lower-cased login → the teams Pulumi lists it on; a login Pulumi does not know (404) has none. */
async function memberTeams(deps: TokenDeps, logins: readonly string[]): Promise<Map<string, string[]>> {
  const teamsOf = async (login: string): Promise<[string, string[]]> => [
    login.toLowerCase(),
    await deps.pulumi.listMemberTeams(deps.org, login).catch((err) => {
      if (err instanceof NotFoundError) return [];
      throw err;
    }),
  ];
  return new Map(await Promise.all(logins.map(teamsOf)));
}

/** Asks `fate.ts`, then DELETE and record; true when this call was the first to record (and audit) it. */
async function revokeIfCreatorLeft(deps: TokenDeps, person: PersonFacts, token: CachedTeamToken): Promise<boolean> {
  // Tokens this part issued carry the daemon's login as createdBy: the ledger branch owns them.
  if (isIssuedName(token.team) || isIssuedName(token.tokenName)) return false;
  const isMember = await person.isMember(token.team);
  const creator = { state: isMember ? ('active' as const) : await person.state(), isMember };
  const why = creatorBoundFate({ creator, teamMapped: true }, deps.policy.current.tokens);
  if (!why) return false;
  const reason = creatorRevokeReason(why, token.team);
  const { loss } = person;
  const intent = {
    action: 'token.revoked' as const,
    team: token.team,
    reason,
    requestId: loss.requestId,
    detail: { tokenId: token.tokenId, tokenName: token.tokenName, creatorUserId: loss.userId, lane: 'fast' },
  };
  const { intentId } = await auditedTokenWrite(deps, intent, () => deps.pulumi.deleteTeamToken(deps.org, token.team, token.tokenId, auditReason(reason)));
  const latencyMs = sinceRequest(loss.requestedAt);
  if (latencyMs !== null) deprovisionToRevokeSeconds.observe(latencyMs / 1000);
  // A repeat after a crash finds the revocation recorded: its outcome says `already`.
  const first = await recordCreatorBoundRevoked(deps.db, {
    team: token.team,
    tokenId: token.tokenId,
    creatorUserId: loss.userId,
    reason,
    requestId: loss.requestId,
  });
  await deps.audit({ ...intent, latencyMs: first ? latencyMs : null, outcome: first ? 'applied' : 'already', intentId });
  if (!first) return false;
  deps.logger.info('creator-bound token revoked', { team: token.team, tokenId: token.tokenId, requestId: loss.requestId, latencyMs });
  return true;
}
