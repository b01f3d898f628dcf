import { type Request, type Response, Router } from 'express';
import { groupsOf, type Person } from '../auth';
import type { Db } from '../directory/db';
import { adminTeamsForGroup, PERMISSIONS, teamsForGroup } from '../policy';
import type { Logger } from '../log';
import { scopeText } from '../tokens';
import { when } from './human';
import { html, type Html, layout } from './html';
import { ConsoleForbiddenError, ConsoleInputError, type ConsoleSources, type ScopeLine } from './sources';

/**
 * Pages every signed-in person gets: their groups, the teams and grants policy gives them, and
 * their own tokens (issue — the value shown once — and revoke). Nobody sees another person's
 * tokens here: `owner` is always the signed-in person's SCIM id, never their userName, which
 * may have belonged to someone else before.
 */

export interface TeamGrant {
  team: string;
  group: string;
  grants: Array<{ project: string; stack: string; permission: string }>;
  /** The person's role within the team: `admin` through one of its rules' `admins` groups. */
  role: 'member' | 'admin';
  /** The custom role the team's rule gives it, by name. */
  customRole?: string;
  /** ESC environment grants, when the team data carries them. */
  environments?: Array<{ project: string; environment: string; permission: string }>;
}

export function page(res: Response, title: string, body: Html, status = 200): void {
  const person = res.locals.person!;
  res
    .status(status)
    .type('html')
    .send(layout({ title, person, csrfToken: res.locals.csrfToken, body }).text);
}

export function unavailable(what: string, owner: string): Html {
  return html`<div class="notice" id="unavailable"><p>${what} is not available in this build: the ${owner} part that supplies it is not wired into the daemon yet. Nothing is shown rather than invented data.</p></div>`;
}

export function csrfField(res: Response): Html {
  return html`<input type="hidden" name="_csrf" value="${res.locals.csrfToken ?? ''}">`;
}

/** Policy stores Pulumi's numeric permission levels (101 read, 102 write, 103 admin). */
function permissionName(level: number): string {
  const found = Object.entries(PERMISSIONS).find(([, value]) => value === level);
  return found ? found[0] : String(level);
}

async function teamsOf(db: Db, sources: ConsoleSources, person: Person): Promise<{ groups: string[]; teams: TeamGrant[] | undefined }> {
  const groups = await groupsOf(db, person.id);
  if (!sources.policy) return { groups, teams: undefined };
  const policy = sources.policy.current;
  const teams: TeamGrant[] = [];
  // Admins are members too (README.md, "Policy reference"): an admins group alone puts them on the team.
  const adminOf = new Map(groups.flatMap((group) => adminTeamsForGroup(policy, { displayName: group }).map((m) => [m.team, { group, match: m }] as const)));
  const row = (team: string, group: string, ruleIndex: number): TeamGrant => {
    const rule = policy.rules.find((r) => r.index === ruleIndex);
    const grants = (rule?.stacks ?? []).map((s) => ({ project: s.project, stack: s.stack, permission: permissionName(s.permission) }));
    const environments = (rule?.environments ?? []).map((e) => ({ project: e.project, environment: e.environment, permission: e.permission }));
    return {
      team,
      group,
      grants,
      role: adminOf.has(team) ? 'admin' : 'member',
      ...(rule?.role ? { customRole: rule.role } : {}),
      ...(environments.length ? { environments } : {}),
    };
  };
  for (const group of groups) {
    for (const match of teamsForGroup(policy, { displayName: group })) teams.push(row(match.team, group, match.ruleIndex));
  }
  for (const [team, { group, match }] of adminOf) if (!teams.some((t) => t.team === team)) teams.push(row(team, group, match.ruleIndex));
  return { groups, teams };
}

