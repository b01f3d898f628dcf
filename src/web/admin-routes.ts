import { type Request, type Response, Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Logger } from '../log';
import type { Person } from '../auth';
import { html } from './html';
import { renderRows } from './data-table';
import { renderStatus } from './status-page';
import { HttpError } from '../app';
import { CHART_RANGES, type ChartRange } from '../history';
import { CHART_RANGE_NAMES, renderCharts, revokeLatencyChart } from './charts-page';
import { renderPlan } from './plan-page';
import { renderTeam } from './team-page';
import { csrfField, page, unavailable } from './me-routes';
import { type AuditFilter, type ConsoleActor, ConsoleInputError, type ConsoleSources } from './sources';

/**
 * Administrator pages (members of SAML_ADMIN_GROUP only; the caller mounts them behind
 * requireAdmin): sync status, a page per team, the dry-run plan, charts, the audit log, holds,
 * SCIM clients and the BullMQ dashboard. Every change made here is audited with the signed-in person as its actor.
 */

export const QUEUES_PATH = '/admin/queues';

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function bodyString(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value.trim() : '';
}

function actorOf(res: Response): ConsoleActor {
  const person: Person = res.locals.person!;
  return { id: person.id, userName: person.userName };
}

function auditFilterOf(req: Request): AuditFilter {
  const limitText = queryString(req, 'limit');
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ConsoleInputError('limit must be a whole number from 1 to 1000');
  for (const name of ['since', 'until'] as const) {
    const value = queryString(req, name);
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new ConsoleInputError(`${name} must be a date or date-time`);
  }
  const cursor = queryString(req, 'cursor');
  if (cursor !== undefined && !/^\d{1,19}$/.test(cursor)) throw new ConsoleInputError('cursor must be the "next" value of a previous page');
  return {
    person: queryString(req, 'person'),
    team: queryString(req, 'team'),
    category: queryString(req, 'category'),
    op: queryString(req, 'op'),
    requestId: queryString(req, 'requestId'),
    since: queryString(req, 'since'),
    until: queryString(req, 'until'),
    cursor,
    limit,
  };
}

/** The same filter, one page on. */
function nextPageHref(filter: AuditFilter, next: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...filter, cursor: next })) if (value !== undefined && value !== '') params.set(key, String(value));
  return `/console/admin/audit?${params}`;
}

