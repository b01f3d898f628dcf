import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import { createScimClient } from '../../src/directory';
import { createLogger } from '../../src/log';
import { createScimRouter } from '../../src/scim';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * Two daemon replicas (two app instances, each with its own Redis connection, on one database and
 * one Redis) share one SCIM client's rate limit: the client gets its allowance once in all, not
 * once per replica (docs/robustness.md, "Abuse limits").
 */

const BURST = 3;

let tdb: TestDatabase;
/** One connection per replica, as two processes would have. */
const connections: Redis[] = [];
let keyPrefix: string;
const servers: http.Server[] = [];
const replicas: string[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  keyPrefix = `${uniquePrefix()}:rl:`;
  const logger = createLogger({ silent: true });
  for (let i = 0; i < 2; i++) {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    const router = createScimRouter({
      db: tdb.db,
      logger,
      config: { SCIM_BEARER_TOKEN: undefined, SCIM_MAX_BODY: '64kb', PUBLIC_URL: undefined },
      // BURST requests per ~an hour: no refill during the test.
      rateLimit: { perSecond: BURST / 3600, burst: BURST },
      tokenCacheMs: 0,
      sharedLimits: { redis, keyPrefix },
    });
    const server = http.createServer(createApp({ logger, readiness: {}, mounts: [{ path: '/scim/v2', router }] }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    replicas.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`);
  }
}, 60_000);

afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  const [redis] = connections;
  const keys = (await redis?.keys(`${keyPrefix}*`)) ?? [];
  if (keys.length > 0) await redis!.del(...keys);
  for (const connection of connections) connection.disconnect();
  await tdb?.drop();
});

const get = (base: string, token: string) => fetch(`${base}/Users?count=0`, { headers: { authorization: `Bearer ${token}` } });

it('counts one client across both replicas, and answers 429 with Retry-After and a SCIM error past it', async () => {
  const okta = await createScimClient(tdb.db, 'okta');
  const statuses: number[] = [];
  for (let i = 0; i < BURST; i++) statuses.push((await get(replicas[i % 2]!, okta.token)).status);
  expect(statuses).toEqual(Array(BURST).fill(200));
  for (const base of replicas) {
    const refused = await get(base, okta.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
  }
  // Another client has an allowance of its own.
  const entra = await createScimClient(tdb.db, 'entra');
  expect((await get(replicas[1]!, entra.token)).status).toBe(200);
}, 60_000);

it('accepts at most the allowance in all when both replicas are asked at once', async () => {
  const client = await createScimClient(tdb.db, 'concurrent');
  const statuses = await Promise.all(Array.from({ length: 4 * BURST }, (_, i) => get(replicas[i % 2]!, client.token).then((res) => res.status)));
  expect(statuses.filter((s) => s === 200)).toHaveLength(BURST);
  expect(statuses.filter((s) => s !== 200)).toEqual(Array(3 * BURST).fill(429));
}, 60_000);
