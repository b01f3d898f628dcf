#!/usr/bin/env node
import { embeddedDatabaseUrl, loadConfigOrExit } from '../config';
import { createDb, migrateLatest, type Db } from '../directory';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../directory';
import { createLogger } from '../log';
import { createQueueFactory, DEFAULT_REDIS_URL, type QueueFactory } from '../queue';
import { auditCommand } from './audit';
import { holdsCommand } from './holds';
import { runCli, type CliCommand } from './index';
import { planCommand } from './plan';
import { scimTokenCommand } from './scim-token';
import { ssfCommand } from './ssf';

/**
 * `npm run cli -- <command>`, or the `pulumi-idp-sync` bin (package.json) that runs this
 * compiled file. Parts register their commands by adding them to this list.
 */
const commands: CliCommand[] = [scimTokenCommand, planCommand, holdsCommand, ssfCommand, auditCommand];

async function main(): Promise<number> {
  const config = loadConfigOrExit();
  let db: Db | undefined;
  let embedded: EmbeddedPostgresHandle | undefined;
  let queues: QueueFactory | undefined;
  try {
    return await runCli(commands, process.argv.slice(2), {
      config,
      stdout: process.stdout,
      stderr: process.stderr,
      async db() {
        if (db) return db;
        let url = config.DATABASE_URL;
        if (!url) {
          // A running daemon already owns the embedded Postgres: use it rather than start a second.
          const running = embeddedDatabaseUrl(config);
          if (await reachable(running)) {
            url = running;
          } else {
            embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT);
            url = embedded.connectionString;
          }
        }
        db = createDb({ connectionString: url, poolMax: 2, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
        await migrateLatest(db);
        return db;
      },
      async queues() {
        queues ??= createQueueFactory({ redisUrl: config.REDIS_URL ?? DEFAULT_REDIS_URL, prefix: config.QUEUE_PREFIX, logger: createLogger({ silent: true }) });
        return queues;
      },
    });
  } finally {
    await queues?.close(0);
    await db?.destroy();
    await embedded?.stop();
  }
}

async function reachable(url: string): Promise<boolean> {
  const probe = createDb({ connectionString: url, poolMax: 1 });
  try {
    await probe.raw('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await probe.destroy();
  }
}

// An embedded Postgres this process started runs in its own process group: exiting through
// process.exit (rather than a signal's default action) runs the exit hook that stops it.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`cli failed: ${err.message}\n`);
    process.exit(1);
  },
);
