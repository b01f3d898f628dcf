import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createApp, createHttpServer } from '../../src/app';
import { createDb } from '../../src/directory';
import { createLogger } from '../../src/log';
import { createScimRouter } from '../../src/scim';

/**
 * The SCIM server of the SCIM micro-benchmarks (scim-bulk, scim-group-patch): the real router,
 * auth by a client token looked up by hash, rate limiting off, in a worker thread of its own so
 * that its event loop is not the measuring client's.
 */

interface ServerData {
  scimServerThread: true;
  databaseUrl: string;
}

export interface ScimServerThread {
  /** e.g. http://127.0.0.1:8080/scim/v2 */
  base: string;
  stop(): Promise<void>;
}

/** Starts the SCIM server on the migrated database at `databaseUrl`; resolves once it listens. */
export async function startScimServerThread(databaseUrl: string): Promise<ScimServerThread> {
  const worker = new Worker(__filename, { workerData: { scimServerThread: true, databaseUrl } satisfies ServerData });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
  });
  return {
    base: `http://127.0.0.1:${port}/scim/v2`,
    stop: async () => {
      await worker.terminate();
    },
  };
}

async function serve({ databaseUrl }: ServerData): Promise<void> {
  const db = createDb({ connectionString: databaseUrl, poolMax: 10 });
  const logger = createLogger({ level: 'warn' });
  const router = createScimRouter({ db, logger, config: { SCIM_BEARER_TOKEN: undefined, SCIM_MAX_BODY: '1mb', PUBLIC_URL: undefined }, rateLimit: false });
  const app = createApp({ logger, readiness: {}, mounts: [{ path: '/scim/v2', router }] });
  const server = createHttpServer(app);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  parentPort!.postMessage({ port: (server.address() as AddressInfo).port });
}

// This file is also the worker's entry: the thread startScimServerThread starts serves.
if (!isMainThread && (workerData as Partial<ServerData> | null)?.scimServerThread) {
  serve(workerData as ServerData).catch((err) => {
    process.stderr.write(`scim server thread failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