/** "infra/prod" or "infra/prod:read" per line; an ESC environment as "env:infra/prod" or "env:infra/prod:open". */
export function parseScope(text: string): ScopeLine[] | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) return undefined;
  return lines.map((line): ScopeLine => {
    const env = /^env:([^/\s:]+)\/([^/\s:]+)(?::(read|open|write|admin))?$/.exec(line);
    if (env) {
      const permission = env[3] as 'read' | 'open' | 'write' | 'admin' | undefined;
      return { environment: { project: env[1]!, environment: env[2]!, ...(permission ? { permission } : {}) } };
    }
    const m = /^([^/\s:]+)\/([^/\s:]+)(?::(read|write|admin))?$/.exec(line);
    if (!m) throw new ConsoleInputError(`scope line "${line}" is not project/stack[:permission] nor env:project/environment[:permission]`);
    const permission = m[3] as 'read' | 'write' | 'admin' | undefined;
    return { project: m[1]!, stack: m[2]!, ...(permission ? { permission } : {}) };
  });
}

/** The ESC environments the person's teams reach, as scope lines to copy (the rules' patterns: `*` takes every one). */
function environmentHints(teams: readonly TeamGrant[]): Html | '' {
  const lines = teams.flatMap((t) =>
    (t.environments ?? []).map((e) => ({ team: t.team, line: `env:${e.project}/${e.environment}`, permission: e.permission })),
  );
  if (lines.length === 0) return '';
  return html`<p id="scope-environments">Environments your teams reach: ${lines.map((l) => html`<code>${l.line}</code> (${l.permission} on ${l.team}) `)}</p>`;
}

