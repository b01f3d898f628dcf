import type { NextFunction, Request, Response } from 'express';
import type { RequestLimiter } from '../util';
import { HttpError } from './http-errors';

/**
 * Request limits of the non-SCIM surfaces (docs/robustness.md, "Abuse limits"): a refused request
 * is a 429 with Retry-After through the surface's error edge (src/app/http-errors.ts).
 */

export class RateLimitedError extends HttpError {
  constructor(readonly retryAfterSec: number) {
    super(429, 'rate_limited', `too many requests; retry in ${retryAfterSec} s`);
  }
}

/** Counts each request under `keyOf(req)` (requests it gives no key pass uncounted). */
export function limitRequests(limiter: RequestLimiter, keyOf: (req: Request) => string | undefined) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = keyOf(req);
    const retryAfter = key === undefined ? undefined : await limiter.consume(key);
    if (retryAfter === undefined) return next();
    res.set('Retry-After', String(retryAfter));
    next(new RateLimitedError(retryAfter));
  };
}

/** The client's address as the app sees it (`trust proxy` decides which). */
export const clientIp = (req: Request): string => req.ip ?? 'unknown';
