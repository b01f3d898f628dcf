import type { Knex } from 'knex';

/**
 * The W3C `traceparent` of the SCIM request that wrote an outbox row (null when tracing is off
 * or the row predates this column), so the relay, the jobs and the Pulumi calls continue that
 * request's trace (docs/architecture.md, "Tracing").
 *
 * `patch_group_members` writes its outbox row in the database: a five-argument overload takes
 * the traceparent and stamps the row the four-argument function just inserted (`currval` of
 * the outbox id is this session's, so no other writer's row can be meant). The four-argument
 * function stays as it was, for callers without a trace.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.text('traceparent');
  });
  await db.raw(`
    CREATE FUNCTION patch_group_members(p_group uuid, p_op text, p_ids uuid[], p_request_id text, p_traceparent text)
    RETURNS TABLE (outcome text, version bigint, updated_at timestamptz, added uuid[], removed uuid[], unknown uuid[])
    LANGUAGE plpgsql AS $$
    DECLARE
      r record;
    BEGIN
      SELECT * INTO r FROM patch_group_members(p_group, p_op, p_ids, p_request_id);
      IF p_traceparent IS NOT NULL AND r.outcome = 'ok' AND cardinality(r.added) + cardinality(r.removed) > 0 THEN
        UPDATE outbox SET traceparent = p_traceparent WHERE id = currval(pg_get_serial_sequence('outbox', 'id'));
      END IF;
      RETURN QUERY SELECT r.outcome, r.version, r.updated_at, r.added, r.removed, r.unknown;
    END
    $$`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP FUNCTION IF EXISTS patch_group_members(uuid, text, uuid[], text, text)');
  await db.schema.alterTable('outbox', (t) => {
    t.dropColumn('traceparent');
  });
}
