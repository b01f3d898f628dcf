import type { PlanView } from '../../src/reconcile';
import { effectOf, planCounts, renderPlan } from '../../src/web/plan-page';

/** The dry-run plan in words, grouped by team, with counts and removals marked. */

describe('planCounts', () => {
  it.each([
    [[], '0 changes'],
    [['addMember'], '1 change: 1 addition'],
    [['removeMember', 'addMember', 'addGrant'], '3 changes: 1 removal, 2 additions'],
    [['narrowGrant', 'revokeToken', 'updateTeam'], '3 changes: 2 removals, 1 other change'],
  ] as const)('%j → %s', (kinds, expected) => {
    expect(planCounts(kinds.map((kind) => ({ kind })))).toBe(expected);
  });

  it.each([
    ['removeMember', 'removal'],
    ['narrowGrant', 'removal'],
    ['revokeToken', 'removal'],
    ['deleteTeam', 'removal'],
    ['widenGrant', 'addition'],
    ['createTeam', 'addition'],
    ['relinkLogin', 'change'],
    ['demoteMember', 'removal'],
    ['unassignTeamRole', 'removal'],
    ['removeEnvironment', 'removal'],
    ['promoteMember', 'addition'],
    ['addEnvironmentPermission', 'addition'],
  ] as const)('%s is a %s', (kind, effect) => expect(effectOf({ kind })).toBe(effect));

  it.each([
    ['admin', 'read', 'removal'],
    ['read', 'open', 'change'],
    ['open', 'open', 'change'],
  ] as const)('an environment edit %s → %s is a %s', (from, to, effect) => expect(effectOf({ kind: 'editEnvironmentPermission', from, to })).toBe(effect));
});

describe('renderPlan', () => {
  const plans = [
    {
      team: 'web',
      management: 'full',
      ops: [
        { kind: 'removeMember', login: 'carol', description: 'remove member carol' },
        { kind: 'addMember', login: 'dave', description: 'add member dave' },
      ],
      notes: [],
    },
    { team: 'quiet', management: 'full', ops: [], notes: [] },
  ] as unknown as PlanView[];
  const page = renderPlan(plans).text;

  it('has a section per team that would change, with its counts and a link to the team', () => {
    expect(page).toContain('<section class="plan-team" data-team="web">');
    expect(page).not.toContain('data-team="quiet"');
    expect(page).toContain('<a href="/console/admin/teams/web">web</a>');
    expect(page).toContain('<p class="plan-counts">2 changes: 1 removal, 1 addition</p>');
    expect(page).toContain('Teams in sync: 1 of 2.');
  });

  it('marks removals for colour and uses the CLI descriptions', () => {
    expect(page).toContain('<li class="op-removal" data-kind="removeMember">remove member carol</li>');
    expect(page).toContain('<li class="op-addition" data-kind="addMember">add member dave</li>');
  });
});
