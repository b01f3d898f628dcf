import type { Redis } from 'ioredis';
import { SESSION_TTL_MS } from './session';

/**
 * Which console sessions each person holds, so they can all be ended at once (a Shared Signals
 * `session-revoked`, docs/shared-signals.md). express-session keys sessions by their random id
 * only; this keeps, per person, a Redis set of those ids beside them (`<prefix>sess-of:<person id>`),
 * expiring with the newest session. Ending a person's sessions deletes the session records
 * themselves: their next request has no session and goes to sign-in.
 */

/** The default Redis prefix of sessions and SAML caches. */
export const AUTH_KEY_PREFIX = 'pis:';

export class SessionIndex {
  constructor(
    private readonly redis: Redis,
    /** The same prefix the session middleware was given, less its `sess:`. @defaultValue "pis:" */
    private readonly prefix = AUTH_KEY_PREFIX,
  ) {}

  private setOf(personId: string): string {
    return `${this.prefix}sess-of:${personId}`;
  }

  async add(personId: string, sessionId: string): Promise<void> {
    await this.redis.multi().sadd(this.setOf(personId), sessionId).pexpire(this.setOf(personId), SESSION_TTL_MS).exec();
  }

  async remove(personId: string, sessionId: string): Promise<void> {
    await this.redis.srem(this.setOf(personId), sessionId);
  }

  /** Ends every console session of the person; returns how many were still open. */
  async endAll(personId: string): Promise<number> {
    const ids = await this.redis.smembers(this.setOf(personId));
    if (ids.length === 0) return 0;
    const [ended] = (await this.redis
      .multi()
      .del(...ids.map((id) => `${this.prefix}sess:${id}`))
      .del(this.setOf(personId))
      .exec()) ?? [[null, 0]];
    return Number(ended?.[1] ?? 0);
  }
}
