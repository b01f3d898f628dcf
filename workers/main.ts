// First: tracing starts before anything it instruments loads.
import '../src/tracing/register';
import { embeddedDatabaseUrl, loadConfigOrExit } from '../src/config';
import { createDb, migrateLatest } from '../src/directory/db';
import { createLogger } from '../src/log';
import { PolicyError } from '../src/policy';
import { DEFAULT_REDIS_URL, EvictionPolicyError } from '../src/queue';
import { type SyncEngine, startSyncEngine } from '../src/runtime';
import { stopTracing } from '../src/tracing';

/**
 * `npm run worker`: a worker process for scale-out. It runs the reconcile workers, the fast
 * revoke lane and an outbox relay against the same Postgres and Redis as the daemon; start
 * any number of them. SIGHUP reloads the policy, SIGTERM/SIGINT stop it gracefully (active
 * jobs get a deadline, then are left to BullMQ's stall recovery).
 *
 * It needs the Pulumi Service (PULUMI_ACCESS_TOKEN): the zero-config emulator lives inside
 * the daemon process and cannot be shared. For local scale-out tests run `npm run emulator`
 * and point PULUMI_BACKEND_URL / PULUMI_ACCESS_TOKEN at it.
 */
async function main(): Promise<number> {
  const config = loadConfigOrExit();
  if (!config.PULUMI_ACCESS_TOKEN) {
    process.stderr.write(
      'npm run worker needs PULUMI_ACCESS_TOKEN: the built-in emulator exists only inside the daemon process (RUN_WORKERS=true there runs the workers in-process)\n',
    );
    return 2;
  }
  const logger = createLogger({ level: config.LOG_LEVEL }).child({ process: 'worker' });
  // Without DATABASE_URL: the embedded Postgres a running daemon started (same as the CLI).
  const databaseUrl = config.DATABASE_URL ?? embeddedDatabaseUrl(config);
  const db = createDb({ connectionString: databaseUrl, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
  await migrateLatest(db);
  let engine: SyncEngine;
  try {
    engine = await startSyncEngine({
      config,
      db,
      databaseUrl,
      redisUrl: config.REDIS_URL ?? DEFAULT_REDIS_URL,
      pulumi: { baseUrl: config.PULUMI_BACKEND_URL, accessToken: config.PULUMI_ACCESS_TOKEN, org: config.PULUMI_ORG },
      logger,
      runWorkers: true,
      metricsListener: { port: config.METRICS_PORT, host: config.HOST },
    });
  } catch (err) {
    await db.destroy();
    if (err instanceof PolicyError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof EvictionPolicyError) {
      process.stderr.write(`worker refuses to start: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const running = engine;
  logger.info('worker started');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('worker shutting down', { signal });
      running
        .stop(10_000)
        .then(() => db.destroy())
        .then(stopTracing)
        .then(
          () => resolve(0),
          (err: Error) => {
            logger.error('worker shutdown failed', { err: err.message });
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the policy');
      running.reload();
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`worker failed: ${err.message}\n`);
    process.exit(1);
  },
);
