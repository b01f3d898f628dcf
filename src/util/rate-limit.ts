import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Request limits shared by every replica: counted in Redis (rate-limiter-flexible), so N replicas
 * allow a client the configured rate once, not N times. While Redis is not ready the limiter counts
 * in this process instead (the library's insurance limiter), so surfaces that must work without
 * Redis, SCIM above all, keep working and stay limited per process.
 */

export interface RequestRate {
  /** Requests allowed per window. */
  points: number;
  /** The window, seconds. */
  durationSec: number;
}

export interface RequestLimiter {
  /** Counts one request of `key`: undefined when allowed, else the seconds to wait (≥ 1). */
  consume(key: string, points?: number): Promise<number | undefined>;
  /** The seconds to wait when `key` has used its allowance already, without counting a request. */
  blocked(key: string): Promise<number | undefined>;
}

export function createRequestLimiter(rate: RequestRate, options: { redis?: Redis; keyPrefix: string }): RequestLimiter {
  const opts = { points: rate.points, duration: rate.durationSec, keyPrefix: options.keyPrefix };
  const memory = new RateLimiterMemory(opts);
  const limiter = options.redis
    ? new RateLimiterRedis({ ...opts, storeClient: options.redis, useRedisPackage: false, rejectIfRedisNotReady: true, insuranceLimiter: memory })
    : memory;
  const waitOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return {
    async consume(key, points = 1) {
      try {
        await limiter.consume(key, points);
        return undefined;
      } catch (err) {
        if (err instanceof RateLimiterRes) return waitOf(err);
        throw err;
      }
    },
    async blocked(key) {
      const res = await limiter.get(key).catch(() => memory.get(key));
      return res && res.consumedPoints >= rate.points ? waitOf(res) : undefined;
    },
  };
}

/** Failed bearer checks allowed per client IP per minute, on every surface that takes a bearer token; then 429. */
export const FAILED_BEARER_RATE: RequestRate = { points: 20, durationSec: 60 };
