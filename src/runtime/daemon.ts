import type { AddressInfo } from 'node:net';
import { type Config, describeConfig, scimRateLimit } from '../config';
import { createLogger, type Logger, warnAtMostEvery } from '../log';
import { createDb, type Db, migrateLatest } from '../directory/db';
import { startEmbeddedPostgres } from '../directory';
import { createRedis, resolveRedis } from '../queue';
import { createApp, createHttpServer, type Mount } from '../app';
import { createScimRouter } from '../scim';
import { metricsRouter } from '../metrics';
import { createPulumiClient } from '../pulumi';
import { startAuditAnchoring } from '../reconcile';
import { demoSeed, startEmulator } from '../emulator';
import { createWebRouter } from '../web';
import { startSyncEngine } from './engine';
import { withTimeout } from '../util';

/**
 * Start-up and ordered shutdown of the daemon: Postgres (embedded when DATABASE_URL is
 * unset) and its migrations, the audit anchoring timer, Redis, then the HTTP server. Shutdown runs in reverse, each
 * step bounded by a deadline so a stuck dependency cannot hold the process.
 */

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
  db: Db;
  logger: Logger;
  pulumi: PulumiEndpoint;
  /** SIGHUP: re-reads SYNC_CONFIG; a bad file is logged and the running policy kept. */
  reload(): void;
  stop(): Promise<void>;
}

type Step = { name: string; run: () => Promise<void> };

/** How long SIGTERM lets HTTP requests in flight finish before their sockets are cut. */
const HTTP_DRAIN_MS = 5_000;

export async function startDaemon(config: Config, logger = createLogger({ level: config.LOG_LEVEL })): Promise<Daemon> {
  const shutdown: Step[] = [];
  logger.info('starting pulumi-idp-sync', { config: describeConfig(config) });

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
    logger.warn('DATABASE_URL is unset: using the embedded Postgres', { dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT });
    shutdown.push({ name: 'embedded postgres', run: embedded.stop });
    databaseUrl = embedded.connectionString;
  }
  const db = createDb({ connectionString: databaseUrl });
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

  let pulumi: PulumiEndpoint;
  if (config.PULUMI_ACCESS_TOKEN) {
    pulumi = { baseUrl: config.PULUMI_BACKEND_URL, accessToken: config.PULUMI_ACCESS_TOKEN, org: config.PULUMI_ORG, emulated: false };
  } else {
    const emulator = await startEmulator({ seed: demoSeed, org: config.PULUMI_ORG });
    shutdown.push({ name: 'pulumi emulator', run: emulator.stop });
    pulumi = { baseUrl: emulator.url, accessToken: emulator.accessToken, org: emulator.state.org, emulated: true };
    logger.warn(
      '!!! PULUMI_ACCESS_TOKEN is unset or empty: talking to the BUILT-IN PULUMI EMULATOR with a demo org, NOT the Pulumi Service. Nothing done here reaches a real org. !!!',
      { emulatorUrl: emulator.url, org: pulumi.org },
    );
  }
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

  const pulumiProbe = createPulumiClient({ baseUrl: pulumi.baseUrl, accessToken: pulumi.accessToken, timeoutMs: 1500, retry: { maxAttempts: 1 } });

  const mounts: Mount[] = [
    { path: '/metrics', router: metricsRouter() },
    { path: '/scim/v2', router: createScimRouter({ db, logger, config, rateLimit: scimRateLimit(config) }) },
    // Console, SAML sign-in and /api/v1. Parts not built in this process (policy, reconciler,
    // queues, tokens: pass them here) make their pages and API routes say so.
    {
      path: '/',
      router: createWebRouter({ config, db, redis, logger, policy: sync.policy, reconciler: sync.reconciler, queues: sync.queues, tokens: sync.tokens }),
    },
  ];
  const app = createApp({
    logger,
    readiness: {
      postgres: async () => void (await db.raw('select 1')),
      redis: async () => void (await redis.ping()),
      pulumi: () => pulumiProbe.ping(pulumi.org),
    },
    mounts,
  });

  const server = createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  shutdown.push({
    name: 'http server',
    // Stop accepting, let requests in flight finish (idle keep-alive sockets close now), and
    // cut whatever is still open after HTTP_DRAIN_MS.
    run: () =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS).unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
  });
  logger.info('listening', { port });

  return {
    url,
    db,
    logger,
    pulumi,
    reload() {
      sync.reload();
    },
    stop: () => runSteps(shutdown, logger),
  };
}

/** Runs shutdown steps in reverse order of start-up, each bounded, a failure logged and passed. */
async function runSteps(steps: Step[], logger: Logger): Promise<void> {
  for (const step of [...steps].reverse()) {
    try {
      await withTimeout(step.run(), 10_000, 'timed out after 10000 ms');
    } catch (err) {
      logger.warn('shutdown step failed', { step: step.name, err: (err as Error).message });
    }
  }
}
