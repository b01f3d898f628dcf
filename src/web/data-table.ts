import { html, type Html } from './html';

/**
 * Renders data whose exact shape belongs to another part (sync status, plan ops, audit rows):
 * arrays of records become tables, records become two-column tables, everything escaped.
 */

const MAX_DEPTH = 4;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export function renderValue(value: unknown, depth = 0): Html {
  if (depth >= MAX_DEPTH) return html`<code>${JSON.stringify(value)}</code>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<em>none</em>`;
    if (value.every(isRecord)) return renderRows(value as Array<Record<string, unknown>>, depth);
    return html`<ul>${value.map((v) => html`<li>${renderValue(v, depth + 1)}</li>`)}</ul>`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return html`<em>empty</em>`;
    return html`<table>${entries.map(([k, v]) => html`<tr><th>${k}</th><td>${renderValue(v, depth + 1)}</td></tr>`)}</table>`;
  }
  return html`${scalar(value)}`;
}

export function renderRows(rows: Array<Record<string, unknown>>, depth = 0): Html {
  if (rows.length === 0) return html`<p><em>none</em></p>`;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return html`<table><thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>
${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${isRecord(r[c]) || Array.isArray(r[c]) ? renderValue(r[c], depth + 1) : scalar(r[c])}</td>`)}</tr>`)}
</tbody></table>`;
}
