/**
 * Retry policy of the Pulumi client, mirroring the Pulumi CLI (docs/pulumi-api.md, "Rate limits and Retry-After"): at most 4
 * attempts, backoff 1 s doubling to a 30 s cap, and a 429's `Retry-After` (delta-seconds or
 * HTTP-date) honoured up to 30 s. A longer Retry-After is not slept through: the call fails at
 * once with RateLimitedError so a queue worker can park the whole org instead of holding a slot.
 */
export interface RetryPolicy {
  /** Attempts in total, including the first. @defaultValue 4 */
  maxAttempts: number;
  /** First backoff delay, ms. @defaultValue 1000 */
  baseDelayMs: number;
  /** Largest backoff delay, ms. @defaultValue 30000 */
  maxDelayMs: number;
  /** Longest Retry-After the client waits for in-line, ms. @defaultValue 30000 */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 30_000,
});

/**
 * Delay before attempt `attempt + 1` after `attempt` failed: exponential with "equal jitter"
 * (half fixed, half random), so concurrent clients spread out but never retry instantly.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds or an HTTP-date (RFC 9110
 * §10.2.3). Undefined when the header is absent or unparseable; never negative.
 */
export function parseRetryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // All three HTTP-date forms start with a day name; without this check Date.parse would read
  // "-3" or "1.5" as years and dates.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
