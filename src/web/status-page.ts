import type { SyncStatus } from '../reconcile';
import { duration, humanKey, isIsoTime, when } from './human';
import { type Html, html } from './html';
import type { ConsoleSignals } from './sources';
import { summarize } from './status-summary';
import { teamHref } from './team-page';

/**
 * The admin status page: the summary line, then the teams, the people waiting, whatever needs
 * an admin, and the queues, in human units (times relative to now with the exact time on hover,
 * durations rounded, field names in words).
 */

/** A table of records whose fields are plain values, keys in words and times relative. */
function humanTable(id: string, rows: ReadonlyArray<Record<string, unknown>>, now: Date): Html {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (value: unknown): Html | string =>
    value === null || value === undefined ? '—' : isIsoTime(value) ? when(value, now) : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return html`<table id="${id}"><thead><tr>${columns.map((c) => html`<th>${humanKey(c)}</th>`)}</tr></thead><tbody>
${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${cell(r[c])}</td>`)}</tr>`)}
</tbody></table>`;
}

/** What needs an admin's eye besides degraded teams: shown only when there is something. */
const ATTENTION: ReadonlyArray<[key: keyof SyncStatus, title: string]> = [
  ['openHolds', 'Holds waiting for an admin'],
  ['blockedTeams', 'Teams left untouched'],
  ['loginConflicts', 'Login conflicts'],
  ['loginChanges', 'Login changes waiting for a relink'],
  ['renamedGroups', 'Groups renamed in the IdP'],
  ['unknownCreatorTokens', 'Tokens whose creator the directory does not know'],
  ['unownedTeams', 'Teams the daemon does not own'],
];

/** What the status page shows besides sync status: the Shared Signals stream, a latency chart. */
export interface StatusExtras {
  signals?: Awaited<ReturnType<ConsoleSignals['status']>>;
  revokeChart?: Html;
}

export function renderStatus(status: SyncStatus, now: Date, extras: StatusExtras = {}): Html {
  const summary = summarize(status, now);
  const queues = 'error' in status.queues ? undefined : (status.queues as Record<string, Record<string, number>>);
  const states = queues ? [...new Set(Object.values(queues).flatMap((d) => Object.keys(d)))] : [];
  return html`<p id="summary">${summary.map(
    (part, i) => html`${i > 0 ? ' · ' : ''}<span id="summary-${part.key}" class="tone-${part.tone}">${part.text}</span>`,
  )}</p>
<h2>Teams</h2>
${
  status.teams.length === 0
    ? html`<p><em>No team has been reconciled yet.</em></p>`
    : html`<table id="teams-status"><thead><tr><th>team</th><th>managed</th><th>last reconcile</th><th>outcome</th><th>changes</th><th>took</th><th>state</th></tr></thead><tbody>
${status.teams.map(
  (t) =>
    html`<tr><td><a href="${teamHref(t.team)}">${t.team}</a></td><td>${t.management ?? '—'}</td><td>${when(t.lastReconcileAt, now)}</td><td>${t.lastOutcome ?? '—'}</td><td>${t.lastOps}</td><td>${duration(t.lastDurationMs)}</td><td class="${t.degraded ? 'tone-bad' : 'tone-ok'}">${t.degraded ? `degraded: ${t.degradedReason ?? t.lastError ?? 'unknown'}` : 'ok'}</td></tr>`,
)}
</tbody></table>`
}
<h2>People waiting</h2>
${
  status.pendingUsers.length === 0
    ? html`<p><em>Nobody is waiting.</em></p>`
    : html`<table id="pending"><thead><tr><th>login</th><th>team</th><th>reason</th><th>waiting since</th><th>attempts</th><th>next try</th></tr></thead><tbody>
${status.pendingUsers.map(
  (p) =>
    html`<tr><td>${p.login}</td><td><a href="${teamHref(p.team)}">${p.team}</a></td><td>${p.reason}</td><td>${when(p.firstSeenAt, now)}</td><td>${p.attempts}</td><td>${p.nextAttemptAt ? when(p.nextAttemptAt, now) : 'when the directory or an admin changes it'}</td></tr>`,
)}
</tbody></table>`
}
${ATTENTION.filter(([key]) => (status[key] as unknown[]).length > 0).map(
  ([key, title]) => html`<h2>${title}</h2>${humanTable(key, status[key] as Array<Record<string, unknown>>, now)}`,
)}
<h2>Queues</h2>
${
  queues
    ? html`<table id="queues"><thead><tr><th>queue</th>${states.map((s) => html`<th>${s}</th>`)}</tr></thead><tbody>
${Object.entries(queues).map(([name, d]) => html`<tr><td>${name}</td>${states.map((s) => html`<td>${d[s] ?? 0}</td>`)}</tr>`)}
</tbody></table>`
    : html`<p class="tone-bad">${(status.queues as { error: string }).error}</p>`
}
<p id="redis-policy">Redis eviction policy: ${redisPolicy(status.redis)}</p>
${extras.signals ? renderSignals(extras.signals, now) : ''}
${extras.revokeChart ? html`<h2>Last hour</h2><div class="charts">${extras.revokeChart}</div><p><a href="/console/admin/charts">All charts</a></p>` : ''}`;
}

/** The Shared Signals stream: the receiver's record and the transmitter's status of it. */
function renderSignals(signals: NonNullable<StatusExtras['signals']>, now: Date): Html {
  const stream = signals.stream;
  const verification = stream?.verification as { requestedAt?: string; receivedAt?: string } | null | undefined;
  const state = signals.transmitterStatus;
  return html`<h2>Shared Signals stream</h2>
<dl class="facts" id="ssf-stream"><dt>Transmitter</dt><dd>${signals.transmitter}</dd>
${
  stream
    ? html`<dt>Stream</dt><dd><code>${String(stream.streamId)}</code>, ${String(stream.delivery)} delivery</dd>
<dt>Status</dt><dd id="ssf-status" class="${state === 'enabled' ? 'tone-ok' : state ? 'tone-warn' : 'tone-bad'}">${
        state ?? `unknown: ${signals.transmitterError ?? 'the transmitter did not say'}`
      }</dd>
<dt>Last verification</dt><dd>${
        verification?.receivedAt
          ? html`received ${when(verification.receivedAt, now)}`
          : verification?.requestedAt
            ? html`<span class="tone-warn">requested ${when(verification.requestedAt, now)}, not received</span>`
            : 'never'
      }</dd>`
    : html`<dt>Stream</dt><dd id="ssf-status" class="tone-warn">none set up: <code>npm run cli -- ssf stream create</code></dd>`
}</dl>`;
}

function redisPolicy(redis: SyncStatus['redis']): Html {
  if (redis === null) return html`not checked in this process.`;
  if (redis.ok === null) return html`<span class="tone-warn">unknown (${redis.error ?? 'unreadable'})</span>`;
  return redis.ok
    ? html`<span class="tone-ok">${redis.evictionPolicy} (ok)</span>`
    : html`<span class="tone-bad">${redis.evictionPolicy}: BullMQ needs noeviction</span>`;
}
