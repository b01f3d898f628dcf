import type { Knex } from 'knex';
import { chainedFieldsOf, entryHash, GENESIS_HASH } from '../src/reconcile/audit-chain';

/**
 * The audit log becomes an append-only hash chain (docs/audit.md): each entry holds the hash
 * of the one before it; ids are given out under the chain's head lock, so id order is chain
 * order (no sequence: an insert that bypasses the chain fails). An outcome is its own entry,
 * pointing at the intent it completes. Anchors are copies of the head taken now and then, so
 * a deleted tail is found once anchored. Existing entries are chained here, in id order.
 */
const BATCH = 5000;

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('audit_log', (t) => {
    t.bigInteger('intent_id');
    t.text('prev_hash');
    t.text('hash');
  });
  await db.raw('CREATE INDEX audit_log_intent ON audit_log (intent_id) WHERE intent_id IS NOT NULL');
  await db.raw(`CREATE INDEX audit_log_open_intents ON audit_log (team, id) WHERE outcome = 'intent'`);

  let prev = GENESIS_HASH;
  let lastId = '0';
  for (;;) {
    const rows = await db('audit_log').where('id', '>', lastId).orderBy('id').limit(BATCH).select('*');
    if (rows.length === 0) break;
    for (const row of rows) {
      const hash = entryHash(prev, chainedFieldsOf(row));
      await db('audit_log').where('id', row.id).update({ prev_hash: prev, hash });
      prev = hash;
      lastId = String(row.id);
    }
  }
  await db.raw('ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL');
  await db.raw('ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT');
  await db.raw('DROP SEQUENCE IF EXISTS audit_log_id_seq');

  await db.schema.createTable('audit_head', (t) => {
    // One row: the last entry of the chain, locked FOR UPDATE by every writer.
    t.boolean('singleton').primary().defaultTo(true);
    t.bigInteger('last_id').notNullable();
    t.text('last_hash').notNullable();
  });
  await db.raw('ALTER TABLE audit_head ADD CONSTRAINT audit_head_singleton CHECK (singleton)');
  await db('audit_head').insert({ singleton: true, last_id: lastId, last_hash: prev });

  await db.schema.createTable('audit_anchors', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.bigInteger('head_id').notNullable();
    t.text('head_hash').notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('audit_anchors');
  await db.schema.dropTableIfExists('audit_head');
  await db.raw('CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id');
  await db.raw(`SELECT setval('audit_log_id_seq', GREATEST((SELECT max(id) FROM audit_log), 1))`);
  await db.raw(`ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq')`);
  await db.raw('DROP INDEX IF EXISTS audit_log_open_intents');
  await db.raw('DROP INDEX IF EXISTS audit_log_intent');
  await db.schema.alterTable('audit_log', (t) => {
    t.dropColumn('intent_id');
    t.dropColumn('prev_hash');
    t.dropColumn('hash');
  });
}
