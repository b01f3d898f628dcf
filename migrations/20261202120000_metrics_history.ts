import type { Knex } from 'knex';

/**
 * The console charts' history (docs/console.md, "Charts"): one row per sample window and series.
 * Every replica adds its counts to the window's row (`merge` sum) or keeps the highest level it
 * read (`merge` max), by an upsert keyed on the window's start, so replicas never write a window
 * twice over. `src/history` prunes rows past its retention.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('metrics_history', (t) => {
    t.timestamp('window_start', { useTz: true }).notNullable();
    t.text('series').notNullable();
    t.text('merge').notNullable();
    t.double('value').notNullable();
    t.primary(['window_start', 'series']);
  });
  await db.raw(`ALTER TABLE metrics_history ADD CONSTRAINT metrics_history_merge CHECK (merge IN ('sum', 'max'))`);
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('metrics_history');
}
