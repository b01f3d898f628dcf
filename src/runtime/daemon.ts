import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, describeConfig, scimRateLimit } from '../config';
import { createLogger, type Logger, warnAtMostEvery } from '../log';
import { createDb, type Db, migrateLatest } from '../directory/db';
import { startEmbeddedPostgres } from '../directory';
import { createLimitsRedis, createRedis, resolveRedis } from '../queue';
import { createApp, createHttpServer, DependencyProbe, type ListenerScope, type Mount } from '../app';
import { createScimRouter } from '../scim';
import { metricsRouter, registerDependencyCollector } from '../metrics';
import { createPulumiClient } from '../pulumi';
import { startAuditAnchoring } from '../reconcile';
import { createWebRouter, QUEUE_DASHBOARD_PATH } from '../web';
import { startSyncEngine } from './engine';
import { type EmulatedPulumi, startEmulatedPulumi } from './demo';
import { type DevSignIn, startDevSignIn } from './dev-sign-in';
import { dependencyStates } from './ops-listener';
import { startSignals } from './signals-wiring';
import { withTimeout } from '../util';
import { DEV_IDP_PATH } from '../dev-idp';

/**
 * Start-up and ordered shutdown of the daemon: Postgres (embedded when DATABASE_URL is
 * unset) and its migrations, the audit anchoring timer, Redis, then the HTTP server. Shutdown runs in reverse, each
 * step bounded by a deadline so a stuck dependency cannot hold the process.
 */

/** Redis keys of the request limits every replica shares (docs/robustness.md, "Abuse limits"). */
const RATE_LIMIT_KEY_PREFIX = 'pis:rl:';

/** Where the Pulumi Service is: the real one, or the in-process emulator when no token is set. */

export interface PulumiEndpoint {
  baseUrl: string;
  accessToken: string;
  /** PULUMI_ORG, or the emulator's org; undefined when only the policy file names it. */
  org: string | undefined;
  emulated: boolean;
}

export interface Daemon {
  url: string;
  /** The internal listener (INTERNAL_PORT), when there is one. */
  internalUrl: string | undefined;
  db: Db;
  logger: Logger;
  pulumi: PulumiEndpoint;
  /** SIGHUP: re-reads SYNC_CONFIG; a bad file is logged and the running policy kept. */
  reload(): void;
  stop(): Promise<void>;
}

/** A shutdown step; `deadlineMs` bounds how long the next steps wait for it. @defaultValue 10 s */
type Step = { name: string; run: () => Promise<void>; deadlineMs?: number };

/**
 * The embedded Postgres runs in its own process group and outlives a daemon that stops waiting
 * for it: a restart would then find its data directory locked. Its fast shutdown (a checkpoint)
 * gets minutes on a busy machine, since nothing waits on the daemon by then.
 */
const EMBEDDED_PG_STOP_MS = 120_000;

/** How long SIGTERM lets HTTP requests in flight finish before their sockets are cut. */
const HTTP_DRAIN_MS = 5_000;

