import { ADMIN_TOKEN, startAdminApiWithRedisUnreached, type UnreachedAdminApi } from '../helpers/unreached-admin-api';
import { metricsCollectorErrors, registry } from '../../src/metrics';

/**
 * HTTP paths that touch the queue while Redis has been unreachable since start-up (the daemon
 * serves SCIM in that state, docs/robustness.md, "Redis down at boot"). BullMQ holds every command until its
 * connection has been ready once — `enableOfflineQueue: false` only fails fast after that — so
 * each such path needs its own bound (docs/robustness.md, "Producers fail fast in HTTP paths").
 * Without one, POST /api/v1/reconcile never answered and a Prometheus scrape never finished,
 * losing the outbox-age alert exactly while the outbox fills up.
 */

const TOKEN = ADMIN_TOKEN;
let api: UnreachedAdminApi;
let base: string;

beforeAll(async () => {
  api = await startAdminApiWithRedisUnreached();
  ({ base } = api);
});

afterAll(() => api.close());

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

it.each([[{ team: 'platform' }], [{}]])('POST /api/v1/reconcile %p answers 503 queue_unavailable', async (body) => {
  const res = await post('/api/v1/reconcile', body);
  expect(res).toEqual({ status: 503, body: { error: 'queue_unavailable', message: expect.stringMatching(/^cannot enqueue: /) } });
});

it('GET /api/v1/status answers, saying the queues cannot be read', async () => {
  const res = await fetch(`${base}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { queues: unknown }).queues).toEqual({ error: 'queue unavailable: Redis did not answer within 2000 ms' });
});

it('a metrics scrape completes without queue gauges and counts the failed collector', async () => {
  const failures = async () => (await metricsCollectorErrors.get()).values.find((v) => v.labels.collector === 'queue')?.value ?? 0;
  const before = await failures();
  const text = await registry.metrics();
  expect(text.split('\n').filter((line) => line.startsWith('idp_sync_queue_jobs{'))).toEqual([]);
  expect(await failures()).toBe(before + 1);
});
