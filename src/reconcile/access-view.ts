import type { Db } from '../directory';
import type { PolicyStore } from '../policy';
import { ownedAmong, isOwnedTeam } from './actual';
import { readDirectory } from './desired';
import type { Reconciler } from './reconciler';
import type { Permission } from '../policy';

/**
 * The reconciler's answers about teams that the tokens controller asks (src/runtime adapts it
 * to the tokens part's port): desired grants of owned teams, active membership by SCIM user
 * id, and every login a user ever had (kept after a delete).
 */
export interface TeamMembershipView {
  /** Grants in the tokens part's shape; null for teams the daemon does not own. */
  desiredGrants(team: string): Promise<Array<{ project: string; stack: string; permission: Permission }> | null>;
  isActiveMember(userId: string, team: string): Promise<boolean>;
  loginsOf(userId: string): Promise<string[]>;
  ownedTeams(teams: readonly string[]): Promise<string[]>;
}

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
