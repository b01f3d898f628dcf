import { preconditionFailed } from '../errors';

/** What every write command is given besides its resource's own input. */
export interface WriteContext {
  /** Stored on the write's outbox row(s), so each event names the request that caused it. */
  requestId: string;
  /** Entity tags of the request's If-Match header, weak and strong alike; undefined without one. */
  ifMatch?: string[];
}

/** RFC 7644 §3.14: a conditional write proceeds only while If-Match names the current version. */
export function checkIfMatch(ifMatch: string[] | undefined, version: string): void {
  if (!ifMatch) return;
  if (!ifMatch.includes('*') && !ifMatch.includes(version)) {
    throw preconditionFailed('the resource has changed since the version in If-Match');
  }
}

/**
 * Whether two column sets hold the same values, key order aside. Okta re-sends a whole user on
 * every profile push, and a group rename with every membership change: such writes commit
 * nothing (no version bump, no event).
 */
export function sameValues(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
