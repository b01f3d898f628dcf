import express, { type Request, type Response, Router } from 'express';
import type { Logger } from '../log';
import { signalsReceived } from '../metrics';
import type { SetErrorCode } from './events';
import type { SetIntake } from './intake';
import { authorizationMatches, type StreamStore } from './store';

/**
 * Push delivery (RFC 8935): `POST /ssf/events` with a `application/secevent+jwt` body. 202 when
 * the SET was accepted (its actions queued, or nothing to do); 400 `{err, description}` when it
 * was refused, with the error code of docs/shared-signals.md, "Refusals"; 503 when this side
 * could not take it now (the transmitter's keys unreachable, Redis down), so the transmitter
 * retries. The stream's authorization header, when one was set at creation, is required.
 */

/** Largest SET body accepted; Okta's are about 1 KB. */
export const MAX_SET_BYTES = 64 * 1024;

export interface PushReceiverDeps {
  intake: SetIntake;
  store: StreamStore;
  logger: Logger;
}

const SET_MEDIA_TYPE = 'application/secevent+jwt';

export function createPushReceiver(deps: PushReceiverDeps): Router {
  const log = deps.logger.child({ category: 'signals' });
  const router = Router();
  const readBody = express.text({ type: () => true, limit: MAX_SET_BYTES });

  const refuse = (res: Response, err: SetErrorCode, reason: string, description: string) => {
    signalsReceived.inc({ outcome: err });
    log.warn('signal refused', { err, reason });
    res.status(400).json({ err, description });
  };

  router.post('/events', (req: Request, res: Response) => {
    const arrivedAt = Date.now();
    readBody(req, res, async (bodyErr?: unknown) => {
      try {
        if (bodyErr) {
          const tooLarge = (bodyErr as { type?: string }).type === 'entity.too.large';
          return refuse(
            res,
            'invalid_request',
            tooLarge ? 'body_too_large' : 'body_unreadable',
            tooLarge ? 'the SET is larger than accepted' : 'the body could not be read',
          );
        }
        if (!req.is(SET_MEDIA_TYPE)) return refuse(res, 'invalid_request', 'content_type', `the body must be ${SET_MEDIA_TYPE}`);
        const record = await deps.store.get();
        if (record && !authorizationMatches(record, req.get('authorization'))) {
          return refuse(res, 'authentication_failed', 'authorization_invalid', 'the Authorization header is missing or wrong');
        }
        const token = typeof req.body === 'string' ? req.body.trim() : '';
        const result = await deps.intake(token, arrivedAt);
        if (!result.accepted) return res.status(400).json({ err: result.refusal.err, description: result.refusal.description });
        res.status(202).end();
      } catch (err) {
        log.warn('signal not taken: try again later', { err: (err as Error).message });
        res.status(503).set('Retry-After', '5').json({ error: 'unavailable', description: 'the receiver cannot take SETs right now; retry' });
      }
    });
  });
  return router;
}
