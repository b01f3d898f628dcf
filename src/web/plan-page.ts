import { environmentRank } from '../policy';
import type { OpView, PlanView } from '../reconcile';
import { count } from './human';
import { type Html, html } from './html';

/**
 * The dry-run plan in words: a section per team that would change, its counts ("3 changes:
 * 1 removal, 2 additions") and each op as the CLI describes it (`describeOp`), removals in red.
 */

export type OpEffect = 'removal' | 'addition' | 'change';

/** Whether an op takes access away, gives it, or changes something else. */
const EFFECT: Readonly<Record<OpView['kind'], OpEffect>> = {
  removeMember: 'removal',
  removeGrant: 'removal',
  narrowGrant: 'removal',
  revokeToken: 'removal',
  deleteTeam: 'removal',
  removeOrgMember: 'removal',
  demoteMember: 'removal',
  unassignTeamRole: 'removal',
  removeEnvironment: 'removal',
  addMember: 'addition',
  addGrant: 'addition',
  widenGrant: 'addition',
  createTeam: 'addition',
  addOrgMember: 'addition',
  promoteMember: 'addition',
  addEnvironmentPermission: 'addition',
  editEnvironmentPermission: 'change',
  assignTeamRole: 'change',
  adoptTeam: 'change',
  updateTeam: 'change',
  relinkLogin: 'change',
  forgetTeam: 'change',
};

export function effectOf(op: Pick<OpView, 'kind'> & { from?: unknown; to?: unknown }): OpEffect {
  // An environment edit that lowers the level takes access away; one that raises it (or changes only the open limit) does not.
  if (op.kind === 'editEnvironmentPermission') return environmentRank(String(op.to)) < environmentRank(String(op.from)) ? 'removal' : 'change';
  return EFFECT[op.kind];
}

/** "3 changes: 1 removal, 2 additions"; "1 change: 1 addition". */
export function planCounts(ops: ReadonlyArray<Pick<OpView, 'kind'>>): string {
  const by = (effect: OpEffect) => ops.filter((op) => effectOf(op) === effect).length;
  const parts = [
    [by('removal'), 'removal'],
    [by('addition'), 'addition'],
    [by('change'), 'other change'],
  ] as const;
  const detail = parts.filter(([n]) => n > 0).map(([n, noun]) => count(n, noun));
  return `${count(ops.length, 'change')}${detail.length > 0 ? `: ${detail.join(', ')}` : ''}`;
}

export function renderPlan(plans: readonly PlanView[]): Html {
  const changing = plans.filter((p) => p.ops.length > 0);
  const ops = changing.flatMap((p) => p.ops);
  return html`<p>What a reconcile would change now. Nothing here has been applied. Teams in sync: ${plans.length - changing.length} of ${plans.length}.</p>
<div id="plan">${
    changing.length === 0
      ? html`<p><em>Nothing would change.</em></p>`
      : html`<p id="plan-total">${planCounts(ops)} in ${count(changing.length, 'team')}.</p>
${changing.map(
  (
    p,
  ) => html`<section class="plan-team" data-team="${p.team}"><h2><a href="/console/admin/teams/${encodeURIComponent(p.team)}">${p.team}</a> <small>(${p.management})</small></h2>
<p class="plan-counts">${planCounts(p.ops)}</p>
<ul>${p.ops.map((op) => html`<li class="op-${effectOf(op)}" data-kind="${op.kind}">${op.description}</li>`)}</ul></section>`,
)}`
  }</div>`;
}
