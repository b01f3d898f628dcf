import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Redis } from 'ioredis';
import { clientIp, limitRequests } from '../app';
import { AUTH_KEY_PREFIX, createSamlService, createSessionMiddleware, csrfProtection, LoginTickets, SessionIndex } from '../auth';
import type { Config } from '../config';
import type { Db } from '../directory/db';
import type { Logger } from '../log';
import type { Policy } from '../policy';
import type { QueueFactory } from '../queue';
import type { Reconciler } from '../reconcile';
import type { TokenDeps } from '../tokens';
import { createRequestLimiter, FAILED_BEARER_RATE, type RequestRate } from '../util';
import { createAdminApiRouter } from './api';
import type { SignalsAdmin } from './api/ssf';
import { createAuthRoutes, requireAdmin, requirePerson } from './auth-routes';
import { createAccessRoutes } from './access-routes';
import { createAdminRoutes, createQueueDashboard, QUEUES_PATH } from './admin-routes';
import { consoleSourcesFrom } from './console-ports';
import { consoleErrorEdge } from './error-page';
import { CONTENT_SECURITY_POLICY } from './html';
import { createMeRoutes } from './me-routes';
import type { ConsoleSources } from './sources';

/**
 * The web surface: SAML sign-in under /auth, the server-rendered console under /console, and
 * the admin JSON API (src/web/api, bearer ADMIN_API_TOKEN) under /api/v1. Mount the returned
 * router at "/".
 */

export type {
  ConsoleSources,
  ConsoleTokens,
  ConsoleToken,
  ConsoleSync,
  ConsoleScimClients,
  ScimClientView,
  AuditFilter,
  ScopeLine,
  ConsoleActor,
  ConsoleHolds,
  ConsoleHoldView,
  ConsoleTeamView,
  ConsoleSignals,
} from './sources';
export { ConsoleInputError, ConsoleForbiddenError } from './sources';
export { escapeHtml, html } from './html';
export { consoleSourcesFrom, tokensSource, syncSource, scimClientsSource, holdsSource, signalsSource, teamsSource } from './console-ports';
export type { ConsoleParts } from './console-ports';
export type { SignalsAdmin } from './api/ssf';

export interface WebDeps {
  config: Config;
  db: Db;
  redis: Redis;
  /** Where the request limits count, a connection that fails fast while Redis is down; `redis` when absent. */
  limitsRedis?: Redis;
  logger: Logger;
  /** The parts behind the console and the admin API; each one absent makes its pages say so. */
  policy?: { readonly current: Policy };
  reconciler?: Reconciler;
  queues?: QueueFactory;
  tokens?: TokenDeps;
  /** The Shared Signals receiver's stream management, when SSF_TRANSMITTER_URL is set. */
  signals?: SignalsAdmin;
  /** Console data sources; built from the parts above when absent (tests pass their own). */
  sources?: ConsoleSources;
  /** Redis key prefix for sessions and SAML caches (tests isolate themselves with it). @defaultValue "pis:" */
  keyPrefix?: string;
  /** Request limits other than the defaults (tests). */
  rates?: Partial<WebRates>;
}

/** The request limits of the web surface, shared by replicas in Redis (docs/robustness.md, "Abuse limits"). */
export interface WebRates {
  /** `/auth/*` per client IP: a sign-in is three requests. */
  authPerIp: RequestRate;
  /** `/console/*` per session (per IP before sign-in). */
  consolePerSession: RequestRate;
  /** `/api/v1` per bearer token. */
  adminApiPerToken: RequestRate;
}

export const DEFAULT_WEB_RATES: WebRates = {
  authPerIp: { points: 300, durationSec: 60 },
  consolePerSession: { points: 600, durationSec: 60 },
  adminApiPerToken: { points: 600, durationSec: 60 },
};

export const CONSOLE_PATH = '/console';
/** bull-board, the queue dashboard: on the internal listener when INTERNAL_PORT is set. */
export const QUEUE_DASHBOARD_PATH = `${CONSOLE_PATH}${QUEUES_PATH}`;

