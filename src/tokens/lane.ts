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
 * no more calls than the batch has teams. Tokens in the cache are deleted at once. On each team
 * the batch leaves, one token list is read after the removals, so a token made since the cache
 * was refreshed is found too (and nobody who left can make one after it); the list refreshes
 * the cache. So a departure costs about one DELETE per token plus the member removals.
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
  const listedOn = shouldAskMemberTeams(allLogins.length, known.size) ? await memberTeams(deps, allLogins) : undefined;
  const candidates = [...new Set([...known, ...[...(listedOn?.values() ?? [])].flat()])].filter((team) => !isIssuedName(team));
  const owned = new Set(await deps.access.ownedTeams(candidates));

  /** Owned teams Pulumi lists the login on, or the directory change took the person off. */
  const teamsToLeave = async (person: PersonFacts, login: string): Promise<string[]> => {
    const teams = [...new Set([...(person.loss.teams ?? []), ...(listedOn?.get(login.toLowerCase()) ?? [])])].filter((t) => owned.has(t));
    return (await Promise.all(teams.map(async (team) => ((await person.isMember(team)) ? null : team)))).filter((t): t is string => t !== null);
  };
  const removals = people.flatMap((person) =>
    (loginsOf.get(person) ?? []).map(async (login) => {
      const teams = await teamsToLeave(person, login);
      return teams.map((team) => ({ person, team, done: removeMember(deps, person, team, login) }));
    }),
  );
  const removalsByTeam = new Map<string, Array<Promise<void>>>();
  const removalsOf = new Map<PersonFacts, Array<Promise<void>>>();
  for (const removal of (await Promise.all(removals)).flat()) {
    removalsByTeam.set(removal.team, [...(removalsByTeam.get(removal.team) ?? []), removal.done]);
    removalsOf.set(removal.person, [...(removalsOf.get(removal.person) ?? []), removal.done]);
    removal.done.catch(() => undefined);
  }

  // Read after the team's removals: it shows every token the people who left made on it.
  const lists = new Map(
    [...removalsByTeam].map(([team, done]) => {
      const list = revokeCreators ? listAfter(deps, team, done) : Promise.resolve([]);
      list.catch(() => undefined);
      return [team, list] as const;
    }),
  );

  const revoked = new Set<string>();
  const creatorBoundRevoked = async (person: PersonFacts): Promise<number> => {
    const logins = new Set((loginsOf.get(person) ?? []).map((l) => l.toLowerCase()));
    const mine = (tokens: readonly CachedTeamToken[]) => tokens.filter((t) => logins.has(t.createdBy.toLowerCase()));
    const revokeOnce = async (token: CachedTeamToken): Promise<boolean> => {
      if (revoked.has(token.tokenId)) return false;
      revoked.add(token.tokenId);
      return revokeIfCreatorLeft(deps, person, token);
    };
    const removed = removalsOf.get(person) ?? [];
    const fromCache = mine(cached).map(revokeOnce);
    // The lists of the teams this person leaves (other people's teams are theirs to read).
    const teamsLeft = new Set((await Promise.all([...logins].map((l) => teamsToLeave(person, l)))).flat());
    const fromLists = [...teamsLeft].map(async (team) => Promise.all(mine((await lists.get(team)) ?? []).map(revokeOnce)));
    const [revokedFromCache, revokedFromLists] = await Promise.all([settleAll(fromCache), settleAll(fromLists), settleAll(removed)]);
    return [...revokedFromCache, ...revokedFromLists.flat()].filter(Boolean).length;
  };
  return { creatorBoundRevoked };
}

async function removeMember(deps: TokenDeps, person: PersonFacts, team: string, login: string): Promise<void> {
  await deps.pulumi.removeTeamMember(deps.org, team, login);
  deps.logger.info('member removed by the revoke lane', { team, login, requestId: person.loss.requestId, latencyMs: sinceRequest(person.loss.requestedAt) });
}

/** Settles every promise, then throws the first failure: each revocation ran to its end or failed alone. */
async function settleAll<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The team's tokens once `removals` are done; the list refreshes the cache the lane reads. */
async function listAfter(deps: TokenDeps, team: string, removals: ReadonlyArray<Promise<void>>): Promise<CachedTeamToken[]> {
  await Promise.allSettled(removals);
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
  await deps.pulumi.deleteTeamToken(deps.org, token.team, token.tokenId, auditReason(reason));
  const latencyMs = sinceRequest(loss.requestedAt);
  if (latencyMs !== null) deprovisionToRevokeSeconds.observe(latencyMs / 1000);
  // A repeat after a crash finds the revocation recorded and does not audit it twice.
  const first = await recordCreatorBoundRevoked(deps.db, {
    team: token.team,
    tokenId: token.tokenId,
    creatorUserId: loss.userId,
    reason,
    requestId: loss.requestId,
  });
  if (!first) return false;
  await deps.audit({
    action: 'token.revoked',
    team: token.team,
    reason,
    requestId: loss.requestId,
    latencyMs,
    detail: { tokenId: token.tokenId, tokenName: token.tokenName, creatorUserId: loss.userId, lane: 'fast' },
  });
  deps.logger.info('creator-bound token revoked', { team: token.team, tokenId: token.tokenId, requestId: loss.requestId, latencyMs });
  return true;
}
