/**
 * Small helpers shared by several parts, with no dependency on any part.
 */

/**
 * Settles like `promise`, or rejects with `message` after `ms` — the promise itself keeps
 * running. The timer never keeps the process alive by itself (shutdown relies on that).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms).unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** A UUID in its canonical text form, any case (SCIM ids, ledger ids). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A caller-supplied request id (`X-Request-Id`) that is safe to log and store as it is; any
 * other value is replaced by a fresh one.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export { TtlCache } from './ttl-cache';
export { createRequestLimiter, FAILED_BEARER_RATE } from './rate-limit';
export type { RequestLimiter, RequestRate } from './rate-limit';
