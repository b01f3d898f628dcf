import { type Html, html } from './html';

/**
 * Human units for the console: relative times ("3 min ago"), rounded durations ("1.2 s") and
 * field names in words ("last reconcile at"). Pure, so the pages stay easy to test.
 */

const UNITS: ReadonlyArray<[limitSeconds: number, divisor: number, unit: string]> = [
  [60, 1, 's'],
  [3600, 60, 'min'],
  [86_400, 3600, 'h'],
  [Number.POSITIVE_INFINITY, 86_400, 'd'],
];

/** A span of seconds in its largest whole unit: "45 s", "12 min", "3 h", "2 d". */
export function roundedSpan(seconds: number): string {
  const abs = Math.abs(seconds);
  const [, divisor, unit] = UNITS.find(([limit]) => abs < limit) ?? UNITS[UNITS.length - 1]!;
  return `${Math.floor(abs / divisor)} ${unit}`;
}

/** "just now", "3 min ago", "in 2 min", or "never". */
export function relativeTime(at: string | Date | null | undefined, now: Date): string {
  if (at === null || at === undefined) return 'never';
  const seconds = (now.getTime() - new Date(at).getTime()) / 1000;
  if (Number.isNaN(seconds)) return String(at);
  if (Math.abs(seconds) < 5) return 'just now';
  return seconds > 0 ? `${roundedSpan(seconds)} ago` : `in ${roundedSpan(seconds)}`;
}

/** Milliseconds as people read them: "850 ms" below a second, then seconds to one decimal. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** camelCase or snake_case as words: "lastReconcileAt" → "last reconcile at", "holdId" → "hold id". */
export function humanKey(key: string): string {
  return key
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase();
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_TIME.test(value);
}

/** A time as "3 min ago", the exact time on hover; "never" when there is none. */
export function when(at: string | null, now: Date): Html {
  return at ? html`<time datetime="${at}" title="${at}">${relativeTime(at, now)}</time>` : html`never`;
}

/** "1 team" / "3 teams". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
