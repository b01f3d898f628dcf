import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ReplayGuard } from './verify';

/**
 * `jti`s of accepted SETs, remembered in Redis (as SAML assertion IDs are) for twice the `iat`
 * window, so every replica refuses a replay. Keys: `<prefix>ssf:jti:<sha256(iss, jti)>`.
 */
export class RedisReplayGuard implements ReplayGuard {
  constructor(
    private readonly redis: Redis,
    /** e.g. `pis:` (QUEUE_PREFIX and a colon); tests use their own. */
    private readonly prefix: string,
  ) {}

  private key(issuer: string, jti: string): string {
    return `${this.prefix}ssf:jti:${createHash('sha256').update(`${issuer}\n${jti}`).digest('hex')}`;
  }

  async remember(issuer: string, jti: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.key(issuer, jti), '1', 'PX', Math.max(1000, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  /** Lets a SET whose actions could not be queued be delivered again. */
  async forget(issuer: string, jti: string): Promise<void> {
    await this.redis.del(this.key(issuer, jti));
  }
}
