import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CacheItem, CacheProvider } from '@node-saml/passport-saml';

/**
 * Redis-backed state for SAML, shared by every replica: the AuthnRequest IDs we issued (so
 * `InResponseTo` is validated whichever replica receives the response — node-saml's default
 * cache is per process) and the IDs of assertions already consumed (replay cache).
 */

/** node-saml's `cacheProvider`: request ID → issue instant, expiring after `ttlMs`. */
export class RedisRequestIdCache implements CacheProvider {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const stored = await this.redis.set(this.prefix + key, value, 'PX', this.ttlMs, 'NX');
    return stored === 'OK' ? { value, createdAt: Date.now() } : null;
  }

  async getAsync(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null) return null;
    const removed = await this.redis.del(this.prefix + key);
    return removed > 0 ? key : null;
  }
}

/**
 * Remembers consumed assertions until they expire. `claim` is atomic (SET NX), so two
 * concurrent posts of one response — which can both pass the InResponseTo lookup before either
 * removes it — still yield exactly one login.
 */
export class AssertionReplayCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** true when this is the first use of (issuer, assertion ID); false when it was seen before. */
  async claim(issuer: string, assertionId: string, expiresAtMs: number): Promise<boolean> {
    const ttlMs = Math.max(1000, expiresAtMs - Date.now());
    const key = this.prefix + createHash('sha256').update(`${issuer}\n${assertionId}`).digest('hex');
    return (await this.redis.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}
