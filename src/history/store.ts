import type { Db } from '../directory';
import type { SampleRow, StoredRow } from './series';

const TABLE = 'metrics_history';

/**
 * Adds a sample to its window, keyed on the window's start: a count adds to what other replicas
 * wrote for that window, a level keeps the highest read, so no window is written twice over.
 */
export async function writeSample(db: Db, windowStart: Date, rows: readonly SampleRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db(TABLE)
    .insert(rows.map((r) => ({ window_start: windowStart, series: r.series, merge: r.merge, value: r.value })))
    .onConflict(['window_start', 'series'])
    .merge({
      value: db.raw(
        `CASE WHEN ${TABLE}.merge = 'sum' THEN ${TABLE}.value + excluded.value ELSE greatest(${TABLE}.value, excluded.value) END`,
      ) as unknown as number,
    });
}

export async function readWindows(db: Db, from: Date, to: Date): Promise<StoredRow[]> {
  const rows: Array<{ window_start: Date; series: string; value: number }> = await db(TABLE)
    .where('window_start', '>=', from)
    .andWhere('window_start', '<', to)
    .select('window_start', 'series', 'value');
  return rows.map((r) => ({ windowStart: new Date(r.window_start), series: r.series, value: Number(r.value) }));
}

/** Removes windows that started before `before`; returns how many rows went. */
export async function pruneWindows(db: Db, before: Date): Promise<number> {
  return db(TABLE).where('window_start', '<', before).delete();
}