function formString(req: Request, field: string): string {
  const value = (req.body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : '';
}

export function createMeRoutes(deps: { db: Db; logger: Logger; sources: ConsoleSources }): Router {
  const { db, sources, logger } = deps;
  const router = Router();

  router.get('/', async (_req, res) => {
    const person = res.locals.person!;
    const [{ groups, teams }, link] = await Promise.all([teamsOf(db, sources, person), sources.identity?.linkOf(person.id)]);
    page(
      res,
      'My teams and grants',
      html`<p>Signed in as <strong id="me">${person.userName}</strong>${person.isAdmin ? ' — administrator' : ''}.</p>
<p id="pulumi-login">${
        link === undefined
          ? html`<em>No Pulumi login is linked to you yet: it is recorded at the first sync of one of your teams.</em>`
          : link.conflict
            ? html`Your Pulumi login <code>${link.login}</code> clashes with another person's (<strong>login_conflict</strong>): neither of you is synced until an admin resolves it.`
            : html`Your Pulumi login: <code>${link.login}</code>, linked ${link.since.toISOString().slice(0, 10)}. It changes only with an admin's approval.`
      }</p>
<h2>My groups</h2>
${groups.length ? html`<ul id="groups">${groups.map((g) => html`<li>${g}</li>`)}</ul>` : html`<p id="groups"><em>You are in no SCIM group.</em></p>`}
<h2>My teams</h2>
${
  teams === undefined
    ? unavailable('The team and grant view', 'policy')
    : teams.length === 0
      ? html`<p id="teams"><em>No policy rule maps your groups to a Pulumi team.</em></p>`
      : html`<table id="teams"><thead><tr><th>Pulumi team</th><th>through group</th><th>your role</th><th>stack grants (policy)</th></tr></thead><tbody>
${teams.map(
  (t) =>
    html`<tr><td class="team">${t.team}</td><td>${t.group}</td><td class="team-role">${t.role}${
      t.customRole ? html`<br><small>custom role <code>${t.customRole}</code></small>` : ''
    }</td><td>${
      t.grants.length
        ? html`<ul>${t.grants.map((g) => html`<li><code>${g.project}/${g.stack}</code>: ${g.permission}</li>`)}</ul>`
        : html`<em>membership only</em>`
    }${
      t.environments?.length
        ? html`<ul class="environments">${t.environments.map((e) => html`<li>environment <code>${e.project}/${e.environment}</code>: ${e.permission}</li>`)}</ul>`
        : ''
    }</td></tr>`,
)}
</tbody></table><p>Stack patterns are resolved against the organization's stacks at each reconcile.</p>`
}
<p><a href="/console/access" id="why-access">Why do I have access?</a> Each of your permissions on a stack, with the group, rule and team that give it.</p>`,
    );
  });

  router.get('/tokens', async (_req, res) => {
    const person = res.locals.person!;
    if (!sources.tokens) return page(res, 'My tokens', unavailable('Token management', 'tokens'));
    const [tokens, { teams }] = await Promise.all([sources.tokens.listForOwner(person.id), teamsOf(db, sources, person)]);
    const teamNames = [...new Set((teams ?? []).map((t) => t.team))];
    page(
      res,
      'My tokens',
      html`<h2>Issue a token</h2>
<form method="post" action="/console/tokens" id="issue-token">${csrfField(res)}
<label>Team ${
        teamNames.length
          ? html`<select name="team" required>${teamNames.map((t) => html`<option>${t}</option>`)}</select>`
          : html`<input name="team" required maxlength="100">`
      }</label>
<label>Description <input name="description" maxlength="500" size="50"></label>
<label>Scope (optional; one <code>project/stack</code> or <code>project/stack:read</code> per line, an ESC environment as <code>env:project/environment</code> or <code>env:project/environment:open</code> — empty means the whole team)<br>
<textarea name="scope" rows="3" cols="50"></textarea></label>
${environmentHints(teams ?? [])}
<label>Expires on (optional) <input type="date" name="expiresOn"></label>
<button type="submit">Issue token</button></form>
<h2>Tokens</h2>
${
  tokens.length === 0
    ? html`<p id="tokens"><em>You have no tokens.</em></p>`
    : html`<table id="tokens"><thead><tr><th>team</th><th>description</th><th>scope</th><th>state</th><th>created</th><th>expires</th><th></th></tr></thead><tbody>
${tokens.map(
  (
    t,
  ) => html`<tr data-token-id="${t.id}"><td>${t.team}${t.pulumiTeam !== t.team ? html` <small>(${t.pulumiTeam})</small>` : ''}</td><td class="description">${t.description}</td>
<td>${t.scope ? t.scope.map((s) => html`<code>${scopeText(s)}</code> `) : html`<em>whole team</em>`}</td>
<td class="state">${t.state}${t.revokeReason ? html`<br><small>${t.revokeReason}</small>` : ''}</td><td>${when(t.createdAt, new Date())}</td><td>${t.expiresAt ? when(t.expiresAt, new Date()) : '—'}</td>
<td>${
    t.revokedAt === null && t.state !== 'revoked'
      ? html`<form method="post" action="/console/tokens/${t.id}/revoke" class="inline">${csrfField(res)}<button type="submit">Revoke</button></form>`
      : ''
  }</td></tr>`,
)}
</tbody></table>`
}`,
    );
  });

  router.post('/tokens', async (req, res) => {
    const person = res.locals.person!;
    if (!sources.tokens) return page(res, 'My tokens', unavailable('Token management', 'tokens'), 503);
    const expiresOn = formString(req, 'expiresOn').trim();
    if (expiresOn !== '' && !/^\d{4}-\d{2}-\d{2}$/.test(expiresOn)) throw new ConsoleInputError('expiry must be a date (YYYY-MM-DD)');
    const issued = await sources.tokens.issue({
      team: formString(req, 'team').trim(),
      owner: person.id,
      description: formString(req, 'description'),
      scope: parseScope(formString(req, 'scope')),
      expiresAt: expiresOn ? `${expiresOn}T00:00:00Z` : undefined,
    });
    logger.info('console token issued', { tokenId: issued.id, userId: person.id });
    res.set('Cache-Control', 'no-store');
    page(
      res,
      'Token issued',
      html`<p>Your token for Pulumi team <strong>${issued.pulumiTeam}</strong> is below. Copy it now: it is shown this once and is not stored anywhere.</p>
<p class="secret" id="token-value">${issued.tokenValue}</p>
<p><a href="/console/tokens">Back to my tokens</a></p>`,
      201,
    );
  });

  router.post('/tokens/:id/revoke', async (req, res) => {
    const person = res.locals.person!;
    if (!sources.tokens) return page(res, 'My tokens', unavailable('Token management', 'tokens'), 503);
    const id = String(req.params.id);
    const mine = await sources.tokens.listForOwner(person.id);
    if (!mine.some((t) => t.id === id)) throw new ConsoleForbiddenError('that token is not yours');
    await sources.tokens.revoke(id, `revoked by its owner in the console`);
    logger.info('console token revoked', { tokenId: id, userId: person.id });
    res.redirect(303, '/console/tokens');
  });

  return router;
}
