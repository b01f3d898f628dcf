import { ConflictError } from '../pulumi';
import type { Team } from '../pulumi';
import type { LedgerToken } from './ledger';
import type { TokenDeps } from './ports';
import { fromTeamEnvironments, fromTeamStacks, planPrivateTeam, type PrivateTeamOp, type TokenGrant } from './scope';

/**
 * Brings a scoped token's private team to `desired`: creates it when asked (a 409 means an
 * earlier attempt created it — the name comes from our ledger id, so it is ours to adopt),
 * removes any member (a private team has no people: the API caller may have been added as
 * its creator), then applies the pure grant plan, shrinking before growing; `beforeWrites` runs
 * once before the first of those writes (the audit's intent). Answers 'missing'
 * when the team does not exist (deleted by hand: the token went with it).
 */
export async function syncPrivateTeamGrants(
  deps: TokenDeps,
  row: LedgerToken,
  desired: readonly TokenGrant[],
  options: { create: boolean; beforeWrites?: (ops: readonly PrivateTeamOp[]) => Promise<void> },
): Promise<PrivateTeamOp[] | 'missing'> {
  const { pulumi, org } = deps;
  const name = row.privateTeam;
  if (!name) throw new Error(`ledger token ${row.id} has no private team`);

  let team: Team | null = null;
  if (options.create) {
    try {
      team = await pulumi.createTeam(org, {
        name,
        displayName: `Token ${row.tokenName}`.slice(0, 100),
        description: `Private team of a scoped token of ${row.parentTeam}, managed by pulumi-idp-sync`.slice(0, 255),
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  // The create answer may omit members and grants; read the team back for the plan.
  team = await pulumi.getTeam(org, name);
  if (!team) return 'missing';

  const ops = planPrivateTeam(desired, [...fromTeamStacks(team.stacks), ...fromTeamEnvironments(team.environments)]);
  if (ops.length > 0 || (team.members ?? []).length > 0) await options.beforeWrites?.(ops);
  for (const member of team.members ?? []) await pulumi.removeTeamMember(org, name, member.githubLogin);

  for (const op of ops) await applyOp(deps, name, op);
  return ops;
}

async function applyOp({ pulumi, org }: TokenDeps, team: string, op: PrivateTeamOp): Promise<void> {
  if (op.kind === 'removeEnvironment' || op.kind === 'editEnvironment' || op.kind === 'addEnvironment') {
    const environment = { projectName: op.project, envName: op.environment };
    if (op.kind === 'removeEnvironment') return pulumi.removeEnvironmentPermission(org, team, environment);
    const grant = { ...environment, permission: op.permission, ...(op.maxOpenDuration ? { maxOpenDuration: op.maxOpenDuration } : {}) };
    return op.kind === 'editEnvironment' ? pulumi.editEnvironmentPermission(org, team, grant) : pulumi.addEnvironmentPermission(org, team, grant);
  }
  const stack = { projectName: op.project, stackName: op.stack };
  if (op.kind === 'removeStack') return pulumi.removeStackPermission(org, team, stack);
  if (op.kind === 'editStack') return pulumi.editStackPermission(org, team, { ...stack, permission: op.permission });
  return pulumi.addStackPermission(org, team, { ...stack, permission: op.permission });
}
