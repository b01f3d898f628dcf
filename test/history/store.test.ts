import { readCharts, startHistorySampler, windowStartOf } from '../../src/history';
import { createLogger } from '../../src/log';
import type { HistoryReading } from '../../src/metrics';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * The metrics history in Postgres: replicas sampling the same window add their counts and keep
 * the highest level (one row per window and series, never two), and old windows are pruned.
 */

const logger = createLogger({ level: 'error' });
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

/** A process's figures that the test sets as it goes. */
function replica() {
  const reading: HistoryReading = { totals: {}, levels: {} };
  const sampler = startHistorySampler({ db: tdb.db, logger, everyMs: 3_600_000, read: async () => structuredClone(reading) });
  return { reading, sampler };
}

describe('the metrics history', () => {
  const now = new Date();
  const window = windowStartOf(now);

  afterEach(async () => {
    await tdb.db('metrics_history').delete();
  });

  it('two replicas sampling one window leave one row per series: counts added, the highest level kept', async () => {
    const a = replica();
    const b = replica();
    a.reading.totals = { pulumi_calls: 5, 'reconcile:success': 2 };
    a.reading.levels = { queue_waiting: 3 };
    b.reading.totals = { pulumi_calls: 7 };
    b.reading.levels = { queue_waiting: 9 };
    await Promise.all([a.sampler.sample(now), b.sampler.sample(now)]);
    // A's second sample in the same window adds only what grew since its first.
    a.reading.totals.pulumi_calls = 6;
    await a.sampler.sample(now);
    a.sampler.stop();
    b.sampler.stop();

    const rows: Array<{ series: string; value: number; window_start: Date }> = await tdb.db('metrics_history').orderBy('series').select('*');
    expect(rows.map((r) => [r.series, Number(r.value)])).toEqual([
      ['pulumi_calls', 13],
      ['queue_waiting', 9],
      ['reconcile:success', 2],
    ]);
    expect(new Set(rows.map((r) => new Date(r.window_start).getTime()))).toEqual(new Set([window.getTime()]));

    const chart = await readCharts(tdb.db, 'hour', now);
    expect(chart.pulumiCalls.at(-1)).toBe(13);
    expect(chart.queueWaiting.at(-1)).toBe(9);
    expect(chart.reconciles.success?.at(-1)).toBe(2);
  });

  it('prunes windows older than a day and keeps the day the charts show', async () => {
    const old = new Date(window.getTime() - 26 * 3600_000);
    const recent = new Date(window.getTime() - 23 * 3600_000);
    await tdb.db('metrics_history').insert([
      { window_start: old, series: 'pulumi_calls', merge: 'sum', value: 1 },
      { window_start: recent, series: 'pulumi_calls', merge: 'sum', value: 1 },
    ]);
    const a = replica();
    a.reading.levels = { outbox_depth: 0 };
    await a.sampler.sample(now);
    a.sampler.stop();
    const starts = (await tdb.db('metrics_history').select('window_start')).map((r: { window_start: Date }) => new Date(r.window_start).getTime());
    expect(starts).not.toContain(old.getTime());
    expect(starts).toEqual(expect.arrayContaining([recent.getTime(), window.getTime()]));
  });
});
