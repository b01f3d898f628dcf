import { type Request, Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../../app';
import type { AccessService } from '../access';
import { sendReview } from '../access-review';

/**
 * The access view and the access review (docs/access-review.md), under the admin API's bearer:
 *
 *   GET /access?person=<SCIM id | userName | Pulumi login>   every permission of one person, each with its paths
 *   GET /access?stack=<project/stack>                         every person with access to one stack
 *   GET /access-review[?format=csv|json]                      the export (also `Accept: text/csv`), audited
 */

const accessQuery = z.strictObject({ person: z.string().min(1).max(256).optional(), stack: z.string().min(1).max(201).optional() });
const reviewQuery = z.strictObject({ format: z.enum(['csv', 'json']).optional() });

/** `?format=` wins; else CSV when the client accepts it before JSON. */
function reviewFormatOf(req: Request): 'csv' | 'json' {
  const { format } = reviewQuery.parse(req.query);
  return format ?? (req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json');
}

export function accessRouter(deps: { access: AccessService; actor: string }): Router {
  const router = Router();
  const admin = { admin: true } as const;

  router.get('/access', async (req, res) => {
    const { person, stack } = accessQuery.parse(req.query);
    if ((person === undefined) === (stack === undefined)) throw new HttpError(400, 'invalid_request', 'ask about exactly one of person or stack');
    res.json(person !== undefined ? await deps.access.explainPerson(person, admin) : await deps.access.explainStack(stack!, admin));
  });

  router.get('/access-review', async (req, res) => {
    const format = reviewFormatOf(req);
    sendReview(res, await deps.access.exportReview({ name: deps.actor, channel: 'api' }, format), format);
  });

  return router;
}
