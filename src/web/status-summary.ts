import { type SyncStatus, UNVERIFIED } from '../reconcile';
import { count, relativeTime, roundedSpan } from './human';

/**
 * The one-line summary at the top of the status page: how many teams are in sync, degraded or
 * held, who waits and why, the last reconcile, and queue and outbox health. Pure over
 * `SyncStatus` (as `GET /api/v1/status` returns it).
 */

export type Tone = 'ok' | 'warn' | 'bad';

export interface SummaryPart {
  /** Stable name, for the page's element ids and tests. */
  key: 'teams' | 'pending' | 'reconcile' | 'queues' | 'outbox';
  text: string;
  tone: Tone;
}

/** Outbox rows older than this mean the relay is behind (a SCIM change waits to be reconciled). */
const OUTBOX_STALE_SECONDS = 60;

export function summarize(status: SyncStatus, now: Date): SummaryPart[] {
  const held = new Set(status.openHolds.map((h) => h.team));
  const blocked = new Set(status.blockedTeams.map((b) => b.team));
  const degraded = new Set(status.degradedTeams);
  const unverified = status.teams.filter((t) => t.lastOutcome === UNVERIFIED && !degraded.has(t.team)).length;
  const inSync = status.teams.filter((t) => t.lastOutcome !== UNVERIFIED && !degraded.has(t.team) && !held.has(t.team) && !blocked.has(t.team)).length;
  const teamParts = [`${count(inSync, 'team')} in sync`];
  if (unverified > 0) teamParts.push(`${unverified} awaiting a reconcile`);
  if (degraded.size > 0) teamParts.push(`${degraded.size} degraded`);
  if (held.size > 0) teamParts.push(`${held.size} held`);
  if (blocked.size > 0) teamParts.push(`${blocked.size} blocked`);

  const reasons = new Map<string, Set<string>>();
  for (const p of status.pendingUsers) reasons.set(p.reason, (reasons.get(p.reason) ?? new Set()).add(p.login.toLowerCase()));
  const why = [...reasons].map(([reason, logins]) => `${logins.size} ${reason}`).join(', ');

  return [
    { key: 'teams', text: teamParts.join(', '), tone: degraded.size > 0 ? 'bad' : held.size + blocked.size + unverified > 0 ? 'warn' : 'ok' },
    {
      key: 'pending',
      text: status.pendingPeople === 0 ? 'nobody pending' : `${count(status.pendingPeople, 'person', 'people')} pending (${why})`,
      tone: status.pendingPeople === 0 ? 'ok' : 'warn',
    },
    { key: 'reconcile', text: `last reconcile ${relativeTime(status.lastReconcileAt, now)}`, tone: status.lastReconcileAt ? 'ok' : 'warn' },
    queueHealth(status.queues),
    outboxHealth(status.outbox),
  ];
}

function queueHealth(queues: SyncStatus['queues']): SummaryPart {
  if ('error' in queues && typeof queues.error === 'string') return { key: 'queues', text: 'queues unavailable', tone: 'bad' };
  const depths = Object.values(queues as Record<string, Record<string, number>>);
  const sum = (states: string[]) => depths.reduce((n, d) => n + states.reduce((m, s) => m + (d[s] ?? 0), 0), 0);
  const waiting = sum(['wait', 'prioritized', 'waiting-children']);
  const active = sum(['active']);
  const failed = sum(['failed']);
  const text = [`queues: ${waiting} waiting`, `${active} running`, ...(failed > 0 ? [`${failed} failed`] : [])].join(', ');
  return { key: 'queues', text, tone: failed > 0 ? 'warn' : 'ok' };
}

function outboxHealth(outbox: SyncStatus['outbox']): SummaryPart {
  if (outbox.depth === 0) return { key: 'outbox', text: 'outbox empty', tone: outbox.failing > 0 ? 'warn' : 'ok' };
  const failing = outbox.failing > 0 ? `, ${outbox.failing} failing` : '';
  return {
    key: 'outbox',
    text: `outbox: ${outbox.depth} unpublished, oldest ${roundedSpan(outbox.oldestAgeSeconds)}${failing}`,
    tone: outbox.failing > 0 ? 'bad' : outbox.oldestAgeSeconds > OUTBOX_STALE_SECONDS ? 'warn' : 'ok',
  };
}