export function createAdminRoutes(deps: { logger: Logger; sources: ConsoleSources }): Router {
  const { sources, logger } = deps;
  const router = Router();

  router.get('/admin/status', async (_req, res) => {
    if (!sources.sync) return page(res, 'Sync status', unavailable('Sync status', 'reconciler'));
    const [status, signals, chart] = await Promise.all([sources.sync.status(), sources.signals?.status(), sources.history?.charts('hour')]);
    page(
      res,
      'Sync status',
      html`<div id="status">${renderStatus(status, new Date(), { signals, revokeChart: chart ? revokeLatencyChart(chart, 'status-chart-revoke') : undefined })}</div>`,
    );
  });

  router.get('/admin/plan', async (_req, res) => {
    if (!sources.sync?.plan) return page(res, 'Dry-run plan', unavailable('The dry-run plan', 'reconciler'));
    page(res, 'Dry-run plan', renderPlan(await sources.sync.plan()));
  });

  router.get('/admin/teams/:team', async (req, res) => {
    if (!sources.teams) return page(res, 'Team', unavailable('Team pages', 'reconciler'));
    const team = String(req.params.team);
    const view = await sources.teams.view(team);
    if (!view) throw new HttpError(404, 'not_found', `no team ${JSON.stringify(team)}: neither the policy nor the reconcile status knows it`);
    page(res, `Team ${team}`, renderTeam(view, new Date()));
  });

  router.get('/admin/charts', async (req, res) => {
    if (!sources.history) return page(res, 'Charts', unavailable('Charts', 'database'));
    const rangeText = queryString(req, 'range') ?? 'hour';
    if (!(rangeText in CHART_RANGES)) throw new ConsoleInputError('range must be hour or day');
    const range = rangeText as ChartRange;
    const chart = await sources.history.charts(range);
    page(
      res,
      'Charts',
      html`<p class="range">${(Object.keys(CHART_RANGE_NAMES) as ChartRange[]).map((r) =>
        r === range ? html`<a class="current" href="?range=${r}">${CHART_RANGE_NAMES[r]}</a>` : html`<a href="?range=${r}">${CHART_RANGE_NAMES[r]}</a>`,
      )}</p>
<p>Every process samples its figures into Postgres twice a minute, so every replica shows the same history; it is kept a day. Times are UTC.</p>
${renderCharts(chart)}`,
    );
  });

  router.get('/admin/audit', async (req, res) => {
    if (!sources.sync) return page(res, 'Audit log', unavailable('The audit log', 'reconciler'));
    const filter = auditFilterOf(req);
    const { entries, next } = await sources.sync.audit(filter);
    page(
      res,
      'Audit log',
      html`<p>Every change, newest first: an op's intent is written before its Pulumi call and its outcome after it (<code>intent</code> means no outcome yet). <code>npm run cli -- audit verify</code> checks that no entry was changed or removed.</p>
<form method="get" action="/console/admin/audit" id="audit-filter">
<label>Person <input name="person" value="${filter.person ?? ''}" placeholder="userName, SCIM id or login"></label>
<label>Team <input name="team" value="${filter.team ?? ''}"></label>
<label>Category <select name="category">${['', 'reconcile', 'drift', 'tokens', 'admin'].map((c) => html`<option value="${c}"${c === (filter.category ?? '') ? html` selected` : ''}>${c || 'any'}</option>`)}</select></label>
<label>Operation <input name="op" value="${filter.op ?? ''}" placeholder="revokeToken"></label>
<label>SCIM request id <input name="requestId" value="${filter.requestId ?? ''}"></label>
<label>Since <input name="since" value="${filter.since ?? ''}" placeholder="2026-11-28T00:00:00Z"></label>
<label>Until <input name="until" value="${filter.until ?? ''}"></label>
<label>Limit <input name="limit" value="${filter.limit}" size="5"></label>
<button type="submit">Filter</button></form>
<div id="audit">${renderRows(entries as Array<Record<string, unknown>>)}</div>
${next ? html`<p><a id="audit-next" href="${nextPageHref(filter, next)}">Older entries</a></p>` : ''}`,
    );
  });

  router.get('/admin/scim-clients', async (_req, res) => {
    if (!sources.scimClients) return page(res, 'SCIM clients', unavailable('SCIM client management', 'directory'));
    const clients = await sources.scimClients.list();
    page(
      res,
      'SCIM clients',
      html`<p>Each identity provider application that provisions over SCIM has a client with bearer tokens (stored hashed; only the last four characters are shown).</p>
<form method="post" action="/console/admin/scim-clients" id="create-client">${csrfField(res)}
<label>New client name (letters, digits, <code>.</code> <code>_</code> <code>-</code>) <input name="name" required maxlength="63"></label><button type="submit">Create client</button></form>
<table id="clients"><thead><tr><th>client</th><th>created</th><th>tokens</th><th></th></tr></thead><tbody>
${clients.map(
  (c) => html`<tr><td class="client">${c.name}${c.revokedAt ? html` <strong>(revoked ${c.revokedAt})</strong>` : ''}</td><td>${c.createdAt}</td>
<td>${renderRows(c.tokens.map((t) => ({ token: `…${t.last4}`, created: t.createdAt, expires: t.expiresAt, revoked: t.revokedAt, lastUsed: t.lastUsedAt })))}</td>
<td>${
    c.revokedAt
      ? ''
      : html`<form method="post" action="/console/admin/scim-clients/${encodeURIComponent(c.name)}/rotate" class="inline">${csrfField(res)}<button type="submit">Rotate token</button></form>
<form method="post" action="/console/admin/scim-clients/${encodeURIComponent(c.name)}/revoke" class="inline">${csrfField(res)}<button type="submit">Revoke client</button></form>`
  }</td></tr>`,
)}
</tbody></table>`,
    );
  });

  router.post('/admin/scim-clients', async (req, res) => {
    if (!sources.scimClients) return page(res, 'SCIM clients', unavailable('SCIM client management', 'directory'), 503);
    const name = bodyString(req, 'name');
    const created = await sources.scimClients.create(name, actorOf(res));
    logger.info('console scim client created', { client: name, by: res.locals.person!.id });
    res.set('Cache-Control', 'no-store');
    page(
      res,
      'SCIM client created',
      html`<p>Bearer token for the new client — paste it into the identity provider now; it is shown this once.</p><p class="secret" id="token-value">${created.token}</p><p><a href="/console/admin/scim-clients">Back</a></p>`,
      201,
    );
  });

  router.post('/admin/scim-clients/:name/rotate', async (req, res) => {
    if (!sources.scimClients) return page(res, 'SCIM clients', unavailable('SCIM client management', 'directory'), 503);
    const name = String(req.params.name);
    const rotated = await sources.scimClients.rotate(name, actorOf(res));
    logger.info('console scim token rotated', { client: name, by: res.locals.person!.id });
    res.set('Cache-Control', 'no-store');
    page(
      res,
      'New SCIM token',
      html`<p>The new bearer token is below, shown this once.${
        rotated.previousValidUntil
          ? html` The previous token keeps working until ${rotated.previousValidUntil}, so the identity provider can switch without a gap.`
          : ''
      }</p><p class="secret" id="token-value">${rotated.token}</p><p><a href="/console/admin/scim-clients">Back</a></p>`,
      201,
    );
  });

  router.post('/admin/scim-clients/:name/revoke', async (req, res) => {
    if (!sources.scimClients) return page(res, 'SCIM clients', unavailable('SCIM client management', 'directory'), 503);
    const name = String(req.params.name);
    await sources.scimClients.revoke(name, actorOf(res));
    logger.info('console scim client revoked', { client: name, by: res.locals.person!.id });
    res.redirect(303, '/console/admin/scim-clients');
  });

  router.get('/admin/holds', async (_req, res) => {
    if (!sources.holds) return page(res, 'Holds', unavailable('Holds', 'reconciler'));
    const holds = await sources.holds.pending();
    page(
      res,
      'Holds',
      html`<p>Removals of access from people the directory still calls active wait here when there are more than <code>safety.maxRemovals</code>; the rest of each reconcile ran. Approving applies what is still planned when the team is reconciled next (at once); rejecting keeps these removals out while their cause is unchanged.</p>
${
  holds.length === 0
    ? html`<p id="no-holds">No holds are waiting.</p>`
    : html`<table id="holds"><thead><tr><th>team</th><th>reason</th><th>removals</th><th>revocations</th><th>created</th><th>held changes</th><th></th></tr></thead><tbody>
${holds.map(
  (h) => html`<tr id="hold-${h.id}"><td class="team">${h.team}</td><td>${h.reason}</td><td>${h.removals}</td><td>${h.revocations}</td><td>${h.createdAt}</td>
<td><ul class="ops">${h.ops.map((line) => html`<li>${line}</li>`)}</ul></td>
<td><form method="post" action="/console/admin/holds/${h.id}/approve" class="inline">${csrfField(res)}<button type="submit">Approve</button></form>
<form method="post" action="/console/admin/holds/${h.id}/reject" class="inline">${csrfField(res)}<button type="submit">Reject</button></form></td></tr>`,
)}
</tbody></table>`
}`,
    );
  });

  for (const [action, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    router.post(`/admin/holds/:id/${action}`, async (req, res) => {
      if (!sources.holds) return page(res, 'Holds', unavailable('Holds', 'reconciler'), 503);
      const hold = await sources.holds.decide(String(req.params.id), decision, actorOf(res));
      logger.info(`console hold ${decision}`, { holdId: hold.id, team: hold.team, by: res.locals.person!.id });
      res.redirect(303, '/console/admin/holds');
    });
  }

  router.get(QUEUES_PATH, (_req, res) => page(res, 'Queues', unavailable('The BullMQ dashboard', 'queue')));

  return router;
}

/**
 * The BullMQ dashboard (`@bull-board/express`), or undefined without queues. It is mounted
 * behind requireAdmin but ahead of the console's CSRF check: its own JavaScript calls its JSON
 * API, which a cross-site form cannot imitate (JSON content type, SameSite=Lax cookie).
 */
export function createQueueDashboard(sources: ConsoleSources, basePath: string): Router | undefined {
  if (!sources.queues || sources.queues.length === 0) return undefined;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(`${basePath}${QUEUES_PATH}`);
  // @bull-board/express 9.10.1 is typed against its own nested @bull-board/api 9.10.1; the
  // adapter contract is the same in the top-level 9.10.2.
  createBullBoard({
    queues: sources.queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
  });
  return serverAdapter.getRouter() as Router;
}
