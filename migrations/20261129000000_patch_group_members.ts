import type { Knex } from 'knex';

/**
 * `patch_group_members`: a membership-only group PATCH (the shape Okta and Entra send for
 * every add or remove of members) as one server-side call. It does what the general write path
 * does in six round trips — lock the group row, apply the delta, bump `version` and
 * `updated_at`, append the `group.members_changed` outbox row and NOTIFY the relay — in one
 * statement and so one implicit transaction: nothing of it commits unless all of it does.
 *
 * Outcomes: `not_found` (no such group), `unknown_members` (an added id is not a user: nothing
 * is written, `unknown` lists them), `ok` (`added`/`removed` are the rows that actually
 * changed, in the order the caller listed them; with no change the version is not bumped and
 * no outbox row is written). The outbox payload is the `group.members_changed` event of
 * src/directory/outbox.ts, field for field.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`
    CREATE FUNCTION patch_group_members(p_group uuid, p_op text, p_ids uuid[], p_request_id text)
    RETURNS TABLE (outcome text, version bigint, updated_at timestamptz, added uuid[], removed uuid[], unknown uuid[])
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_version bigint;
      v_updated timestamptz;
      v_changed uuid[];
      v_unknown uuid[];
    BEGIN
      IF p_op NOT IN ('add', 'remove') THEN
        RAISE EXCEPTION 'patch_group_members: op must be add or remove, not %', p_op;
      END IF;
      -- The row lock serialises writes to one group, so version stays an exact count of writes.
      SELECT g.version, g.updated_at INTO v_version, v_updated FROM groups g WHERE g.id = p_group FOR UPDATE;
      IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::timestamptz, NULL::uuid[], NULL::uuid[], NULL::uuid[];
        RETURN;
      END IF;

      IF p_op = 'add' THEN
        SELECT coalesce(array_agg(w.id ORDER BY w.ord), '{}') INTO v_unknown
          FROM unnest(p_ids) WITH ORDINALITY AS w(id, ord)
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = w.id);
        IF cardinality(v_unknown) > 0 THEN
          RETURN QUERY SELECT 'unknown_members'::text, v_version, v_updated, NULL::uuid[], NULL::uuid[], v_unknown;
          RETURN;
        END IF;
        WITH inserted AS (
          INSERT INTO group_members (group_id, user_id)
          SELECT DISTINCT p_group, w.id FROM unnest(p_ids) AS w(id)
          ON CONFLICT DO NOTHING
          RETURNING user_id)
        SELECT coalesce(array_agg(w.id ORDER BY w.ord), '{}') INTO v_changed
          FROM unnest(p_ids) WITH ORDINALITY AS w(id, ord)
         WHERE w.id IN (SELECT user_id FROM inserted);
      ELSE
        WITH deleted AS (
          DELETE FROM group_members gm WHERE gm.group_id = p_group AND gm.user_id = ANY(p_ids)
          RETURNING gm.user_id)
        SELECT coalesce(array_agg(w.id ORDER BY w.ord), '{}') INTO v_changed
          FROM unnest(p_ids) WITH ORDINALITY AS w(id, ord)
         WHERE w.id IN (SELECT user_id FROM deleted);
      END IF;

      IF cardinality(v_changed) > 0 THEN
        UPDATE groups g SET version = g.version + 1, updated_at = now() WHERE g.id = p_group
        RETURNING g.version, g.updated_at INTO v_version, v_updated;
        INSERT INTO outbox (kind, payload, request_id)
        VALUES ('group.members_changed',
                jsonb_build_object(
                  'kind', 'group.members_changed',
                  'groupId', p_group,
                  'added', to_jsonb(CASE WHEN p_op = 'add' THEN v_changed ELSE '{}'::uuid[] END),
                  'removed', to_jsonb(CASE WHEN p_op = 'remove' THEN v_changed ELSE '{}'::uuid[] END)),
                p_request_id);
        PERFORM pg_notify('outbox', '');
      END IF;

      RETURN QUERY SELECT 'ok'::text, v_version, v_updated,
        CASE WHEN p_op = 'add' THEN v_changed ELSE '{}'::uuid[] END,
        CASE WHEN p_op = 'remove' THEN v_changed ELSE '{}'::uuid[] END,
        '{}'::uuid[];
    END
    $$`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP FUNCTION IF EXISTS patch_group_members(uuid, text, uuid[], text)');
}
