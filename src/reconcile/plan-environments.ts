import { environmentKey, environmentRank, sameOpenDuration } from '../policy';
import type { ActualTeam, DesiredTeam, Op } from './types';

/**
 * The ESC environment part of a team's plan (docs/pulumi-api.md, "Environment permissions"):
 * a grant the team holds and no rule gives is removed, one at another level (or with another
 * `maxOpenDuration`) is changed with one edit, one the rules give and the team lacks is added.
 * Pure; `plan()` orders the ops with the rest.
 */
export function planEnvironments(team: string, desired: DesiredTeam | null, actual: Pick<ActualTeam, 'environments'> | null): Op[] {
  const ops: Op[] = [];
  const want = desired?.environments ?? new Map();
  const have = new Map((actual?.environments ?? []).map((e) => [environmentKey(e.projectName, e.envName), e]));
  for (const [key, held] of have) {
    const { projectName, envName } = held;
    const target = want.get(key);
    if (!target) ops.push({ kind: 'removeEnvironment', team, projectName, envName, from: held.permission });
    else if (target.permission !== held.permission || !sameOpenDuration(target.maxOpenDuration, held.maxOpenDuration)) {
      ops.push({
        kind: 'editEnvironmentPermission',
        team,
        projectName,
        envName,
        from: held.permission,
        to: target.permission,
        ...(target.maxOpenDuration ? { maxOpenDuration: target.maxOpenDuration } : {}),
      });
    }
  }
  for (const [key, target] of want) {
    if (have.has(key)) continue;
    ops.push({
      kind: 'addEnvironmentPermission',
      team,
      projectName: target.projectName,
      envName: target.envName,
      permission: target.permission,
      ...(target.maxOpenDuration ? { maxOpenDuration: target.maxOpenDuration } : {}),
    });
  }
  return ops;
}

/** Whether an edit lowers the level: it then runs with the removals, any other edit with the additions. */
export function narrowsEnvironment(op: Extract<Op, { kind: 'editEnvironmentPermission' }>): boolean {
  return environmentRank(op.to) < environmentRank(op.from);
}
