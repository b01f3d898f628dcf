import type { Knex } from 'knex';

/**
 * What makes the daemon safe on a live org (docs/live-org.md): the rule that bound each group
 * to its team (a renamed group stays bound), the login each person is linked to and the
 * people whose logins clash, who the daemon added to the org (so it removes only those), the
 * holds that keep a mass removal waiting for an admin, and who did what in the audit log.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('team_groups', (t) => {
    // The `TeamRule.key` that bound the group; null for rows written before bindings existed.
    t.text('rule_key');
  });

  await db.schema.createTable('identity_links', (t) => {
    // No foreign key: the link outlives a deactivation; a SCIM delete removes it explicitly.
    t.uuid('user_id').primary();
    t.text('login').notNullable();
    t.text('login_lower').notNullable().unique();
    t.timestamp('linked_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  await db.schema.createTable('login_conflicts', (t) => {
    t.text('login_lower').notNullable();
    t.uuid('user_id').notNullable();
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['login_lower', 'user_id']);
    t.index(['user_id']);
  });

  await db.schema.createTable('org_additions', (t) => {
    t.text('login_lower').primary();
    t.text('login').notNullable();
    t.uuid('user_id').notNullable();
    t.timestamp('added_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  await db.schema.createTable('holds', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    // The team the held ops belong to; '*' for org-level ops.
    t.text('team').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.text('reason').notNullable();
    t.integer('removals').notNullable().defaultTo(0);
    t.integer('revocations').notNullable().defaultTo(0);
    t.jsonb('ops').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('decided_at', { useTz: true });
    t.text('decided_by');
    t.text('decided_channel');
  });
  await db.raw(`ALTER TABLE holds ADD CONSTRAINT holds_status CHECK (status IN ('pending', 'approved', 'rejected', 'applied', 'superseded'))`);
  await db.raw(`CREATE UNIQUE INDEX holds_one_open_per_team ON holds (team) WHERE status IN ('pending', 'approved')`);

  await db.schema.alterTable('audit_log', (t) => {
    // Who asked for it (an admin token's label, a signed-in person, the daemon) and through which channel.
    t.text('actor');
    t.text('channel');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('audit_log', (t) => {
    t.dropColumn('actor');
    t.dropColumn('channel');
  });
  for (const table of ['holds', 'org_additions', 'login_conflicts', 'identity_links']) await db.schema.dropTableIfExists(table);
  await db.schema.alterTable('team_groups', (t) => t.dropColumn('rule_key'));
}
