import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { createLogger } from '../../src/log';
import { createQueueFactory, type QueueFactory } from '../../src/queue';
import { createAdminApiRouter } from '../../src/web/api';
import { createTestDatabase, type TestDatabase } from './db';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

export interface UnreachedAdminApi {
  t: TestDatabase;
  queues: QueueFactory;
  base: string;
  close(): Promise<void>;
}

/** The admin API on its own database, with a queue factory pointed at a Redis that never answers. */
export async function startAdminApiWithRedisUnreached(): Promise<UnreachedAdminApi> {
  const t = await createTestDatabase();
  const logger = createLogger({ silent: true });
  const queues = createQueueFactory({ redisUrl: 'redis://127.0.0.1:1', prefix: 'unreached', logger });
  const router = createAdminApiRouter({ adminToken: ADMIN_TOKEN, db: t.db, logger, queues });
  const server: http.Server = createHttpServer(createApp({ logger, readiness: {}, mounts: [{ path: '/api/v1', router }] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    t,
    queues,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queues.close(500);
      await t.drop();
    },
  };
}
