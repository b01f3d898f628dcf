import type { Response } from 'express';
import type { AccessPath, AccessRow } from '../reconcile';
import type { InventoryToken } from '../tokens';
import type { AccessReview } from './access';

/**
 * The access review as records: one per person × stack × path (`access`), then one per live
 * token (`token`). The columns are documented in docs/access-review.md; JSON has the same
 * records with the same keys.
 */

export const REVIEW_COLUMNS = [
  'record',
  'person',
  'person_id',
  'pulumi_login',
  'stack',
  'effective',
  'path',
  'permission',
  'group',
  'rule',
  'team',
  'granted_by',
  'token_name',
  'token_id',
  'pulumi_token_id',
  'token_kind',
  'scope',
  'created',
  'last_used',
  'expires',
] as const;

type ReviewColumn = (typeof REVIEW_COLUMNS)[number];
export type ReviewRecord = Record<ReviewColumn, string>;

const EMPTY: ReviewRecord = Object.fromEntries(REVIEW_COLUMNS.map((c) => [c, ''])) as ReviewRecord;

function pathFields(path: AccessPath): Partial<ReviewRecord> {
  switch (path.kind) {
    case 'team':
      return { path: 'team', group: path.group.displayName, rule: path.rule.ref, team: path.team, granted_by: path.grantedBy.map((r) => r.ref).join(' ') };
    case 'token':
      return { path: 'token', team: path.team, token_name: path.tokenName, token_id: path.tokenId, token_kind: path.tokenKind };
    case 'orgDefault':
      return { path: 'org-default' };
  }
}

function accessRecords(row: AccessRow): ReviewRecord[] {
  return row.paths.map((path) => ({
    ...EMPTY,
    record: 'access',
    person: row.person.userName,
    person_id: row.person.userId,
    pulumi_login: row.person.login ?? '',
    stack: `${row.project}/${row.stack}`,
    effective: row.effective,
    permission: path.permission,
    ...pathFields(path),
  }));
}

function tokenRecord(t: InventoryToken): ReviewRecord {
  return {
    ...EMPTY,
    record: 'token',
    person: t.owner,
    person_id: t.ownerUserId ?? '',
    team: t.team,
    token_name: t.tokenName,
    token_id: t.ledgerId ?? '',
    pulumi_token_id: t.pulumiTokenId ?? '',
    token_kind: t.kind,
    scope: t.scope ? t.scope.join(' ') : 'whole team',
    created: t.createdAt ?? '',
    // Empty when Pulumi did not list the token: its last use is not known.
    last_used: t.listed ? (t.lastUsedAt ?? 'never') : '',
    expires: t.expiresAt ?? 'never',
  };
}

function reviewRecords(review: AccessReview): ReviewRecord[] {
  return [...review.rows.flatMap(accessRecords), ...review.tokens.map(tokenRecord)];
}

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma or line break. A field a
 * spreadsheet would read as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return) gets
 * a leading apostrophe first (OWASP, "CSV Injection"): names come from the IdP and Pulumi.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Header row, then one line per record, CRLF-terminated (RFC 4180). */
export function reviewCsv(records: readonly ReviewRecord[]): string {
  return [REVIEW_COLUMNS.join(','), ...records.map((r) => REVIEW_COLUMNS.map((c) => csvField(r[c])).join(','))].map((line) => `${line}\r\n`).join('');
}

/** `access-review-2026-12-02T10-30-00Z.csv` */
function reviewFileName(generatedAt: string, format: 'csv' | 'json'): string {
  return `access-review-${generatedAt.slice(0, 19).replace(/:/g, '-')}Z.${format}`;
}

/** Sends the review as a download: CSV, or JSON with the same records. */
export function sendReview(res: Response, review: AccessReview, format: 'csv' | 'json'): void {
  const records = reviewRecords(review);
  res.set('Content-Disposition', `attachment; filename="${reviewFileName(review.generatedAt, format)}"`);
  if (format === 'csv') {
    res.type('text/csv; charset=utf-8').send(reviewCsv(records));
    return;
  }
  const { generatedAt, policy, orgDefault } = review;
  res.json({
    generatedAt,
    policy,
    orgDefault,
    columns: REVIEW_COLUMNS,
    access: records.filter((r) => r.record === 'access'),
    tokens: records.filter((r) => r.record === 'token'),
  });
}
