import type { Knex } from 'knex';

/**
 * The directory: SCIM users, groups and memberships, SCIM clients and their hashed bearer
 * tokens, and the transactional outbox every SCIM write appends to.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('scim_clients', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.text('name').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('revoked_at', { useTz: true });
  });
  await db.schema.createTable('scim_tokens', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.uuid('client_id').notNullable().references('scim_clients.id').onDelete('CASCADE');
    t.binary('token_hash').notNullable().unique();
    t.text('last4').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
  });

  await db.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.text('user_name').notNullable();
    t.text('external_id');
    t.boolean('active').notNullable().defaultTo(true);
    t.jsonb('resource').notNullable().defaultTo('{}');
    t.bigInteger('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('CREATE UNIQUE INDEX users_user_name_lower ON users (lower(user_name))');
  await db.raw('CREATE INDEX users_external_id ON users (external_id)');
  await db.raw('CREATE INDEX users_created_id ON users (created_at, id)');

  await db.schema.createTable('groups', (t) => {
    t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
    t.text('display_name').notNullable();
    t.text('external_id');
    t.jsonb('resource').notNullable().defaultTo('{}');
    t.bigInteger('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('CREATE INDEX groups_display_name_lower ON groups (lower(display_name))');
  await db.raw('CREATE INDEX groups_external_id ON groups (external_id)');
  await db.raw('CREATE INDEX groups_created_id ON groups (created_at, id)');

  await db.schema.createTable('group_members', (t) => {
    t.uuid('group_id').notNullable().references('groups.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });

  await db.schema.createTable('outbox', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    t.jsonb('payload').notNullable();
    t.text('request_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('available_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('published_at', { useTz: true });
  });
  await db.raw('CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL');
  await db.raw('CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL');
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['outbox', 'group_members', 'groups', 'users', 'scim_tokens', 'scim_clients']) {
    await db.schema.dropTableIfExists(table);
  }
}
