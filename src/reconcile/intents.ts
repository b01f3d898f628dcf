import type { OpenIntent } from './audit';
import type { ActualTeam } from './types';

/**
 * What a re-run makes of an intent its crashed predecessor left open (docs/audit.md): whether
 * the Pulumi state the re-run has just read shows the effect the op aimed at. Pure.
 */
export interface SeenState {
  /** The team as read now (null: Pulumi has no such team); undefined when not read. */
  actual?: ActualTeam | null;
  /** Lower-cased logins of the org's members, when read. */
  orgMembers?: { has(login: string): boolean };
}

/** true: the effect is there; false: it is not; undefined: what was read does not tell. */
export function intentEffectVisible(intent: Pick<OpenIntent, 'op' | 'subject' | 'detail'>, seen: SeenState): boolean | undefined {
  const { actual, orgMembers } = seen;
  const login = intent.subject?.toLowerCase() ?? '';
  const member = () => actual?.members.some((m) => m.toLowerCase() === login) ?? false;
  const grant = () => actual?.grants.find((g) => `${g.projectName}/${g.stackName}` === intent.subject);
  const environment = () => actual?.environments?.find((e) => `${e.projectName}/${e.envName}` === intent.subject);
  const teamKnown = actual !== undefined;
  switch (intent.op) {
    case 'createTeam':
      return teamKnown ? actual !== null : undefined;
    case 'deleteTeam':
      return teamKnown ? actual === null : undefined;
    case 'updateTeam':
      return teamKnown ? actual?.displayName === intent.detail.displayName : undefined;
    case 'addMember':
      return teamKnown ? member() : undefined;
    case 'removeMember':
      return teamKnown ? !member() : undefined;
    case 'addGrant':
      return teamKnown ? grant()?.permission === Number(intent.detail.permission) : undefined;
    case 'narrowGrant':
    case 'widenGrant':
      return teamKnown ? grant()?.permission === Number(intent.detail.to) : undefined;
    case 'removeGrant':
      return teamKnown ? grant() === undefined : undefined;
    case 'addEnvironmentPermission':
      return teamKnown ? environment()?.permission === intent.detail.permission : undefined;
    case 'editEnvironmentPermission':
      return teamKnown ? environment()?.permission === intent.detail.to : undefined;
    case 'removeEnvironment':
      return teamKnown ? environment() === undefined : undefined;
    case 'revokeToken':
      return teamKnown ? !actual?.tokens.some((t) => t.id === intent.subject) : undefined;
    case 'promoteMember':
    case 'demoteMember':
      return teamKnown ? (actual?.admins ?? []).some((m) => m.toLowerCase() === login) === (intent.op === 'promoteMember') : undefined;
    case 'assignTeamRole':
    case 'unassignTeamRole':
      return teamKnown ? (actual?.roleIds ?? []).includes(intent.subject ?? '') === (intent.op === 'assignTeamRole') : undefined;
    case 'addOrgMember':
      return orgMembers ? orgMembers.has(login) : undefined;
    case 'removeOrgMember':
      return orgMembers ? !orgMembers.has(login) : undefined;
    default:
      // adoptTeam, forgetTeam, relinkLogin write only our own tables.
      return undefined;
  }
}
