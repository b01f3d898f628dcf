import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { findActiveToken, hashToken, touchToken, type Db } from '../directory';
import type { Logger } from '../log';
import { createRequestLimiter, FAILED_BEARER_RATE } from '../util';
import { rateLimited, unauthorized } from './errors';

/**
 * Bearer authentication for /scim/v2 (RFC 6750 header form only: a token in the query string
 * is ignored, URIs end up in logs). The presented token is hashed, then:
 * - compared in constant time with the hash of SCIM_BEARER_TOKEN, the bootstrap credential;
 * - looked up by hash among the SCIM clients' tokens (hashes of equal length, so neither the
 *   comparison nor the lookup reveals anything about a stored secret's length or prefix).
 * Anything else is a 401 with a SCIM error body. `last_used_at` is written at most once a
 * minute per token per process (and the UPDATE itself is a no-op within the minute).
 *
 * A database token that checked out is remembered for `tokenCacheMs` (5 s by default), keyed by its hash, so a
 * busy IdP costs one lookup per token every few seconds instead of one per request; revoking a
 * token therefore takes effect within that time in every process. Failed lookups are never
 * cached.
 *
 * A per-client limit answers 429 with Retry-After when a client exceeds its rate: up to `burst`
 * requests per `burst / perSecond` seconds. The daemon passes SCIM_RATE_LIMIT_RPS /
 * SCIM_RATE_LIMIT_BURST (0 requests per second turns it off). Given `redis`, the count is shared
 * by every replica; while Redis is not ready it is kept in this process, so SCIM keeps working
 * (src/util/rate-limit.ts). Failed bearer checks are limited per client IP (FAILED_BEARER_RATE):
 * past it, the IP gets 429 before its token is even checked.
 */

export interface ScimPrincipal {
  clientId: string;
  clientName: string;
}

export interface RateLimit {
  /** Sustained requests per second per client. @defaultValue 200 */
  perSecond: number;
  /** Burst size. @defaultValue 1000 */
  burst: number;
}

/** When the caller passes no limit; the same as the config's defaults. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 200, burst: 1000 };
const BOOTSTRAP_CLIENT: ScimPrincipal = { clientId: 'bootstrap', clientName: 'bootstrap' };
const TOUCH_EVERY_MS = 60_000;
export const DEFAULT_TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_MAX = 1_000;
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

export function createScimAuth(deps: {
  db: Db;
  logger: Logger;
  bootstrapToken?: string;
  rateLimit?: RateLimit | false;
  /** How long a verified database token is trusted without a lookup; 0 = every request. @defaultValue 5000 */
  tokenCacheMs?: number;
  /** Where the counts of the limits are shared, under `keyPrefix`; this process only when absent. */
  shared?: { redis: Redis; keyPrefix: string };
}) {
  const tokenCacheMs = deps.tokenCacheMs ?? DEFAULT_TOKEN_CACHE_MS;
  const bootstrapHash = deps.bootstrapToken ? hashToken(deps.bootstrapToken) : undefined;
  const lastTouched = new Map<string, number>();
  const limit = deps.rateLimit === undefined ? DEFAULT_RATE_LIMIT : deps.rateLimit;
  const clientLimiter = limit
    ? createRequestLimiter(
        { points: limit.burst, durationSec: Math.max(1, Math.ceil(limit.burst / limit.perSecond)) },
        { redis: deps.shared?.redis, keyPrefix: `${deps.shared?.keyPrefix ?? ''}scim-client` },
      )
    : undefined;
  const failedBearer = createRequestLimiter(FAILED_BEARER_RATE, { redis: deps.shared?.redis, keyPrefix: `${deps.shared?.keyPrefix ?? ''}scim-bearer-failed` });
  const verified = new Map<string, { principal: ScimPrincipal; tokenId: string; until: number }>();

  function cachedPrincipal(hash: Buffer): ScimPrincipal | undefined {
    const key = hash.toString('hex');
    const cached = verified.get(key);
    if (cached && cached.until > Date.now()) {
      touch(cached.tokenId);
      return cached.principal;
    }
    verified.delete(key);
    return undefined;
  }

  async function lookup(hash: Buffer): Promise<ScimPrincipal | undefined> {
    const cached = cachedPrincipal(hash);
    if (cached) return cached;
    const key = hash.toString('hex');
    const now = Date.now();
    const token = await findActiveToken(deps.db, hash);
    if (!token) return undefined;
    const principal = { clientId: token.clientId, clientName: token.clientName };
    if (verified.size >= TOKEN_CACHE_MAX) verified.clear();
    if (tokenCacheMs > 0) verified.set(key, { principal, tokenId: token.tokenId, until: now + tokenCacheMs });
    touch(token.tokenId);
    return principal;
  }

  function touch(tokenId: string): void {
    const now = Date.now();
    if (now - (lastTouched.get(tokenId) ?? 0) < TOUCH_EVERY_MS) return;
    lastTouched.set(tokenId, now);
    touchToken(deps.db, tokenId).catch((err: Error) => deps.logger.warn('could not record SCIM token use', { err: err.message }));
  }

  /** A failed bearer check, counted against the IP: 401, or 429 once the IP has failed too often. */
  async function refused(ip: string, detail: string) {
    const retryAfter = await failedBearer.consume(ip);
    return retryAfter === undefined ? unauthorized(detail) : rateLimited(retryAfter);
  }

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const ip = req.ip ?? 'unknown';
    // An IP over its failures gets no database lookup; a token this process verified lately
    // still passes, so a client behind the same proxy as an attacker keeps working.
    const refusedFor = await failedBearer.blocked(ip);
    const header = req.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match) throw refusedFor !== undefined ? rateLimited(refusedFor) : await refused(ip, 'a bearer token is required in the Authorization header');
    const presented = hashToken(match[1]!);
    let principal: ScimPrincipal | undefined;
    if (bootstrapHash && timingSafeEqual(presented, bootstrapHash)) {
      principal = BOOTSTRAP_CLIENT;
    } else if (refusedFor !== undefined) {
      principal = cachedPrincipal(presented);
      if (!principal) throw rateLimited(refusedFor);
    } else {
      principal = await lookup(presented);
    }
    if (!principal) throw await refused(ip, 'the bearer token is not valid');
    const retryAfter = await clientLimiter?.consume(principal.clientId);
    if (retryAfter !== undefined) throw rateLimited(retryAfter);
    res.locals.scimClient = principal;
    next();
  };
}