function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  // bull-board ships its own scripts; every other page runs none.
  if (!req.originalUrl.startsWith(QUEUE_DASHBOARD_PATH)) res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  next();
}

export function createWebRouter(deps: WebDeps): Router {
  const { config, db, redis, logger, reconciler } = deps;
  const sources =
    deps.sources ??
    consoleSourcesFrom({
      db,
      policy: deps.policy,
      tokenDeps: deps.tokens,
      queues: deps.queues,
      planAll: reconciler ? () => reconciler.planAll() : undefined,
      orgStacks: reconciler ? () => reconciler.orgStacks() : undefined,
      signals: deps.signals,
    });
  const prefix = deps.keyPrefix ?? AUTH_KEY_PREFIX;
  const sessions = new SessionIndex(redis, prefix);
  const settings = config.saml;
  const saml = settings ? createSamlService({ settings, redis, logger, keyPrefix: `${prefix}saml:` }) : undefined;
  if (!saml) logger.warn('SAML is not configured: the console cannot be signed into (set SAML_IDP_SSO_URL and friends)');
  const adminGroup = settings?.adminGroup;

  // Random per process when unset: sessions and started sign-ins then end at a restart.
  const secret = config.SESSION_SECRET ?? randomBytes(32).toString('hex');
  const secureCookies = (config.PUBLIC_URL ?? '').startsWith('https:');
  const rates = { ...DEFAULT_WEB_RATES, ...deps.rates };
  const limiter = (name: string, rate: RequestRate) => createRequestLimiter(rate, { redis: deps.limitsRedis ?? redis, keyPrefix: `${prefix}rl:${name}` });
  const router = Router();
  router.get('/', (_req, res) => res.redirect(303, `${CONSOLE_PATH}/`));
  router.use('/auth', limitRequests(limiter('auth-ip', rates.authPerIp), clientIp));
  router.use([CONSOLE_PATH, '/auth'], securityHeaders, createSessionMiddleware({ redis, secret, secureCookies, keyPrefix: `${prefix}sess:` }));
  router.use(
    CONSOLE_PATH,
    limitRequests(limiter('console-session', rates.consolePerSession), (req) => (req.session.personId ? req.sessionID : clientIp(req))),
  );
  router.use(
    createAuthRoutes({ db, logger, saml, adminGroup, tickets: new LoginTickets(redis, `${prefix}saml:ticket:`, { secret, secureCookies }), sessions }),
  );

  const consoleRouter = Router();
  consoleRouter.use(requirePerson(db, adminGroup, sessions));
  consoleRouter.use('/admin', requireAdmin);
  const dashboard = createQueueDashboard(sources, CONSOLE_PATH);
  if (dashboard) consoleRouter.use(QUEUES_PATH, dashboard);
  consoleRouter.use(express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 20 }), csrfProtection);
  consoleRouter.use(createMeRoutes({ db, logger, sources }));
  consoleRouter.use(createAdminRoutes({ logger, sources }));
  consoleRouter.use(createAccessRoutes({ access: sources.access }));
  router.use(CONSOLE_PATH, consoleRouter);
  router.use(
    '/api/v1',
    createAdminApiRouter({
      adminToken: config.ADMIN_API_TOKEN,
      limits: { perToken: limiter('admin-token', rates.adminApiPerToken), failedBearer: limiter('admin-bearer-failed', FAILED_BEARER_RATE) },
      adminTokenLabel: config.ADMIN_API_TOKEN_LABEL,
      db,
      logger,
      policy: deps.policy,
      reconciler,
      queues: deps.queues,
      tokens: deps.tokens,
      signals: deps.signals,
    }),
  );

  // The admin API answers its own errors; the console and sign-in share this one.
  router.use([CONSOLE_PATH, '/auth'], consoleErrorEdge(logger));
  return router;
}
