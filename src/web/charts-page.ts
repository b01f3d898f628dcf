import type { ChartRange, HistoryChart } from '../history';
import { type ChartLine, type ChartSpec, renderChart } from './charts';
import { type Html, html } from './html';

/**
 * The admin charts over the last hour or day, from the metrics history every replica shares:
 * deprovision → revoke latency against its objective, queue and outbox, reconcile outcomes, and
 * Pulumi calls with their 429s.
 */

/** The deprovisioning objective: p99 ≤ 300 ms (docs/operations.md, "Metrics"). */
export const REVOKE_OBJECTIVE_MS = 300;

const OUTCOME_TONES: Record<string, ChartLine['tone']> = { success: 'line-2', error: 'line-3', terminal: 'line-bad', rate_limited: 'line-4' };

function axis(chart: HistoryChart): Pick<ChartSpec, 'steps' | 'stepMs'> {
  return { steps: chart.steps, stepMs: chart.stepMs };
}

export function revokeLatencyChart(chart: HistoryChart, id = 'chart-revoke'): Html {
  return renderChart({
    id,
    title: 'Deprovision → token revoked',
    ...axis(chart),
    unit: 'ms',
    objective: { value: REVOKE_OBJECTIVE_MS, label: `objective p99 ≤ ${REVOKE_OBJECTIVE_MS} ms` },
    lines: [
      { name: 'p50', values: chart.revokeP50Ms, tone: 'line-1' },
      { name: 'p99', values: chart.revokeP99Ms, tone: 'line-4' },
    ],
  });
}

export function renderCharts(chart: HistoryChart): Html {
  const per = chart.stepMs === 60_000 ? 'per minute' : 'per 15 min';
  const outcomes = Object.keys(chart.reconciles).sort();
  return html`<div class="charts">
${revokeLatencyChart(chart)}
${renderChart({
  id: 'chart-queue',
  title: 'Queue depth and outbox (highest in each step)',
  ...axis(chart),
  lines: [
    { name: 'jobs waiting', values: chart.queueWaiting, tone: 'line-1' },
    { name: 'outbox rows unpublished', values: chart.outboxDepth, tone: 'line-3' },
  ],
})}
${renderChart({
  id: 'chart-outbox-age',
  title: 'Oldest unpublished outbox row',
  ...axis(chart),
  unit: 's',
  lines: [{ name: 'outbox age', values: chart.outboxAgeSeconds, tone: 'line-3' }],
})}
${renderChart({
  id: 'chart-reconciles',
  title: `Team reconciles by outcome, ${per}`,
  ...axis(chart),
  lines: outcomes.map((outcome, i) => ({
    name: outcome,
    values: chart.reconciles[outcome]!,
    tone: OUTCOME_TONES[outcome] ?? (i % 2 === 0 ? 'line-1' : 'line-4'),
  })),
})}
${renderChart({
  id: 'chart-pulumi',
  title: `Pulumi calls and 429 answers, ${per}`,
  ...axis(chart),
  lines: [
    { name: 'calls', values: chart.pulumiCalls, tone: 'line-1' },
    { name: '429 (rate limited)', values: chart.pulumiRateLimited, tone: 'line-bad' },
  ],
})}
</div>`;
}

export const CHART_RANGE_NAMES: Record<ChartRange, string> = { hour: 'Last hour', day: 'Last day' };
