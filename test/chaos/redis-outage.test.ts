import { membershipPlan, pushDirectory, seedFor, teamName } from '../helpers/stack/directory';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { loginOf, oktaUser } from '../helpers/stack/scim-client';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { createHandTokens, desiredWithout, expectConverged, expectRevokedOnce, SMALL } from './harness';

/**
 * Redis stopped while SCIM writes arrive (a private redis-server, never the machine's shared
 * one): SCIM keeps answering 2xx because every write and its outbox event commit in Postgres;
 * once Redis is back the relay publishes the outbox and the emulator converges, with the
 * deactivated user's token revoked once.
 */

let redis: PrivateRedis;
let stack: Stack;
const NEW_USERS = [1000, 1001, 1002, 1003];

beforeAll(async () => {
  redis = await startPrivateRedis();
  const seed = seedFor(SMALL);
  seed.members.push(...NEW_USERS.map(loginOf));
  stack = await startStack({ label: 'chaosredis', seed, policy: benchPolicy(), pulumiLatencyMs: 5, redis, mode: 'source' });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

it('acknowledges SCIM writes while Redis is down and loses none of them', async () => {
  const push = await pushDirectory(stack.scim, SMALL, 4);
  await expectConverged(stack, desiredWithout(SMALL, new Set()), 120_000);
  const due = await createHandTokens(stack, SMALL, [0]);
  const notDue = await createHandTokens(stack, SMALL, [1]);

  await redis.stop();
  const newIds: string[] = [];
  for (const u of NEW_USERS) {
    const created = await stack.scim.request<{ id: string }>('POST', '/Users', oktaUser(u));
    expect(created.status).toBe(201);
    newIds.push(created.body.id);
  }
  const joined = await stack.scim.request('PATCH', `/Groups/${push.groupIds[0]}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: newIds.map((value) => ({ value })) }],
  });
  expect([200, 204]).toContain(joined.status);
  const deactivated = await stack.scim.request('PATCH', `/Users/${push.userIds[0]}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });
  expect([200, 204]).toContain(deactivated.status);
  await new Promise((r) => setTimeout(r, 3000));
  await redis.start();

  const desired = desiredWithout(SMALL, new Set([0]));
  expect(membershipPlan(SMALL)[0].length).toBeGreaterThan(0);
  for (const u of NEW_USERS) desired.get(teamName(0))!.add(loginOf(u));
  await expectConverged(stack, desired, 180_000);
  await expectRevokedOnce(stack, due, notDue, 60_000);
  // The test's own bound sits above the sum of its waits: each wait names what did not happen.
}, 420_000);
