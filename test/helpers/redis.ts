import { randomUUID } from 'node:crypto';

/** Redis for integration tests: REDIS_URL, else the machine's local server. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The Redis namespace of this jest run (global-setup sets TEST_RUN_ID): global-teardown deletes
 * everything under it, and nothing a concurrent run on the same Redis owns.
 */
export function runKeyPattern(runId: string): string {
  return `test-${runId}-*`;
}

/** A BullMQ prefix no other test file shares, so files can run in parallel on one Redis. */
export function uniquePrefix(): string {
  return `test-${process.env.TEST_RUN_ID ?? 'adhoc'}-${randomUUID()}`;
}
