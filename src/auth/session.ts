import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { Redis } from 'ioredis';

/**
 * Console sessions in Redis (express-session + connect-redis 9). connect-redis 9 speaks the
 * node-redis v5 client API (`set(k, v, {expiration})`, `mGet`, `scanIterator`); the daemon uses
 * ioredis everywhere, so `nodeRedisFacade` translates those few calls.
 */

declare module 'express-session' {
  interface SessionData {
    /** users.id of the signed-in person; re-checked against the directory on every request. */
    personId?: string;
    /** Synchronizer CSRF token for this session's forms. */
    csrfToken?: string;
  }
}

/** Session lifetime; the cookie and the Redis key expire together. @defaultValue 8 h */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
export const SESSION_COOKIE = 'pis.sid';

export function nodeRedisFacade(redis: Redis) {
  return {
    get: (key: string) => redis.get(key),
    set: (key: string, value: string, options?: { expiration?: { type: 'EX' | 'PX'; value: number } }) =>
      options?.expiration
        ? options.expiration.type === 'EX'
          ? redis.set(key, value, 'EX', options.expiration.value)
          : redis.set(key, value, 'PX', options.expiration.value)
        : redis.set(key, value),
    expire: (key: string, seconds: number) => redis.expire(key, seconds),
    del: (keys: string[] | string) => redis.del(...(Array.isArray(keys) ? keys : [keys])),
    mGet: (keys: string[]) => redis.mget(...keys),
    async *scanIterator(options: { MATCH: string; COUNT: number }): AsyncGenerator<string[]> {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', options.MATCH, 'COUNT', options.COUNT);
        cursor = next;
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    },
  };
}

export interface SessionOptions {
  redis: Redis;
  /** Signs the cookie; random per process when unset (sessions then end at restart). */
  secret: string | undefined;
  /** Secure cookies whenever the public URL is https. */
  secureCookies: boolean;
  /** Redis key prefix. @defaultValue "pis:sess:" */
  keyPrefix?: string;
}

export function createSessionMiddleware(options: SessionOptions): RequestHandler {
  return session({
    name: SESSION_COOKIE,
    store: new RedisStore({ client: nodeRedisFacade(options.redis), prefix: options.keyPrefix ?? 'pis:sess:' }),
    secret: options.secret ?? randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    proxy: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      maxAge: SESSION_TTL_MS,
      path: '/',
    },
  });
}

/** The session's CSRF token, created on first use. */
export function csrfTokenFor(req: Request): string {
  if (!req.session.csrfToken) req.session.csrfToken = randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

export class CsrfError extends Error {
  readonly status = 403;
  constructor() {
    super('the form was stale or not sent by this console; reload the page and try again');
    this.name = 'CsrfError';
  }
}

/** Rejects state-changing requests whose `_csrf` field does not match the session's token. */
export function csrfProtection(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  const expected = req.session?.csrfToken;
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
  if (!expected || typeof sent !== 'string') return next(new CsrfError());
  const a = Buffer.from(expected);
  const b = Buffer.from(sent);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return next(new CsrfError());
  next();
}
