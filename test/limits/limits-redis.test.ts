import { Redis } from 'ioredis';
import { createLimitsRedis } from '../../src/queue';
import { createRequestLimiter } from '../../src/util';
import { type PrivateRedis, startPrivateRedis } from '../helpers/stack/processes';

/**
 * The request limits never hold a request while Redis does not answer (docs/robustness.md,
 * "Producers fail fast in HTTP paths"): on the connection the daemon gives them, a count that
 * Redis leaves unanswered fails over to the process's own count. A private redis-server is paused
 * with CLIENT PAUSE (writes, as every count is), which keeps the connection open and ready while no command is answered:
 * the case the not-ready check cannot see.
 */

let redis: PrivateRedis;
let admin: Redis;
let limits: Redis;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url);
  limits = createLimitsRedis(redis.url);
  if (limits.status !== 'ready') await new Promise((resolve) => limits.once('ready', resolve));
}, 60_000);

afterAll(async () => {
  limits?.disconnect();
  admin?.disconnect();
  await redis?.stop();
});

it('counts in the process, and keeps limiting, when Redis stops answering', async () => {
  const limiter = createRequestLimiter({ points: 2, durationSec: 60 }, { redis: limits, keyPrefix: 'test-limits:' });
  expect(await limiter.consume('client')).toBeUndefined();
  await admin.call('CLIENT', 'PAUSE', '600000', 'WRITE');
  try {
    // Answered although Redis holds every command for ten minutes; the process's count takes over.
    expect(await limiter.consume('client')).toBeUndefined();
    expect(await limiter.consume('client')).toBeUndefined();
    expect(await limiter.consume('client')).toBeGreaterThanOrEqual(1);
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
  }
});
