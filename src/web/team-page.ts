import { scopeText } from '../tokens';
import { duration, when } from './human';
import { type Html, html } from './html';
import type { ConsoleTeamView } from './sources';

/**
 * One team for an admin: the rules that map it (file:line), its groups, the members and grants
 * the next reconcile wants, its live tokens, its last reconcile and recent audit entries.
 */

export function teamHref(team: string): string {
  return `/console/admin/teams/${encodeURIComponent(team)}`;
}

export function renderTeam(view: ConsoleTeamView, now: Date): Html {
  const s = view.status;
  return html`<dl class="facts" id="team-facts">
<dt>Rule</dt><dd id="team-rules">${
    view.rules.length === 0
      ? html`<em>no rule maps this team now</em>`
      : view.rules.map((r, i) => html`${i > 0 ? html`<br>` : ''}<code>${r.file}${r.line === null ? '' : `:${r.line}`}</code> ${r.match}`)
  }</dd>
<dt>Groups</dt><dd id="team-groups">${view.groups.length === 0 ? html`<em>none</em>` : view.groups.map((g, i) => html`${i > 0 ? ', ' : ''}<span title="${g.id}">${g.displayName}</span>`)}</dd>
<dt>Last reconcile</dt><dd id="team-last-reconcile">${
    s
      ? html`${when(s.lastReconcileAt, now)}: ${s.lastOutcome ?? '—'}, ${s.lastOps} ${s.lastOps === 1 ? 'change' : 'changes'}, took ${duration(s.lastDurationMs)}${
          s.degraded ? html` <span class="tone-bad">degraded: ${s.degradedReason ?? s.lastError ?? 'unknown'}</span>` : ''
        }`
      : html`never`
  }</dd>
<dt>Managed</dt><dd>${s?.management ?? '—'}${s ? (s.owned ? ' (owned by the daemon)' : ' (not owned)') : ''}</dd>
</dl>
<h2>Members</h2>
${
  view.members.length === 0
    ? html`<p><em>Nobody.</em></p>`
    : html`<table id="team-members"><thead><tr><th>person</th><th>Pulumi login</th></tr></thead><tbody>
${view.members.map((m) => html`<tr><td title="${m.userId}">${m.userName ?? m.userId}</td><td>${m.login}</td></tr>`)}
</tbody></table>`
}
${
  view.pending.length === 0
    ? ''
    : html`<h2>People waiting</h2><table id="team-pending"><thead><tr><th>login</th><th>reason</th><th>waiting since</th></tr></thead><tbody>
${view.pending.map((p) => html`<tr><td>${p.login}</td><td>${p.reason}</td><td>${when(p.firstSeenAt, now)}</td></tr>`)}
</tbody></table>`
}
<h2>Grants</h2>
${
  view.grants.length === 0
    ? html`<p><em>No stack grants.</em></p>`
    : html`<table id="team-grants"><thead><tr><th>stack</th><th>permission</th></tr></thead><tbody>
${view.grants.map((g) => html`<tr><td>${g.stack}</td><td>${g.permission}</td></tr>`)}
</tbody></table>`
}
<h2>Live tokens</h2>
${
  view.tokens.length === 0
    ? html`<p><em>No live tokens.</em></p>`
    : html`<table id="team-tokens"><thead><tr><th>description</th><th>owner</th><th>kind</th><th>scope</th><th>created</th><th>expires</th></tr></thead><tbody>
${view.tokens.map(
  (t) =>
    html`<tr><td>${t.description}</td><td>${t.owner}</td><td>${t.kind}</td><td>${t.scope ? t.scope.map(scopeText).join(', ') : 'the whole team'}</td><td>${when(t.createdAt, now)}</td><td>${t.expiresAt ? when(t.expiresAt, now) : 'never'}</td></tr>`,
)}
</tbody></table>`
}
<h2>Recent audit entries</h2>
${
  view.audit.length === 0
    ? html`<p id="team-audit"><em>No entries yet.</em></p>`
    : html`<table id="team-audit"><thead><tr><th>when</th><th>category</th><th>op</th><th>subject</th><th>outcome</th><th>by, or why</th></tr></thead><tbody>
${view.audit.map(
  (e) =>
    html`<tr><td>${when(e.at, now)}</td><td>${e.category}</td><td>${e.op}</td><td>${e.subject ?? '—'}</td><td class="${e.outcome === 'failure' ? 'tone-bad' : ''}">${e.outcome}</td><td>${e.actor ?? e.reason ?? '—'}</td></tr>`,
)}
</tbody></table>`
}
<p><a href="/console/admin/audit?team=${encodeURIComponent(view.team)}">All of this team's audit entries</a></p>`;
}
