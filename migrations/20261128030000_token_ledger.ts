import type { Knex } from 'knex';

/**
 * Dependent tokens: the ledger of team tokens this daemon issued (scoped ones on private
 * teams, and plain ones on a parent team recorded with their owner), and a cache of every
 * owned team's token list that the fast revoke lane reads instead of listing each team's
 * tokens at revoke time. Token values are never stored.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('token_ledger', (t) => {
    t.uuid('id').primary();
    // No foreign key: a SCIM delete removes the user row, the ledger keeps the history.
    t.uuid('owner_user_id').notNullable();
    t.text('owner_user_name').notNullable();
    t.text('parent_team').notNullable();
    t.text('kind').notNullable();
    t.jsonb('scope');
    t.jsonb('issued_grants');
    t.jsonb('current_grants');
    t.text('private_team').unique();
    t.text('pulumi_token_id');
    t.text('token_name').notNullable().unique();
    t.integer('generation').notNullable().defaultTo(1);
    t.text('description').notNullable();
    t.timestamp('expires_at', { useTz: true });
    t.text('state').notNullable();
    t.text('revoke_reason');
    t.text('revoke_request_id');
    t.timestamp('revoke_requested_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('revoked_at', { useTz: true });
  });
  await db.raw(`ALTER TABLE token_ledger ADD CONSTRAINT token_ledger_kind CHECK (kind IN ('scoped', 'team'))`);
  await db.raw(
    `ALTER TABLE token_ledger ADD CONSTRAINT token_ledger_state
       CHECK (state IN ('issuing', 'active', 'revoking', 'revoked', 'failed'))`,
  );
  await db.raw(`CREATE INDEX token_ledger_owner ON token_ledger (owner_user_id) WHERE state <> 'revoked'`);
  await db.raw(`CREATE INDEX token_ledger_parent ON token_ledger (parent_team) WHERE state <> 'revoked'`);
  await db.raw(`CREATE INDEX token_ledger_expiry ON token_ledger (expires_at) WHERE state = 'active'`);

  await db.schema.createTable('team_token_cache', (t) => {
    t.text('team').notNullable();
    t.text('token_id').notNullable();
    t.text('token_name').notNullable();
    t.text('created_by').notNullable();
    t.bigInteger('expires').notNullable().defaultTo(0);
    t.timestamp('refreshed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['team', 'token_id']);
  });
  await db.raw('CREATE INDEX team_token_cache_creator ON team_token_cache (lower(created_by))');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('team_token_cache');
  await db.schema.dropTableIfExists('token_ledger');
}
