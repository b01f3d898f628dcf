import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createDb } from '../../src/directory/db';
import { runKeyPattern, TEST_REDIS_URL } from './redis';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (adminUrl && template) {
    const admin = createDb({ connectionString: adminUrl, poolMax: 1 });
    try {
      await admin.raw(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    } finally {
      await admin.destroy();
    }
  }
  const pg = (globalThis as Record<string, unknown>).__EMBEDDED_PG__ as { stop(): Promise<void> } | undefined;
  if (pg) await pg.stop();
  await deleteRunKeys();
  const runDir = process.env.TEST_RUN_DIR;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

/** Deletes the Redis keys of this run (see global-setup); a Redis that is not there has none. */
async function deleteRunKeys(): Promise<void> {
  const runId = process.env.TEST_RUN_ID;
  if (!runId) return;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', runKeyPattern(runId), 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // No Redis, no keys of ours in it.
  } finally {
    redis.disconnect();
  }
}
