import type { Db } from '../directory';
import type { PolicyStore } from '../policy';
import { ownedAmong, isOwnedTeam } from './actual';
import { readDirectory } from './desired';
import type { Reconciler } from './reconciler';
import { fromTeamEnvironments, fromTeamStacks, type TeamAccessView, type TokenGrant } from '../tokens';
import type { DesiredTeam } from './types';

/**
 * The reconciler's answers to the tokens part's questions about teams (its `TeamAccessView`
 * port, but for the person's directory state, which src/runtime adds): desired grants of owned
 * teams, active membership by SCIM user id, every login a user ever had (kept after a
 * delete), and which teams the daemon owns.
 */
export type TeamMembershipView = Omit<TeamAccessView, 'personState'>;

export function teamMembershipView(db: Db, policy: PolicyStore, reconciler: Reconciler): TeamMembershipView {
  const activeMembers = async (team: string): Promise<Set<string>> => {
    const desired = (await readDirectory(db, policy.current, [], [team])).teams.get(team);
    return new Set(desired ? [...desired.members.values()].map((m) => m.userId) : []);
  };
  return {
    desiredGrants: async (team) => {
      if (!(await isOwnedTeam(db, team))) return null;
      const directory = await readDirectory(db, policy.current, await reconciler.orgStacks(), [team], await reconciler.orgEnvironments());
      const desired = directory.teams.get(team);
      return desired ? parentGrantsOf(desired) : [];
    },
    isActiveMember: async (userId, team) => (await activeMembers(team)).has(userId),
    activeMembers,
    loginsOf: async (userId) => (await db('identities').where('user_id', userId).select('login')).map((r: { login: string }) => r.login),
    ownedTeams: (teams) => ownedAmong(db, teams),
  };
}

/** A team's desired stack and environment grants, as a scoped token's parent grants (docs/architecture.md, "token fates"). */
export function parentGrantsOf(desired: Pick<DesiredTeam, 'grants' | 'environments'>): TokenGrant[] {
  return [...fromTeamStacks([...desired.grants.values()]), ...fromTeamEnvironments([...(desired.environments?.values() ?? [])])];
}
