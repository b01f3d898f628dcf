import type { Knex } from 'knex';

/**
 * The reconciler's state: which Pulumi teams the daemon owns, the groups each team was last
 * built from (so a deleted group still finds its team), directory identities that outlive
 * their SCIM user (so a deleted user's tokens are recognised), users waiting for a Pulumi
 * account, per-team status, and the audit log of every applied op.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('owned_teams', (t) => {
    t.text('name').primary();
    t.text('kind').notNullable().defaultTo('pulumi');
    // true: existed before and was taken over (ownership.adoptExistingTeams).
    t.boolean('adopted').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  await db.schema.createTable('team_groups', (t) => {
    t.text('team').notNullable();
    // No foreign key: the mapping must survive the group's deletion to route group.deleted.
    t.uuid('group_id').notNullable();
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['team', 'group_id']);
    t.index(['group_id']);
  });

  await db.schema.createTable('identities', (t) => {
    // No foreign key: a SCIM delete removes the user row; the login must stay known.
    t.uuid('user_id').notNullable();
    t.text('login').notNullable();
    t.text('login_lower').notNullable();
    t.text('state').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.primary(['user_id', 'login_lower']);
    t.index(['login_lower']);
  });
  await db.raw(`ALTER TABLE identities ADD CONSTRAINT identities_state CHECK (state IN ('active', 'inactive', 'deleted'))`);

  await db.schema.createTable('pending_users', (t) => {
    t.text('team').notNullable();
    t.text('login_lower').notNullable();
    t.text('login').notNullable();
    t.uuid('user_id').notNullable();
    t.text('reason').notNullable();
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.integer('attempts').notNullable().defaultTo(1);
    t.primary(['team', 'login_lower']);
  });

  await db.schema.createTable('team_status', (t) => {
    t.text('team').primary();
    t.timestamp('last_reconcile_at', { useTz: true });
    t.timestamp('last_success_at', { useTz: true });
    t.text('last_outcome');
    t.text('last_error');
    t.text('last_reason');
    t.text('last_request_id');
    t.integer('last_ops').notNullable().defaultTo(0);
    t.integer('last_duration_ms');
    t.text('management');
    t.boolean('degraded').notNullable().defaultTo(false);
    t.text('degraded_reason');
    t.timestamp('degraded_at', { useTz: true });
    // Plan notes of the last reconcile: unowned team, unknown token creators, unmapped users.
    t.jsonb('notes').notNullable().defaultTo('[]');
  });

  await db.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    // reconcile: caused by a directory change or an admin; drift: repaired a change made in Pulumi.
    t.text('category').notNullable();
    t.text('op').notNullable();
    t.text('team');
    t.text('subject');
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.text('outcome').notNullable();
    t.text('reason');
    t.text('request_id');
    t.text('job_id');
  });
  await db.raw('CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC)');
  await db.raw('CREATE INDEX audit_log_team ON audit_log (team, id DESC)');
  await db.raw('CREATE INDEX audit_log_request ON audit_log (request_id) WHERE request_id IS NOT NULL');
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['audit_log', 'team_status', 'pending_users', 'identities', 'team_groups', 'owned_teams']) {
    await db.schema.dropTableIfExists(table);
  }
}
