import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { createLogger } from '../../src/log';
import { createQueueFactory, type QueueFactory } from '../../src/queue';
import { createAdminApiRouter } from '../../src/web/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Approving a hold while Redis is unreachable: the answer is 503, and the decision stays
 * recorded and audited, so the drift schedule applies it once the queue is back.
 */

const TOKEN = 'admin-token-for-tests-0123456789';
let t: TestDatabase;
let queues: QueueFactory;
let server: http.Server;
let base: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const logger = createLogger({ silent: true });
  queues = createQueueFactory({ redisUrl: 'redis://127.0.0.1:1', prefix: 'unreached', logger });
  const router = createAdminApiRouter({ adminToken: TOKEN, db: t.db, logger, queues });
  server = createHttpServer(createApp({ logger, readiness: {}, mounts: [{ path: '/api/v1', router }] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queues.close(500);
  await t.drop();
});

it('approving answers 503 queue_unavailable and keeps the decision and its audit entry', async () => {
  const ops = [{ kind: 'removeMember', team: 'platform', login: 'bob' }];
  const [{ id }] = await t
    .db('holds')
    .insert({ team: 'platform', reason: 'test', removals: 1, ops: JSON.stringify(ops) })
    .returning('id');
  const res = await fetch(`${base}/api/v1/holds/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({
    error: 'queue_unavailable',
    message: expect.stringContaining('the hold is approved, but the reconcile that acts on it could not be enqueued'),
  });
  expect(await t.db('holds').where({ id }).first('status', 'decided_by', 'decided_channel')).toEqual({
    status: 'approved',
    decided_by: 'admin-api-token',
    decided_channel: 'api',
  });
  expect(await t.db('audit_log').where({ category: 'admin', subject: id }).select('op', 'actor', 'channel')).toEqual([
    { op: 'hold.approve', actor: 'admin-api-token', channel: 'api' },
  ]);
});