export async function startDaemon(config: Config, logger = createLogger({ level: config.LOG_LEVEL })): Promise<Daemon> {
  const shutdown: Step[] = [];
  logger.info('starting pulumi-idp-sync', { config: describeConfig(config) });

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { logger });
    logger.warn('DATABASE_URL is unset: using the embedded Postgres', { dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT });
    shutdown.push({ name: 'embedded postgres', run: embedded.stop, deadlineMs: EMBEDDED_PG_STOP_MS });
    databaseUrl = embedded.connectionString;
  }
  const db = createDb({ connectionString: databaseUrl, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
  shutdown.push({ name: 'postgres pool', run: () => db.destroy() });
  await migrateLatest(db);
  const anchoring = startAuditAnchoring(db, logger, config.AUDIT_ANCHOR_EVERY_MS);
  shutdown.push({ name: 'audit anchoring', run: async () => anchoring.stop() });

  const redisEndpoint = await resolveRedis(config.REDIS_URL, config.DATA_DIR, logger);
  shutdown.push({ name: 'private redis', run: redisEndpoint.stop });
  const redis = createRedis(redisEndpoint.url);
  const warnRedisError = warnAtMostEvery(logger);
  redis.on('error', (err) => warnRedisError('redis connection error', { err: err.message }));
  shutdown.push({ name: 'redis', run: async () => void redis.disconnect() });
  const limitsRedis = createLimitsRedis(redisEndpoint.url);
  limitsRedis.on('error', (err) => warnRedisError('redis connection error', { err: err.message }));
  shutdown.push({ name: 'redis (limits)', run: async () => void limitsRedis.disconnect() });

  let pulumi: PulumiEndpoint;
  // The built-in emulator, its org kept under DATA_DIR; outside production also the demo (src/runtime/demo.ts).
  let emulated: EmulatedPulumi | undefined;
  if (config.PULUMI_ACCESS_TOKEN) {
    pulumi = { baseUrl: config.PULUMI_BACKEND_URL, accessToken: config.PULUMI_ACCESS_TOKEN, org: config.PULUMI_ORG, emulated: false };
  } else {
    emulated = await startEmulatedPulumi({ config, db, logger, production: process.env.NODE_ENV === 'production' });
    shutdown.push({ name: 'pulumi emulator', run: emulated.stop });
    pulumi = { baseUrl: emulated.baseUrl, accessToken: emulated.accessToken, org: emulated.org, emulated: true };
  }
  // Demo mode (so never in production nor with a real token) without SAML: the development IdP.
  const devSignIn: DevSignIn | undefined = emulated?.demo && !config.saml ? await startDevSignIn({ config: emulated.demo.config, db, logger }) : undefined;
  // Reconciler, relay, queues and tokens; workers too unless RUN_WORKERS=false (then they run
  // in `npm run worker` processes). Stopped after the HTTP server, before Redis and Postgres.
  // A refusal (EvictionPolicyError, PolicyError) stops what started so far: no orphaned
  // embedded Postgres or private redis-server.
  const sync = await startSyncEngine({
    config,
    db,
    databaseUrl,
    redisUrl: redisEndpoint.url,
    pulumi,
    logger,
    runWorkers: config.RUN_WORKERS,
  }).catch(async (err: unknown) => {
    await runSteps(shutdown, logger);
    throw err;
  });
  shutdown.push({ name: 'sync engine', run: () => sync.stop(8_000) });

  // The Shared Signals receiver, when SSF_TRANSMITTER_URL is set: push route, poll loop, stream management.
  const signals = startSignals({ config, db, redis, queues: sync.queues, policy: sync.policy, logger, keyPrefix: `${config.QUEUE_PREFIX}:` });
  if (signals) shutdown.push({ name: 'shared signals', run: signals.stop });

  const pulumiProbe = createPulumiClient({ baseUrl: pulumi.baseUrl, accessToken: pulumi.accessToken, timeoutMs: 1500, retry: { maxAttempts: 1 } });

  const mounts: Mount[] = [
    { path: '/metrics', router: metricsRouter() },
    {
      path: '/scim/v2',
      router: createScimRouter({
        db,
        logger,
        config,
        rateLimit: scimRateLimit(config),
        sharedLimits: { redis: limitsRedis, keyPrefix: RATE_LIMIT_KEY_PREFIX },
      }),
    },
    ...(emulated?.demo ? [emulated.demo.mount] : []),
    ...(signals ? [{ path: '/ssf', router: signals.pushRouter }] : []),
    ...(devSignIn ? [devSignIn.mount] : []),
    // Console, SAML sign-in and /api/v1. Parts not built in this process (policy, reconciler,
    // queues, tokens: pass them here) make their pages and API routes say so.
    {
      path: '/',
      router: createWebRouter({
        config: devSignIn?.config ?? emulated?.demo?.config ?? config,
        db,
        redis,
        limitsRedis,
        logger,
        policy: sync.policy,
        reconciler: sync.reconciler,
        queues: sync.queues,
        tokens: sync.tokens,
        signals,
      }),
    },
  ];
  // Ready means SCIM can be served: SCIM writes need Postgres only (Redis and Pulumi are reached
  // later, from the outbox), so those two are reported and never take SCIM offline.
  const probe = new DependencyProbe({
    required: { postgres: async () => void (await db.raw('select 1')) },
    reported: { redis: async () => void (await redis.ping()), pulumi: () => pulumiProbe.ping(pulumi.org) },
  });
  const unregisterDependencies = registerDependencyCollector(() => dependencyStates(probe));
  shutdown.push({ name: 'dependency gauge', run: async () => unregisterDependencies() });

  const listen = async (name: string, port: number, scope: ListenerScope | undefined): Promise<string> => {
    const server = createHttpServer(createApp({ logger, readiness: probe, mounts, scope }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.HOST, () => resolve());
    });
    shutdown.push({ name, run: () => drain(server) });
    const bound = (server.address() as AddressInfo).port;
    logger.info('listening', { listener: name, port: bound });
    return `http://127.0.0.1:${bound}`;
  };
  const split = config.INTERNAL_PORT !== undefined;
  let internalUrl: string | undefined;
  let url: string;
  try {
    internalUrl = split ? await listen('internal http server', config.INTERNAL_PORT ?? 0, INTERNAL_SCOPE) : undefined;
    url = await listen('http server', config.PORT, split ? PUBLIC_SCOPE : undefined);
  } catch (err) {
    // A port taken: stop what started, as a refused start-up does.
    await runSteps(shutdown, logger);
    throw err;
  }
  emulated?.started({
    url,
    queues: sync.queues,
    policy: sync.policy.current,
    ...(devSignIn ? { seed: (scimToken: string | undefined) => devSignIn.seed({ url, scimToken }) } : {}),
  });

  return {
    url,
    internalUrl,
    db,
    logger,
    pulumi,
    reload() {
      sync.reload();
    },
    stop: () => runSteps(shutdown, logger),
  };
}

/**
 * What each listener answers when INTERNAL_PORT is set (docs/operations.md, "What to expose"):
 * the IdPs and people reach the public one; probes, scrapes and operators the internal one.
 */
const PUBLIC_SCOPE: ListenerScope = { serves: ['/scim/v2', '/auth', '/console', '/healthz', DEV_IDP_PATH], except: [QUEUE_DASHBOARD_PATH] };
const INTERNAL_SCOPE: ListenerScope = { serves: ['/metrics', '/readyz', '/healthz', '/api/v1', QUEUE_DASHBOARD_PATH, '/_emulator'] };

/**
 * Stops accepting, lets requests in flight finish (idle keep-alive sockets close now), and cuts
 * whatever is still open after HTTP_DRAIN_MS.
 */
function drain(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Runs shutdown steps in reverse order of start-up, each bounded, a failure logged and passed. */
async function runSteps(steps: Step[], logger: Logger): Promise<void> {
  for (const step of [...steps].reverse()) {
    try {
      const deadlineMs = step.deadlineMs ?? 10_000;
      await withTimeout(step.run(), deadlineMs, `timed out after ${deadlineMs} ms`);
    } catch (err) {
      logger.warn('shutdown step failed', { step: step.name, err: (err as Error).message });
    }
  }
}
