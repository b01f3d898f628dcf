import type { Op } from './types';

/** Pulumi's numeric stack permission levels, by name. */
const LEVEL: Record<number, string> = { 101: 'read', 102: 'write', 103: 'admin', 104: 'creator' };
const level = (p: number) => LEVEL[p] ?? String(p);

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
  }
}
