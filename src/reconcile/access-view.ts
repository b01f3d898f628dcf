import type { Db } from '../directory';
import type { PolicyStore } from '../policy';
import { ownedAmong, isOwnedTeam } from './actual';
import { readDirectory } from './desired';
import type { Reconciler } from './reconciler';
import type { TeamAccessView } from '../tokens';

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
      const desired = (await readDirectory(db, policy.current, await reconciler.orgStacks(), [team])).teams.get(team);
      return desired ? [...desired.grants.values()].map((g) => ({ project: g.projectName, stack: g.stackName, permission: g.permission })) : [];
    },
    isActiveMember: async (userId, team) => (await activeMembers(team)).has(userId),
    activeMembers,
    loginsOf: async (userId) => (await db('identities').where('user_id', userId).select('login')).map((r: { login: string }) => r.login),
    ownedTeams: (teams) => ownedAmong(db, teams),
  };
}
