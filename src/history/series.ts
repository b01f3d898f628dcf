import { HISTORY_SERIES, type HistoryReading } from '../metrics';

/**
 * The metrics history's pure side: what one sample writes (`sampleRows`), and what a chart reads
 * back from the stored windows (`chartSeries`), quantiles included (`histogramQuantile`, as
 * Prometheus' `histogram_quantile` interpolates).
 */

/** One stored window's length: a sample lands in the window holding its time. */
export const WINDOW_MS = 60_000;

export type Merge = 'sum' | 'max';

export interface SampleRow {
  series: string;
  merge: Merge;
  value: number;
}

export interface StoredRow {
  windowStart: Date;
  series: string;
  value: number;
}

export function windowStartOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / WINDOW_MS) * WINDOW_MS);
}

/**
 * What changed since the previous reading: a count's growth (a count that shrank means the
 * process restarted, so all of it is new), and every level as read. Counts that did not move
 * are left out; a missing count is read as none.
 */
export function sampleRows(previous: HistoryReading | undefined, current: HistoryReading): SampleRow[] {
  const rows: SampleRow[] = [];
  for (const [series, total] of Object.entries(current.totals)) {
    const before = previous?.totals[series] ?? 0;
    const delta = total >= before ? total - before : total;
    if (delta > 0) rows.push({ series, merge: 'sum', value: delta });
  }
  for (const [series, value] of Object.entries(current.levels)) rows.push({ series, merge: 'max', value });
  return rows;
}

/**
 * The q-quantile of a histogram from its cumulative buckets (`le` ascending, `+Inf` as
 * Infinity): linear inside the bucket the rank falls in; the highest finite bound when it falls
 * past them; null without observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lowerBound;
      return count === lowerCount ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    if (Number.isFinite(le)) lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/** The charts' figures, one value per step (null: nothing known for that step). */
export interface HistoryChart {
  from: Date;
  to: Date;
  stepMs: number;
  /** Each step's start. */
  steps: Date[];
  /** Deprovision → token revoked, milliseconds. */
  revokeP50Ms: Array<number | null>;
  revokeP99Ms: Array<number | null>;
  queueWaiting: Array<number | null>;
  outboxDepth: Array<number | null>;
  outboxAgeSeconds: Array<number | null>;
  /** Reconciles per step by outcome, only outcomes seen in the range. */
  reconciles: Record<string, number[]>;
  pulumiCalls: number[];
  pulumiRateLimited: number[];
}

/**
 * Folds stored windows into `steps` of `stepMs` over [from, to): counts add up, levels keep the
 * step's highest, quantiles come from the step's summed buckets.
 */
export function chartSeries(rows: readonly StoredRow[], from: Date, to: Date, stepMs: number): HistoryChart {
  const count = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / stepMs));
  const steps = Array.from({ length: count }, (_, i) => new Date(from.getTime() + i * stepMs));
  const stepOf = (at: Date) => Math.floor((at.getTime() - from.getTime()) / stepMs);
  const counts = () => new Array<number>(count).fill(0);
  const levels = () => new Array<number | null>(count).fill(null);
  const chart: HistoryChart = {
    from,
    to,
    stepMs,
    steps,
    revokeP50Ms: levels(),
    revokeP99Ms: levels(),
    queueWaiting: levels(),
    outboxDepth: levels(),
    outboxAgeSeconds: levels(),
    reconciles: {},
    pulumiCalls: counts(),
    pulumiRateLimited: counts(),
  };
  const buckets = Array.from({ length: count }, () => new Map<number, number>());
  const level = (series: Array<number | null>, i: number, value: number) => {
    series[i] = Math.max(series[i] ?? Number.NEGATIVE_INFINITY, value);
  };
  for (const row of rows) {
    const i = stepOf(row.windowStart);
    if (i < 0 || i >= count) continue;
    const { series, value } = row;
    if (series === HISTORY_SERIES.pulumiCalls) chart.pulumiCalls[i]! += value;
    else if (series === HISTORY_SERIES.pulumiRateLimited) chart.pulumiRateLimited[i]! += value;
    else if (series === HISTORY_SERIES.queueWaiting) level(chart.queueWaiting, i, value);
    else if (series === HISTORY_SERIES.outboxDepth) level(chart.outboxDepth, i, value);
    else if (series === HISTORY_SERIES.outboxAgeSeconds) level(chart.outboxAgeSeconds, i, value);
    else if (series.startsWith(HISTORY_SERIES.reconcilePrefix)) {
      const outcome = series.slice(HISTORY_SERIES.reconcilePrefix.length);
      chart.reconciles[outcome] ??= counts();
      chart.reconciles[outcome]![i]! += value;
    } else if (series.startsWith(HISTORY_SERIES.revokeBucketPrefix)) {
      const le = Number(series.slice(HISTORY_SERIES.revokeBucketPrefix.length));
      buckets[i]!.set(le, (buckets[i]!.get(le) ?? 0) + value);
    }
  }
  buckets.forEach((step, i) => {
    const list = [...step].map(([le, n]) => ({ le, count: n }));
    const ms = (q: number) => {
      const seconds = histogramQuantile(q, list);
      return seconds === null ? null : seconds * 1000;
    };
    chart.revokeP50Ms[i] = ms(0.5);
    chart.revokeP99Ms[i] = ms(0.99);
  });
  return chart;
}
