import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain (docs/audit.md): every entry carries the hash of the entry before
 * it, so an entry changed or removed in SQL no longer fits. This file is the canonical
 * encoding and nothing else; the migration that chains older entries uses it too.
 */

/** The `prev_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
const ENCODING_VERSION = 'pis-audit/1';

/** The fields an entry's hash covers: all of them (entries are never updated). */
export interface ChainedFields {
  id: string;
  /** ISO 8601, UTC, milliseconds. */
  at: string;
  category: string;
  op: string;
  team: string | null;
  subject: string | null;
  outcome: string;
  reason: string | null;
  requestId: string | null;
  jobId: string | null;
  actor: string | null;
  channel: string | null;
  /** For an outcome entry: the intent it completes. */
  intentId: string | null;
  detail: unknown;
}

/** JSON with object keys sorted (UTF-16 order) and no whitespace: jsonb keeps neither order nor spacing. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The fields after the head's (version, previous hash, id, time), in their fixed order. */
function contentFields(e: Omit<ChainedFields, 'id' | 'at'>): unknown[] {
  return [e.category, e.op, e.team, e.subject, e.outcome, e.reason, e.requestId, e.jobId, e.actor, e.channel, e.intentId, e.detail];
}

/** The bytes that are hashed: a JSON array of the version, the previous hash and the fields in a fixed order. */
export function canonicalEntry(prevHash: string, e: ChainedFields): string {
  return canonicalJson([ENCODING_VERSION, prevHash, e.id, e.at, ...contentFields(e)]);
}

/**
 * An entry's content as the JSON array `canonicalEntry` ends with, for `audit_append`, which
 * writes the head's part in front of it under the chain's lock (migrations/20261202130000_audit_append.ts).
 */
export function canonicalContent(e: Omit<ChainedFields, 'id' | 'at'>): string {
  return canonicalJson(contentFields(e));
}

/** SHA-256 of the canonical encoding, lower-case hex. */
export function entryHash(prevHash: string, e: ChainedFields): string {
  return createHash('sha256').update(canonicalEntry(prevHash, e), 'utf8').digest('hex');
}

/** A stored row (snake_case, as `audit_log` holds it) as the chained fields. */
export function chainedFieldsOf(row: Record<string, unknown>): ChainedFields {
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    id: String(row.id),
    at: new Date(row.at as string | Date).toISOString(),
    category: String(row.category),
    op: String(row.op),
    team: text(row.team),
    subject: text(row.subject),
    outcome: String(row.outcome),
    reason: text(row.reason),
    requestId: text(row.request_id),
    jobId: text(row.job_id),
    actor: text(row.actor),
    channel: text(row.channel),
    intentId: text(row.intent_id),
    detail: row.detail ?? {},
  };
}
