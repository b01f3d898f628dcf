import type { Knex } from 'knex';

/**
 * Creator-bound team tokens the fast revoke lane revoked (tokens not in the ledger: made by
 * people in Pulumi). One row per token: the first revocation to insert it writes the audit
 * entry, so a repeated job or a concurrent team reconcile refreshing the token cache can
 * neither duplicate nor drop it.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('revoked_team_tokens', (t) => {
    t.text('team').notNullable();
    t.text('token_id').notNullable();
    t.uuid('creator_user_id').notNullable();
    t.text('reason').notNullable();
    t.text('request_id');
    t.timestamp('revoked_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['team', 'token_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('revoked_team_tokens');
}
