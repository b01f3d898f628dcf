import { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../../app';
import type { Db } from '../../directory/db';
import type { Logger } from '../../log';
import { recordAdminAction } from '../../reconcile';
import type { StreamManager } from '../../signals';

/**
 * The Shared Signals stream, as an admin manages it (docs/shared-signals.md, "Stream management"):
 *
 *   POST   /ssf/stream         {delivery?: push|poll, eventsRequested?, endpointUrl?} → 201 {stream, adopted}
 *   GET    /ssf/stream         → {stream, status, statusReason}
 *   DELETE /ssf/stream         → {deleted: streamId}
 *   POST   /ssf/stream/verify  {waitMs?} → {state, received, roundTripMs}
 *
 * Each change is audited (category `admin`, ops `ssf.stream.*`).
 */

/** What the admin API needs of the receiver (src/runtime builds it). */
export interface SignalsAdmin {
  manager: StreamManager;
  status(): Promise<unknown>;
}

const createBody = z.strictObject({
  delivery: z.enum(['push', 'poll']).default('push'),
  eventsRequested: z.array(z.url()).min(1).max(20).optional(),
  endpointUrl: z.url().optional(),
});
const verifyBody = z.strictObject({ waitMs: z.number().int().min(0).max(30_000).default(10_000) });

export function ssfRouter(deps: { signals: SignalsAdmin | undefined; db: Db; logger: Logger; actor: string }): Router {
  const { db, actor } = deps;
  const router = Router();
  const manager = (): StreamManager => {
    if (!deps.signals) throw new HttpError(503, 'ssf_disabled', 'the Shared Signals receiver is off: set SSF_TRANSMITTER_URL');
    return deps.signals.manager;
  };

  router.post('/stream', async (req, res) => {
    const body = createBody.parse(req.body ?? {});
    const { stream, adopted } = await manager().create(body);
    await recordAdminAction(db, {
      op: adopted ? 'ssf.stream.adopt' : 'ssf.stream.create',
      subject: stream.streamId,
      actor,
      channel: 'api',
      detail: { delivery: stream.delivery },
    });
    deps.logger.info('ssf stream set up through the admin API', { streamId: stream.streamId, delivery: stream.delivery, adopted, actor });
    res.status(adopted ? 200 : 201).json({ stream, adopted });
  });

  router.get('/stream', async (_req, res) => {
    res.json(await manager().show());
  });

  router.delete('/stream', async (_req, res) => {
    const { streamId } = await manager().delete();
    await recordAdminAction(db, { op: 'ssf.stream.delete', subject: streamId, actor, channel: 'api' });
    res.json({ deleted: streamId });
  });

  router.post('/stream/verify', async (req, res) => {
    const { waitMs } = verifyBody.parse(req.body ?? {});
    const outcome = await manager().verify(waitMs);
    await recordAdminAction(db, { op: 'ssf.stream.verify', actor, channel: 'api', detail: { received: outcome.received, roundTripMs: outcome.roundTripMs } });
    res.json(outcome);
  });
  return router;
}
