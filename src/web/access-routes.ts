import { type Request, Router } from 'express';
import type { AccessPath, AccessRow } from '../reconcile';
import { orgDefaultGrant } from '../reconcile';
import type { AccessAnswer, AccessService, AccessViewer } from './access';
import { sendReview } from './access-review';
import { html, type Html } from './html';
import { page, unavailable } from './me-routes';
import { ConsoleInputError } from './sources';

/**
 * "Access explained" (docs/access-review.md): `/console/access?person=…` and `?stack=…`, every
 * permission with the chain that gives it, in words. Everyone may ask about themselves (the
 * default); admins about anyone, and they download the access review.
 */

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

const stackHref = (row: { project: string; stack: string }) => `/console/access?stack=${encodeURIComponent(`${row.project}/${row.stack}`)}`;

function pathWords(path: AccessPath): Html {
  switch (path.kind) {
    case 'team': {
      const elsewhere = path.grantedBy.some((r) => r.index === path.rule.index)
        ? ''
        : html` — the team's ${path.permission} comes from rule <code>${path.grantedBy.map((r) => r.ref).join(', ')}</code>`;
      return html`in SCIM group <code>${path.group.displayName}</code> → rule <code>${path.rule.ref}</code> → team <strong>${path.team}</strong> (${path.permission})${elsewhere}`;
    }
    case 'token':
      return path.tokenKind === 'scoped'
        ? html`holding token <code>${path.tokenName}</code> → its private team <code>${path.team}</code> (${path.permission}), scoped from team ${path.parentTeam}`
        : html`holding token <code>${path.tokenName}</code> → team <strong>${path.team}</strong> (${path.permission})`;
    case 'orgDefault':
      return html`an org member, and the org default is ${path.permission}`;
  }
}

function renderRow(row: AccessRow): Html {
  const who = html`<strong>${row.person.userName}</strong> has <strong class="effective">${row.effective}</strong> on <a href="${stackHref(row)}"><code>${row.project}/${row.stack}</code></a>`;
  const attrs = html`class="access-row" data-person="${row.person.userName}" data-stack="${row.project}/${row.stack}" data-effective="${row.effective}"`;
  if (row.paths.length === 1) return html`<p ${attrs}>${who} because they are ${pathWords(row.paths[0]!)}.</p>`;
  return html`<div ${attrs}><p>${who} — the highest of ${row.paths.length} paths — because they are:</p><ul>${row.paths.map((p) => html`<li>${pathWords(p)}</li>`)}</ul></div>`;
}

function renderAnswer(answer: AccessAnswer, viewerIsAdmin: boolean): Html {
  const byDefault = orgDefaultGrant(answer.orgDefault.permission);
  const orgDefault =
    answer.orgDefault.permission === 'unknown'
      ? html`<p class="notice" id="org-default">The org default stack permission is <strong>unknown</strong>: ${answer.orgDefault.source}. Paths through it are not shown.</p>`
      : html`<p id="org-default">The org default stack permission is <strong>${answer.orgDefault.permission}</strong> (${answer.orgDefault.source})${
          byDefault && answer.person ? html`: ${answer.person.userName} also has ${byDefault} on every other stack of the org, as every member does` : ''
        }.</p>`;
  const subject = answer.stack ? html`<code>${answer.stack.project}/${answer.stack.stack}</code>` : '';
  const form = html`<form method="get" action="/console/access" id="ask">${
    viewerIsAdmin ? html`<label>Person (SCIM userName, id or Pulumi login) <input name="person" maxlength="256"></label> or ` : ''
  }<label>Stack (project/stack) <input name="stack" maxlength="201"></label> <button type="submit">Explain</button></form>`;
  return html`${form}
<p>Policy <code>${answer.policy.file}</code>; each path is SCIM group → policy rule → Pulumi team → permission, a token of the person's, or the org default. The effective permission is the highest path.</p>
${orgDefault}
<div id="access">${
    answer.rows.length === 0
      ? html`<p id="no-access"><em>${
          answer.person
            ? html`No policy rule or token gives ${answer.person.userName} access to any stack.`
            : viewerIsAdmin
              ? html`No policy rule or token gives anyone access to ${subject}.`
              : html`No policy rule or token gives you access to ${subject}.`
        }</em></p>`
      : answer.rows.map(renderRow)
  }</div>
${
  viewerIsAdmin
    ? html`<h2>Access review</h2><p>Every person × stack × path and every live token, for an access review. Each download is written to the audit log.</p>
<p><a href="/console/admin/access-review?format=csv" id="review-csv" download>Download CSV</a> · <a href="/console/admin/access-review?format=json" id="review-json" download>Download JSON</a></p>`
    : ''
}`;
}

export function createAccessRoutes(deps: { access?: AccessService }): Router {
  const router = Router();

  router.get('/access', async (req, res) => {
    const me = res.locals.person!;
    if (!deps.access) return page(res, 'Access explained', unavailable('The access view', 'reconciler'));
    const person = queryString(req, 'person');
    const stack = queryString(req, 'stack');
    if (person && stack) throw new ConsoleInputError('ask about a person or a stack, not both');
    const viewer: AccessViewer = me.isAdmin ? { admin: true } : { admin: false, userId: me.id };
    const answer = stack ? await deps.access.explainStack(stack, viewer) : await deps.access.explainPerson(person ?? me.id, viewer);
    page(res, answer.person ? `Access of ${answer.person.userName}` : `Access to ${stack}`, renderAnswer(answer, me.isAdmin));
  });

  // Under /admin: requireAdmin guards it.
  router.get('/admin/access-review', async (req, res) => {
    const me = res.locals.person!;
    if (!deps.access) return page(res, 'Access review', unavailable('The access review', 'reconciler'));
    const format = queryString(req, 'format') ?? 'csv';
    if (format !== 'csv' && format !== 'json') throw new ConsoleInputError('format is csv or json');
    sendReview(res, await deps.access.exportReview({ name: me.userName, channel: 'console', detail: { personId: me.id } }, format), format);
  });

  return router;
}
