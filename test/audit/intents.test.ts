import { intentEffectVisible, type SeenState } from '../../src/reconcile/intents';
import type { ActualTeam } from '../../src/reconcile/types';

/** What a re-run makes of an intent left open: does the state it read show the op's effect? */

const actual: ActualTeam = {
  name: 'web',
  kind: 'pulumi',
  displayName: 'Web',
  description: '',
  members: ['Alice'],
  grants: [{ projectName: 'infra', stackName: 'prod', permission: 102 }],
  environments: [{ projectName: 'infra', envName: 'prod', permission: 'open' }],
  tokens: [
    { id: 'tok-1', name: 'ci', description: '', created: '2026-12-01T00:00:00Z', createdBy: 'alice', lastUsed: 0, expires: 0, admin: false, type: 'team' },
  ],
};
const roster = new Set(['alice']);

const cases: Array<[string, string, string | null, Record<string, unknown>, SeenState, boolean | undefined]> = [
  ['team created', 'createTeam', null, {}, { actual }, true],
  ['team not created', 'createTeam', null, {}, { actual: null }, false],
  ['team deleted', 'deleteTeam', null, {}, { actual: null }, true],
  ['team renamed', 'updateTeam', null, { displayName: 'Web' }, { actual }, true],
  ['team not renamed', 'updateTeam', null, { displayName: 'Web team' }, { actual }, false],
  ['member added (login case ignored)', 'addMember', 'alice', {}, { actual }, true],
  ['member not added', 'addMember', 'bob', {}, { actual }, false],
  ['member removed', 'removeMember', 'bob', {}, { actual }, true],
  ['member removed with the team', 'removeMember', 'alice', {}, { actual: null }, true],
  ['member not removed', 'removeMember', 'alice', {}, { actual }, false],
  ['grant added', 'addGrant', 'infra/prod', { permission: 102 }, { actual }, true],
  ['grant added at another level', 'addGrant', 'infra/prod', { permission: 103 }, { actual }, false],
  ['grant narrowed', 'narrowGrant', 'infra/prod', { from: 103, to: 102 }, { actual }, true],
  ['grant not widened', 'widenGrant', 'infra/prod', { from: 102, to: 103 }, { actual }, false],
  ['grant removed', 'removeGrant', 'infra/dev', { from: 101 }, { actual }, true],
  ['grant not removed', 'removeGrant', 'infra/prod', { from: 102 }, { actual }, false],
  ['environment granted', 'addEnvironmentPermission', 'infra/prod', { permission: 'open' }, { actual }, true],
  ['environment granted at another level', 'addEnvironmentPermission', 'infra/prod', { permission: 'write' }, { actual }, false],
  ['environment level changed', 'editEnvironmentPermission', 'infra/prod', { from: 'write', to: 'open' }, { actual }, true],
  ['environment level not changed', 'editEnvironmentPermission', 'infra/prod', { from: 'open', to: 'read' }, { actual }, false],
  ['environment grant removed', 'removeEnvironment', 'infra/dev', { from: 'read' }, { actual }, true],
  ['environment grant not removed', 'removeEnvironment', 'infra/prod', { from: 'open' }, { actual }, false],
  ['token revoked', 'revokeToken', 'tok-2', {}, { actual }, true],
  ['token not revoked', 'revokeToken', 'tok-1', {}, { actual }, false],
  ['org member added', 'addOrgMember', 'Alice', {}, { orgMembers: roster }, true],
  ['org member not removed', 'removeOrgMember', 'alice', {}, { orgMembers: roster }, false],
  ['org op without a roster read', 'addOrgMember', 'alice', {}, { actual }, undefined],
  ['team op without a team read', 'addMember', 'alice', {}, { orgMembers: roster }, undefined],
  ['an op on our own tables', 'adoptTeam', null, {}, { actual }, undefined],
];

it.each(cases)('%s', (_name, op, subject, detail, seen, expected) => {
  expect(intentEffectVisible({ op, subject, detail }, seen)).toBe(expected);
});
