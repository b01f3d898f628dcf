import type { Db } from '../directory';
import { chartSeries, type HistoryChart } from './series';
import { readWindows } from './store';

/**
 * The metrics history behind the console's charts (docs/console.md, "Charts"): each process
 * samples its figures into `metrics_history` (Postgres, so every replica shows the same data),
 * one row per minute window and series, kept a day; `readCharts` folds them into steps.
 */
export { startHistorySampler, SAMPLE_EVERY_MS, RETENTION_MS } from './sampler';
export type { HistorySampler, HistorySamplerOptions } from './sampler';
export { chartSeries, histogramQuantile, sampleRows, windowStartOf, WINDOW_MS } from './series';
export type { HistoryChart, SampleRow, StoredRow } from './series';

export type ChartRange = 'hour' | 'day';

/** Steps per range: minutes over the last hour, quarter-hours over the last day. */
export const CHART_RANGES: Readonly<Record<ChartRange, { spanMs: number; stepMs: number }>> = {
  hour: { spanMs: 3600_000, stepMs: 60_000 },
  day: { spanMs: 86_400_000, stepMs: 900_000 },
};

/** The charts' figures over the last hour or day, ending with the step that holds `now`. */
export async function readCharts(db: Db, range: ChartRange, now = new Date()): Promise<HistoryChart> {
  const { spanMs, stepMs } = CHART_RANGES[range];
  const to = new Date(Math.floor(now.getTime() / stepMs) * stepMs + stepMs);
  const from = new Date(to.getTime() - spanMs);
  return chartSeries(await readWindows(db, from, to), from, to, stepMs);
}
