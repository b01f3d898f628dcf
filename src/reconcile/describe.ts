import type { Op, Plan } from './types';

/** Pulumi's numeric stack permission levels, by name (docs/pulumi-api.md, "Permission levels"). */
const LEVEL: Readonly<Record<number, string>> = { 101: 'read', 102: 'write', 103: 'admin', 104: 'creator' };
const level = (p: number) => LEVEL[p] ?? String(p);

const openLimit = (maxOpenDuration: string | undefined) => (maxOpenDuration ? ` (opens last at most ${maxOpenDuration})` : '');

/** One op as a line a person reads: what the reconcile would do to the team. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'adoptTeam':
      return `adopt existing ${op.teamKind} team (${op.mode === 'full' ? 'members, grants and tokens' : 'grants only'})`;
    case 'revokeToken':
      return `revoke token ${op.tokenName} (${op.tokenId}) of ${op.createdBy}: ${op.why}`;
    case 'removeMember':
      return `remove member ${op.login}`;
    case 'narrowGrant':
      return `narrow ${op.projectName}/${op.stackName} ${level(op.from)} → ${level(op.to)}`;
    case 'removeGrant':
      return `remove grant ${op.projectName}/${op.stackName} (${level(op.from)})`;
    case 'deleteTeam':
      return 'delete team (its tokens stop working)';
    case 'forgetTeam':
      return 'forget team (gone from Pulumi and from policy)';
    case 'createTeam':
      return `create team "${op.displayName}"`;
    case 'updateTeam':
      return `rename to "${op.displayName}"`;
    case 'addOrgMember':
      return `add ${op.login} to the organization (role member)`;
    case 'relinkLogin':
      return `link person ${op.userId} to login ${op.to} instead of ${op.from}`;
    case 'removeOrgMember':
      return `remove ${op.login} from the organization (${op.why} in the IdP)`;
    case 'addMember':
      return `add member ${op.login}`;
    case 'widenGrant':
      return `widen ${op.projectName}/${op.stackName} ${level(op.from)} → ${level(op.to)}`;
    case 'addGrant':
      return `grant ${level(op.permission)} on ${op.projectName}/${op.stackName}`;
    case 'demoteMember':
      return `make ${op.login} a team member instead of a team admin`;
    case 'promoteMember':
      return `make ${op.login} a team admin`;
    case 'unassignTeamRole':
      return `take custom role ${op.roleId} away from the team`;
    case 'assignTeamRole':
      return `give the team custom role "${op.roleName}" (${op.roleId})${op.replaces ? ` instead of ${op.replaces}` : ''}`;
    case 'removeEnvironment':
      return `remove environment ${op.projectName}/${op.envName} (${op.from})`;
    case 'editEnvironmentPermission':
      return `change environment ${op.projectName}/${op.envName} ${op.from} → ${op.to}${openLimit(op.maxOpenDuration)}`;
    case 'addEnvironmentPermission':
      return `grant ${op.permission} on environment ${op.projectName}/${op.envName}${openLimit(op.maxOpenDuration)}`;
  }
}

/** An op's permission levels (`permission`, a grant's `from`/`to`) as names; a relink's logins stay as they are. */
type WithLevelNames<O> = { [K in keyof O]: K extends 'permission' | 'from' | 'to' ? (O[K] extends number ? string : O[K]) : O[K] };

/** An op as people and scripts read it: its fields, levels by name (`read|write|admin`), and the line `describeOp` gives. */
export type OpView = Op extends infer O ? (O extends Op ? WithLevelNames<O> & { description: string } : never) : never;

export interface PlanView extends Omit<Plan, 'ops'> {
  ops: OpView[];
}

export function presentOp(op: Op): OpView {
  const view: Record<string, unknown> = { ...op, description: describeOp(op) };
  for (const key of ['permission', 'from', 'to'] as const) {
    const value = view[key];
    if (typeof value === 'number') view[key] = level(value);
  }
  return view as OpView;
}

/** A plan as the admin API, the CLI and the console show it: every op through `presentOp`. */
export function presentPlan(plan: Plan): PlanView {
  return { ...plan, ops: plan.ops.map(presentOp) };
}
