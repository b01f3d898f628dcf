import { ADMIN_TOKEN, startAdminApiWithRedisUnreached, type UnreachedAdminApi } from '../helpers/unreached-admin-api';

/**
 * Approving a hold while Redis is unreachable: the answer is 503, and the decision stays
 * recorded and audited, so the drift schedule applies it once the queue is back.
 */

const TOKEN = ADMIN_TOKEN;
let api: UnreachedAdminApi;
let t: UnreachedAdminApi['t'];
let base: string;

beforeAll(async () => {
  api = await startAdminApiWithRedisUnreached();
  ({ t, base } = api);
});

afterAll(() => api.close());

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
