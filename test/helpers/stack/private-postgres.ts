import { startEmbeddedPostgres } from '../../../src/directory/embedded-postgres';

/**
 * A private Postgres cluster (the project's embedded-postgres helper) in its own process, so a
 * test can stop and restart it mid-run without touching the machine's shared server. Run with
 * env PRIVATE_PG_DIR and PRIVATE_PG_PORT; prints `{url}` once accepting connections and stops
 * the cluster cleanly on SIGTERM. Started again on the same directory, it keeps its data.
 */
async function main(): Promise<void> {
  const dir = process.env.PRIVATE_PG_DIR;
  const port = Number(process.env.PRIVATE_PG_PORT);
  if (!dir || !Number.isInteger(port)) throw new Error('PRIVATE_PG_DIR and PRIVATE_PG_PORT are required');
  const pg = await startEmbeddedPostgres(dir, port, { sameProcessGroup: true });
  process.stdout.write(`${JSON.stringify({ url: pg.connectionString })}\n`);
  process.on('SIGTERM', () => {
    void pg.stop().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`private postgres failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
