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
  return {
    desiredGrants: async (team) => {
      if (!(await isOwnedTeam(db, team))) return null;
      const desired = (await readDirectory(db, policy.current, await reconciler.orgStacks(), [team])).teams.get(team);
      return desired ? [...desired.grants.values()].map((g) => ({ project: g.projectName, stack: g.stackName, permission: g.permission })) : [];
    },
    isActiveMember: async (userId, team) => {
      const desired = (await readDirectory(db, policy.current, [], [team])).teams.get(team);
      return desired ? [...desired.members.values()].some((m) => m.userId === userId) : false;
    },
    loginsOf: async (userId) => (await db('identities').where('user_id', userId).select('login')).map((r: { login: string }) => r.login),
    ownedTeams: (teams) => ownedAmong(db, teams),
  };
}
