import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { clientIp, HttpError, jsonErrorEdge, limitRequests, RateLimitedError } from '../../app';
import type { Db } from '../../directory/db';
import type { Logger } from '../../log';
import type { Policy } from '../../policy';
import { enqueueFullReconcile, enqueueTeamReconcile, type QueueFactory } from '../../queue';
import { QueueUnavailableError } from '../../queue';
import {
  listHolds,
  presentOp,
  presentPlan,
  queryAudit,
  readStatus,
  recordAdminAction,
  type Reconciler,
  verifyAuditChain,
  writeCallsOf,
  type Hold,
} from '../../reconcile';
import { getTokenView, type TokenAuditAction, type TokenAuditWriter, type TokenDeps } from '../../tokens';
import { REQUEST_ID_PATTERN, type RequestLimiter, withTimeout } from '../../util';
import { createAccessService } from '../access';
import { decideHoldAndReconcile } from '../hold-decisions';
import { accessRouter } from './access';
import { type SignalsAdmin, ssfRouter } from './ssf';
import { tokensRouter } from './tokens';

/**
 * The admin JSON API, mounted at `/api/v1`, behind `Authorization: Bearer <ADMIN_API_TOKEN>`:
 *
 *   GET  /status             queue depths, outbox backlog, last reconcile per team, pending
 *                            users, degraded teams, unknown-creator tokens, unowned teams
 *   GET  /plan[?team=]       dry run: the ops a reconcile would apply now, nothing applied; each op
 *                            with its levels by name (read|write|admin) and a `description`
 *   POST /reconcile          {team?} → 202; one team, or all teams when absent
 *   GET  /audit              ?person&team&category&op&requestId&since&until&cursor&limit → {entries, next}
 *   GET  /audit/verify       walks the audit log's hash chain → {ok: true, entries, headId, …} or {ok: false, entryId, problem}
 *   GET  /holds              pending holds: [{id, team, reason, removals, revocations, createdAt, ops}]
 *   POST /holds/:id/approve  → the hold, approved; the team's reconcile applies what is still planned
 *   POST /holds/:id/reject   → the hold, rejected; its ops stay out while they stay planned
 *   GET  /access             ?person= or ?stack=: every permission with its paths (see ./access.ts)
 *   GET  /access-review      the access review export, CSV or JSON, audited (see ./access.ts)
 *   /tokens                  the tokens part's router (see ./tokens.ts)
 *   /ssf/stream              the Shared Signals stream (see ./ssf.ts)
 *
 * Every change an admin makes here (a reconcile, a hold decided, a token issued or revoked) is
 * audited, category `admin`, with the admin token's label as actor and channel `api`.
 *
 * Routes throw; one error middleware at the end answers `{error, message, details?}` from the
 * table in src/app/http-errors.ts.
 */

export interface AdminApiDeps {
  /** ADMIN_API_TOKEN; when unset every request gets 503. */
  adminToken: string | undefined;
  /** Requests per bearer token, and failed bearer checks per client IP (docs/robustness.md, "Abuse limits"). */
  limits?: { perToken: RequestLimiter; failedBearer: RequestLimiter };
  /** ADMIN_API_TOKEN_LABEL: the actor the audit log names. @defaultValue admin-api-token */
  adminTokenLabel?: string;
  db: Db;
  logger: Logger;
  policy?: { readonly current: Policy };
  /** Absent in a process without a Pulumi client: /plan answers 503. */
  reconciler?: Reconciler;
  /** Absent: /reconcile answers 503, /status shows no queue depths. */
  queues?: QueueFactory;
  tokens?: TokenDeps;
  /** The Shared Signals receiver; absent: /ssf answers 503 and /status shows `ssf: null`. */
  signals?: SignalsAdmin;
}

const TEAM = z.string().min(1).max(100);
const auditQuery = z.strictObject({
  person: z.string().min(1).max(256).optional(),
  team: TEAM.optional(),
  category: z.enum(['reconcile', 'drift', 'tokens', 'admin', 'signals']).optional(),
  op: z.string().min(1).max(50).optional(),
  requestId: z.string().min(1).max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'must be the "next" value of a previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const reconcileBody = z.strictObject({ team: TEAM.optional() });
/** How long POST /reconcile waits for Redis before answering 503. */
const ENQUEUE_TIMEOUT_MS = 2000;
const planQuery = z.strictObject({ team: TEAM.optional() });

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Bearer check: SHA-256 digests compared in constant time (equal lengths, secret length hidden).
 * A failure counts against the client IP in `failedBearer`: 401, then 429 once the IP failed too often.
 */
export function adminAuth(adminToken: string | undefined, failedBearer?: RequestLimiter) {
  const expected = adminToken ? digest(adminToken) : undefined;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!expected) throw new HttpError(503, 'admin_api_disabled', 'the admin API is off: set ADMIN_API_TOKEN');
    const match = /^Bearer ([^\s]+)$/.exec(req.get('authorization') ?? '');
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      const retryAfter = await failedBearer?.consume(clientIp(req));
      if (retryAfter === undefined) throw new HttpError(401, 'unauthorized', 'a valid admin bearer token is required');
      res.set('Retry-After', String(retryAfter));
      throw new RateLimitedError(retryAfter);
    }
    next();
  };
}

/** A hold as the admin API shows it, each op with levels by name and the line a person reads. */
function holdView(hold: Hold) {
  const { id, team, reason, removals, revocations, createdAt, ops } = hold;
  return { id, team, reason, removals, revocations, createdAt, ops: ops.map(presentOp) };
}

