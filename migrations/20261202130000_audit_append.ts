import type { Knex } from 'knex';

/**
 * `audit_append(contents text[])`: the chain's append as one statement (docs/audit.md,
 * "Appending"), so the head row's lock lasts as long as the database's own work and no client
 * round trip. Each element is an entry's canonical content, the JSON array
 * `[category, op, team, subject, outcome, reason, request_id, job_id, actor, channel,
 * intent_id, detail]` exactly as `canonicalContent` encodes it. Under the lock the function
 * numbers the entries after the head, takes the time, hashes
 * `["pis-audit/1",prev_hash,id,at,` + the content without its `[` with `sha256`, stores the
 * columns parsed from that same content and moves the head. The encoding is the one the
 * verifier recomputes from the stored row; hashing the text passed in, not jsonb's rendering
 * of it, keeps it independent of jsonb's key order and number formatting.
 * Returns the first entry's id; the others follow it without gaps.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`
    CREATE FUNCTION audit_append(p_contents text[]) RETURNS bigint
    LANGUAGE plpgsql AS $$
    DECLARE
      v_first bigint;
      v_id bigint;
      v_hash text;
      v_at timestamptz;
      v_at_text text;
      v_prevs text[] := '{}';
      v_hashes text[] := '{}';
    BEGIN
      SELECT last_id, last_hash INTO v_id, v_hash FROM audit_head WHERE singleton FOR UPDATE;
      v_first := v_id + 1;
      -- After the lock, so time order is chain order; milliseconds, as the encoding writes them.
      v_at := date_trunc('milliseconds', clock_timestamp());
      v_at_text := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
      FOR i IN 1 .. coalesce(array_length(p_contents, 1), 0) LOOP
        IF left(p_contents[i], 1) <> '[' THEN
          RAISE EXCEPTION 'audit_append: entry % is not an encoded content array', i;
        END IF;
        v_prevs[i] := v_hash;
        v_id := v_id + 1;
        v_hash := encode(sha256(convert_to(
          '["pis-audit/1","' || v_hash || '","' || v_id || '","' || v_at_text || '",' || substr(p_contents[i], 2), 'UTF8')), 'hex');
        v_hashes[i] := v_hash;
      END LOOP;
      IF v_id < v_first THEN
        RETURN v_first;
      END IF;
      INSERT INTO audit_log (id, at, category, op, team, subject, outcome, reason, request_id, job_id, actor, channel, intent_id, detail, prev_hash, hash)
      SELECT v_first + e.n - 1, v_at, c->>0, c->>1, c->>2, c->>3, c->>4, c->>5, c->>6, c->>7, c->>8, c->>9, (c->>10)::bigint, c->11, e.prev_hash, e.hash
      FROM unnest(p_contents, v_prevs, v_hashes) WITH ORDINALITY AS e(content, prev_hash, hash, n)
      CROSS JOIN LATERAL (SELECT e.content::jsonb AS c) parsed;
      UPDATE audit_head SET last_id = v_id, last_hash = v_hash WHERE singleton;
      RETURN v_first;
    END
    $$`);
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP FUNCTION IF EXISTS audit_append(text[])');
}