const ADMIN_TOKEN_OPS: Partial<Record<TokenAuditAction, string>> = { 'token.issued': 'token.issue', 'token.revoked': 'token.revoke' };

/**
 * The tokens part's audit writer, plus an `admin` entry naming the admin for each token this API
 * issued or revoked (always for someone else: the owner is in the request).
 */
function auditingAdmin(tokens: TokenDeps, actor: string): TokenAuditWriter {
  return async (entry) => {
    const id = await tokens.audit(entry);
    const op = ADMIN_TOKEN_OPS[entry.action];
    const ledgerId = entry.detail.ledgerId;
    // The admin's entry goes with the outcome: an intent is not yet something done.
    if (!op || typeof ledgerId !== 'string' || entry.outcome === 'intent') return id;
    const token = await getTokenView(tokens, ledgerId);
    await recordAdminAction(tokens.db, {
      op,
      team: token.team,
      subject: ledgerId,
      actor,
      channel: 'api',
      detail: { owner: token.owner, pulumiTeam: entry.team },
    });
    return id;
  };
}

export function createAdminApiRouter(deps: AdminApiDeps): Router {
  const { db, logger } = deps;
  const actor = deps.adminTokenLabel ?? 'admin-api-token';
  const router = Router();
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  router.use(adminAuth(deps.adminToken, deps.limits?.failedBearer));
  // Counted once the token checked out: per token, by its digest (never the token itself).
  if (deps.limits) router.use(limitRequests(deps.limits.perToken, (req) => digest(req.get('authorization') ?? '').toString('hex')));
  router.use(express.json({ limit: '16kb' }));

  router.get('/status', async (_req, res) => {
    const status = await readStatus(db, deps.queues, { pendingRetryMs: deps.reconciler?.pendingRetryMs });
    const policy = deps.policy?.current;
    res.json({
      policy: policy ? { file: policy.file, digest: policy.digest, organization: policy.organization, reconcileEvery: policy.reconcile.every } : null,
      ...status,
      ssf: deps.signals ? await deps.signals.status() : null,
    });
  });

  router.get('/plan', async (req, res) => {
    const { team } = planQuery.parse(req.query);
    const reconciler = deps.reconciler;
    if (!reconciler) throw new HttpError(503, 'no_reconciler', 'this process has no reconciler');
    const plans = team ? [await reconciler.planTeam(team)] : await reconciler.planAll();
    const ops = plans.reduce((n, p) => n + p.ops.length, 0);
    res.json({
      dryRun: true,
      summary: { teams: plans.length, ops, writes: plans.reduce((n, p) => n + writeCallsOf(p.ops), 0) },
      plans: plans.map(presentPlan),
    });
  });

  router.post('/reconcile', async (req, res) => {
    const { team } = reconcileBody.parse(req.body ?? {});
    if (!deps.queues) throw new HttpError(503, 'no_queue', 'this process has no queue');
    const requestId = requestIdOf(req);
    try {
      // Bounded: BullMQ holds the add until Redis has been reachable once (enableOfflineQueue
      // fails fast only after that). An add that lands after the 503 is one extra reconcile.
      const enqueued = team
        ? enqueueTeamReconcile(deps.queues, { team, reason: 'manual', requestId })
        : enqueueFullReconcile(deps.queues, { reason: 'manual', requestId });
      await withTimeout(enqueued, ENQUEUE_TIMEOUT_MS, `Redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`);
    } catch (err) {
      throw new QueueUnavailableError(`cannot enqueue: ${(err as Error).message}`);
    }
    await recordAdminAction(db, { op: 'reconcile', team, actor, channel: 'api', requestId });
    logger.info('reconcile requested through the admin API', { team: team ?? '(all)', requestId, actor });
    res.status(202).json({ enqueued: team ? { team } : { all: true }, requestId });
  });

  router.get('/audit', async (req, res) => {
    res.json(await queryAudit(db, auditQuery.parse(req.query)));
  });

  router.get('/audit/verify', async (_req, res) => {
    // A broken chain is the answer, not a failed request: 200 either way, `ok` says which.
    res.json(await verifyAuditChain(db));
  });

  router.get('/holds', async (_req, res) => {
    res.json({ holds: (await listHolds(db)).map(holdView) });
  });

  for (const [action, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    router.post(`/holds/:id/${action}`, async (req, res) => {
      const requestId = requestIdOf(req);
      const hold = await decideHoldAndReconcile({ db, queues: deps.queues }, String(req.params.id), decision, { name: actor, channel: 'api' }, requestId);
      logger.info(`hold ${decision} through the admin API`, { holdId: hold.id, team: hold.team, actor, requestId });
      res.json({ ...holdView(hold), status: hold.status, decidedBy: hold.decidedBy, decidedChannel: hold.decidedChannel, requestId });
    });
  }

  const orgStacks = deps.reconciler ? () => deps.reconciler!.orgStacks() : undefined;
  router.use(accessRouter({ access: createAccessService({ db, policy: deps.policy, orgStacks, tokens: deps.tokens }), actor }));
  router.use('/ssf', ssfRouter({ signals: deps.signals, db, logger, actor }));
  if (deps.tokens) router.use('/tokens', tokensRouter({ ...deps.tokens, audit: auditingAdmin(deps.tokens, actor) }));

  router.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'no such admin API route')));
  router.use(jsonErrorEdge(logger, 'admin API request failed'));
  return router;
}

function requestIdOf(req: Request): string {
  const given = req.get('x-request-id');
  return given && REQUEST_ID_PATTERN.test(given) ? given : `admin-${randomUUID()}`;
}
